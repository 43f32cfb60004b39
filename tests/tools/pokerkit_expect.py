#!/usr/bin/env python3
"""PokerKit's outcome of PHH files (pip install pokerkit==0.7.7), for tests/export.rs.

  pokerkit_expect.py FILE.phhs...
      One JSON line per hand: {"file", "index", "finishing_stacks"}.

The `expect` mode of the shared rules oracle (../shared/tools/pokerkit_oracle.py), kept in
the repository so that the test runs on a clone that has no ../shared beside it.
"""
import json
import sys

from pokerkit import HandHistory


def expect(paths):
    for path in paths:
        with open(path, 'rb') as f:
            hands = list(HandHistory.load_all(f)) if path.endswith('.phhs') else [HandHistory.load(f)]
        for i, hh in enumerate(hands):
            state = None
            for state in hh:
                pass
            stacks = [str(s) if not isinstance(s, int) else s for s in state.stacks]
            print(json.dumps({'file': path, 'index': i, 'finishing_stacks': stacks}))


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    expect(sys.argv[1:])
