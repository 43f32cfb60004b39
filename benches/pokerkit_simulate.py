#!/usr/bin/env python3
"""PokerKit's side of `showdown bench simulate`: the same workload in PokerKit 0.7.7.

  python3 benches/pokerkit_simulate.py [HANDS] [SEED]

Six-max no-limit hold'em, blinds 1/2, stacks of 200, a fresh shuffled deck per hand, and
the same bot policy as src/sim.rs: 25 % raise (15 % to the minimum, else uniform in the
legal range), 30 % fold when facing a bet, else check or call. Prints hands/s. Needs
`pip install pokerkit==0.7.7`.
"""
import random
import sys
import time

from pokerkit import Automation, Mode, NoLimitTexasHoldem

AUTO = (Automation.ANTE_POSTING, Automation.BET_COLLECTION, Automation.BLIND_OR_STRADDLE_POSTING,
        Automation.CARD_BURNING, Automation.HOLE_DEALING, Automation.BOARD_DEALING,
        Automation.RUNOUT_COUNT_SELECTION, Automation.HOLE_CARDS_SHOWING_OR_MUCKING,
        Automation.HAND_KILLING, Automation.CHIPS_PUSHING, Automation.CHIPS_PULLING)


def main():
    hands = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    random.seed(seed)  # PokerKit shuffles with the global generator
    game = NoLimitTexasHoldem(AUTO, True, 0, (1, 2), 2, mode=Mode.CASH_GAME)
    operations = 0
    start = time.perf_counter()
    for _ in range(hands):
        state = game((200,) * 6, 6)
        while state.status:
            roll = rng.randrange(100)
            if state.can_complete_bet_or_raise_to() and roll < 25:
                lo = state.min_completion_betting_or_raising_to_amount
                hi = state.max_completion_betting_or_raising_to_amount
                state.complete_bet_or_raise_to(lo if roll < 15 or lo == hi else rng.randint(lo, hi))
            elif roll < 55 and state.checking_or_calling_amount:
                state.fold()
            else:
                state.check_or_call()
            operations += 1
    elapsed = time.perf_counter() - start
    print(f'pokerkit: {hands} hands, {operations} actions in {elapsed:.3f} s: {hands / elapsed:.0f} hands/s')


if __name__ == '__main__':
    main()
