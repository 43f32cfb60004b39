#!/usr/bin/env python3
"""PokerKit's side of `showdown bench simulate`: the same workload in PokerKit 0.7.7.

  python3 benches/pokerkit_simulate.py [HANDS] [SEED]

Six-max no-limit hold'em, blinds 1/2, stacks of 200, a fresh shuffled deck per hand, and
the same bot policy as src/sim.rs, which is the random player of PokerKit's oracle:
35 % raise when allowed (to the minimum 40 % of those, all in 20 %, else uniform), else
20 % fold when facing a bet, else check or call. Prints hands/s. Needs
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
            if state.can_complete_bet_or_raise_to() and roll < 35:
                lo = state.min_completion_betting_or_raising_to_amount
                hi = state.max_completion_betting_or_raising_to_amount
                pick = rng.randrange(100)
                state.complete_bet_or_raise_to(lo if pick < 40 else hi if pick < 60 else rng.randint(lo, hi))
            elif roll < 55 and state.checking_or_calling_amount:
                state.fold()
            else:
                state.check_or_call()
            operations += 1
    elapsed = time.perf_counter() - start
    print(f'pokerkit: {hands} hands, {operations} actions in {elapsed:.3f} s: {hands / elapsed:.0f} hands/s')


if __name__ == '__main__':
    main()
