#!/usr/bin/env python3
"""Random hands on the tables PokerKit is least often asked about, for the replay corpus.

  tools/edge_hands.py SEED COUNT OUT.phhs [--variant NT|PO|FT|MIX] [--burns] [--players N]

Like `pokerkit_oracle.py gen` (same players, same PokerKit 0.7.7, finishing stacks from
replaying the written history), but the tables have: ante_trimming_status true or false,
antes on every seat, on the big blind only or on random seats, straddles and double
straddles, live posts (negative blind entries), many heads-up tables, stacks that cannot
cover the ante or the blind, and players who sometimes fold when checking is free.
With `--players N` every table seats N players (2 to 10; the engine's limit is 10),
otherwise 2 to 9.

PokerKit burns a pot whose every contender folded; the engine returns it (a documented
difference), so a hand whose PokerKit outcome loses chips is left out and counted; with
`--burns`, only those hands are kept (`tests/burns/`). So is a
hand PokerKit cannot replay from the history it wrote itself (live play and replay
disagree in some spots; the replay is the reference, and it fails there).
"""
import random
import sys
import warnings

from pokerkit import (Automation, FixedLimitTexasHoldem, HandHistory, Mode,
                      NoLimitTexasHoldem, PotLimitOmahaHoldem)

AUTO = (Automation.ANTE_POSTING, Automation.BET_COLLECTION,
        Automation.BLIND_OR_STRADDLE_POSTING, Automation.CARD_BURNING,
        Automation.HOLE_CARDS_SHOWING_OR_MUCKING, Automation.HAND_KILLING,
        Automation.CHIPS_PUSHING, Automation.CHIPS_PULLING)


def table_shape(rng, players=None):
    n = 2 if rng.random() < 0.3 else rng.randint(3, 9)
    # Drawn even when `players` fixes it, so that a seed without --players gives the same hands.
    n = players or n
    bb = rng.choice([2, 4, 10, 100])
    sb = rng.choice([bb // 2, bb // 2, bb // 4 or 1, bb])
    blinds = [sb, bb] + [0] * (n - 2)
    if n >= 4 and rng.random() < 0.3:
        blinds[2] = bb * 2
        if n >= 5 and rng.random() < 0.3:
            blinds[3] = bb * 4
    if n >= 5 and rng.random() < 0.3:
        seat = rng.randrange(4, n)
        if blinds[seat] == 0:
            blinds[seat] = -rng.choice([bb, bb, sb or bb, 2 * bb])
    kind = rng.random()
    ante = rng.choice([1, bb // 4 or 1, bb // 2 or 1, bb])
    if kind < 0.3:
        antes = [0] * n
    elif kind < 0.6:
        antes = [ante] * n
    elif kind < 0.85:
        antes = [0] * n
        antes[1] = ante if n > 2 else ante
        if n == 2 and rng.random() < 0.5:
            antes = [ante, 0]
    else:
        antes = [rng.choice([0, ante]) for _ in range(n)]
    trimming = rng.random() < 0.5
    stacks = [rng.choice([rng.randint(1, max(2, ante + bb)), rng.randint(1, 3 * bb),
                          rng.randint(5 * bb, 40 * bb), rng.randint(50 * bb, 300 * bb)])
              for _ in range(n)]
    return n, trimming, antes, blinds, bb, stacks


def new_state(variant, rng, players=None):
    n, trimming, antes, blinds, bb, stacks = table_shape(rng, players)
    if variant == 'NT':
        game = NoLimitTexasHoldem(AUTO, trimming, tuple(antes), tuple(blinds), bb, mode=Mode.CASH_GAME)
    elif variant == 'PO':
        game = PotLimitOmahaHoldem(AUTO, trimming, tuple(antes), tuple(blinds), bb, mode=Mode.CASH_GAME)
    elif variant == 'FT':
        game = FixedLimitTexasHoldem(AUTO, trimming, tuple(antes), tuple(blinds), bb, 2 * bb,
                                     mode=Mode.CASH_GAME)
    else:
        raise SystemExit(f'unknown variant {variant}')
    return game, game(tuple(stacks), n)


def play(state, rng, free_fold=0.03):
    while state.status:
        if state.can_deal_hole():
            state.deal_hole()
        elif state.can_deal_board():
            state.deal_board()
        elif state.can_select_runout_count():
            state.select_runout_count(1)
        elif state.actor_index is not None:
            r = rng.random()
            if state.can_complete_bet_or_raise_to() and r < 0.35:
                lo = state.min_completion_betting_or_raising_to_amount
                hi = state.max_completion_betting_or_raising_to_amount
                pick = rng.random()
                amount = lo if pick < 0.4 else hi if pick < 0.6 else rng.randint(lo, hi)
                state.complete_bet_or_raise_to(amount)
            elif state.checking_or_calling_amount and r < 0.55:
                state.fold()
            elif not state.checking_or_calling_amount and r > 1 - free_fold:
                state.fold()  # a free fold: PokerKit warns in cash games
            else:
                state.check_or_call()
        else:
            raise RuntimeError('no operation is possible')


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    seed, count, out = int(argv[0]), int(argv[1]), argv[2]
    variant = argv[argv.index('--variant') + 1] if '--variant' in argv else 'MIX'
    burns = '--burns' in argv
    players = None
    if '--players' in argv:
        given = (argv[argv.index('--players') + 1:] or ['nothing'])[0]
        if not given.isdigit() or not 2 <= int(given) <= 10:
            sys.exit(f'--players takes a number from 2 to 10 (the engine seats at most 10), not {given}')
        players = int(given)
    warnings.simplefilter('ignore')
    rng = random.Random(seed)
    random.seed(seed)  # PokerKit shuffles with the global generator
    hands, burnt, unreplayable, crashed = [], 0, 0, 0
    while len(hands) < count:
        v = rng.choice(['NT', 'PO', 'FT']) if variant == 'MIX' else variant
        game, state = new_state(v, rng, players)
        try:
            # Burned pots need free folds: ask for many more of them then.
            play(state, rng, 0.3 if burns else 0.03)
        except AssertionError:
            # PokerKit's push_chips asserts when a pot's contenders all folded freely
            # while another pot is still contested.
            crashed += 1
            continue
        hh = HandHistory.from_game_state(game, state)
        final = None
        try:
            for final in hh:
                pass
        except (ValueError, AssertionError):
            unreplayable += 1  # PokerKit cannot replay its own history (see the docstring)
            continue
        if (sum(final.stacks) != sum(hh.starting_stacks)) != burns:
            burnt += 1
            continue
        hh.finishing_stacks = list(final.stacks)
        hands.append(hh)
    with open(out, 'wb') as f:
        HandHistory.dump_all(hands, f)
    print(f'{len(hands)} hands written to {out}; left out: {burnt} where PokerKit burnt an'
          f' uncontested pot (or did not, with --burns), {unreplayable} that PokerKit cannot replay from its own history,'
          f' {crashed} where PokerKit failed an assertion while playing')


if __name__ == '__main__':
    main(sys.argv[1:])
