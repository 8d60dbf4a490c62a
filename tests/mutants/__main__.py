"""`make mutants`: every mutant through the real parse and gate; prints `mutants_caught=N/M
originals_refused=K` and per class what was caught. Exit 1 unless every knowable mutant is caught and no
original refused."""

from __future__ import annotations

import argparse
import sys
import time

from .report import run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutants")
    parser.add_argument("--sample", type=int, default=0, help="this many mutants (stratified by class); 0: all")
    parser.add_argument("--rounds", type=int, default=2, help="passes of every class over every original")
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--verbose", action="store_true", help="list every knowable mutant that was not caught")
    args = parser.parse_args()
    started = time.perf_counter()
    result = run(args.sample, args.rounds, args.seed)
    print(result.text(verbose=args.verbose))
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
