#!/usr/bin/env python3
"""Harsher random hands than the shared oracle makes, with PokerKit's outcome.

  python3 tools/harsh_hands.py SEED COUNT OUT.phhs [--burns]

Like `../shared/tools/pokerkit_oracle.py gen`, but the table shapes reach the rules in
doubt: big-blind antes and antes larger than some stacks, both ante trimming statuses,
live posts (negative blind entries), straddles and double straddles, heads-up with antes,
stacks of one chip, folds when checking is free, and min-raises after short all-ins.
Each hand's `finishing_stacks` is PokerKit's result of replaying the written history.
Hands where PokerKit burns chips (a pot every contender folded, after free folds) are left
out, since the engine returns those chips instead; `--burns` keeps only those hands.
Needs `pip install pokerkit==0.7.7`.
"""
import random
import sys

from pokerkit import (Automation, FixedLimitTexasHoldem, HandHistory, Mode,
                      NoLimitTexasHoldem, PotLimitOmahaHoldem)

AUTO = (Automation.ANTE_POSTING, Automation.BET_COLLECTION,
        Automation.BLIND_OR_STRADDLE_POSTING, Automation.CARD_BURNING,
        Automation.HOLE_CARDS_SHOWING_OR_MUCKING, Automation.HAND_KILLING,
        Automation.CHIPS_PUSHING, Automation.CHIPS_PULLING)


def shape(rng):
    n = rng.choice([2, 2, 3, 4, 6, 9, 10])
    bb = rng.choice([2, 4, 10, 100])
    sb = rng.choice([bb // 2, bb // 2, 1, bb])
    blinds = [sb, bb] + [0] * (n - 2)
    if n >= 4 and rng.random() < 0.3:
        blinds[2] = 2 * bb  # straddle
        if n >= 5 and rng.random() < 0.3:
            blinds[3] = 4 * bb  # double straddle
    if n >= 5 and rng.random() < 0.3:
        blinds[-1] = -bb  # a live post by a newly seated player
    kind = rng.random()
    if kind < 0.3:
        antes = [0] * n
    elif kind < 0.6:
        antes = [rng.choice([1, bb // 2 or 1, bb])] * n
    else:
        antes = [0] * n
        antes[1 if n > 2 else 0] = bb  # big-blind ante
    stacks = [rng.choice([1, 2, rng.randint(1, 2 * bb), rng.randint(3 * bb, 30 * bb),
                          rng.randint(50 * bb, 200 * bb)]) for _ in range(n)]
    return n, antes, blinds, bb, stacks, rng.random() < 0.5


def make(variant, rng):
    n, antes, blinds, bb, stacks, trimming = shape(rng)
    if variant == 'NT':
        game = NoLimitTexasHoldem(AUTO, trimming, antes, blinds, bb, mode=Mode.CASH_GAME)
    elif variant == 'PO':
        game = PotLimitOmahaHoldem(AUTO, trimming, antes, blinds, bb, mode=Mode.CASH_GAME)
    else:
        game = FixedLimitTexasHoldem(AUTO, trimming, antes, blinds[:2] + [0] * (n - 2), bb, 2 * bb,
                                     mode=Mode.CASH_GAME)
    return game, game(tuple(stacks), n)


def play(state, rng):
    while state.status:
        if state.can_deal_hole():
            state.deal_hole()
        elif state.can_deal_board():
            state.deal_board()
        elif state.can_select_runout_count():
            state.select_runout_count(1)
        elif state.actor_index is not None:
            r = rng.random()
            if state.can_complete_bet_or_raise_to() and r < 0.4:
                lo = state.min_completion_betting_or_raising_to_amount
                hi = state.max_completion_betting_or_raising_to_amount
                pick = rng.random()
                state.complete_bet_or_raise_to(lo if pick < 0.5 else hi if pick < 0.7 else rng.randint(lo, hi))
            elif r < 0.5 or (r < 0.53 and not state.checking_or_calling_amount):
                state.fold()  # sometimes when checking is free
            else:
                state.check_or_call()
        else:
            raise RuntimeError('no operation is possible')


def main(argv):
    burns = '--burns' in argv
    argv = [a for a in argv if a != '--burns']
    if len(argv) != 3:
        sys.exit(__doc__)
    seed, count, out = int(argv[0]), int(argv[1]), argv[2]
    rng = random.Random(seed)
    random.seed(seed)
    hands = []
    import warnings
    warnings.simplefilter('ignore')
    while len(hands) < count:
        game, state = make(rng.choice(['NT', 'PO', 'FT']), rng)
        try:
            # PokerKit asserts on a few shapes (a side pot left to nobody after free folds).
            play(state, rng)
            hh = HandHistory.from_game_state(game, state)
            final = None
            for final in hh:
                pass
        except Exception:  # noqa: BLE001 - PokerKit itself cannot replay a few shapes
            continue
        hh.finishing_stacks = list(final.stacks)
        if (sum(final.stacks) != sum(hh.starting_stacks)) == burns:
            hands.append(hh)
    with open(out, 'wb') as f:
        HandHistory.dump_all(hands, f)


if __name__ == '__main__':
    main(sys.argv[1:])
