"""Mutation testing of the statistics quality gate (issue 26): a seeded generator takes the real series
(data/sample/seed) and every loadable fixture and makes the mistakes offices make (figures ×1,000 or
÷1,000, a unit in a title line, two digits swapped, an unquoted thousands separator, a column shifted
by one, two metrics' labels swapped, a fiscal year off by one in one of two places, a row repeated with
another value, a month label changed, a figure ×10 or ×100 against history); the runner sends every
mutant through the real parse and gate, in-process and batched (one GX validation for all of them), and
reports what was caught. `make mutants` runs them all; tests/unit/test_mutants.py a fixed sample.

    .venv/bin/python -m tests.mutants [--sample N] [--seed S] [--verbose]
"""
