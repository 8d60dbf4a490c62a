"""What a backfill books: the fiscal years it loaded, from which files (a digest of their checksums),
for which branches (its scope). The log itself is in the warehouse (warehouse.batches)."""

from __future__ import annotations

import hashlib

from branchkpi.domain.regions import NATIONAL_CODE, resolve_region


def files_digest(sha256s: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(sha256s)).encode()).hexdigest()


def regions_of(branches: list[str] | None) -> list[str] | None:
    """JIS codes of the branches, plus the national total (the gate compares branches with it)."""
    if not branches:
        return None
    codes = []
    for b in branches:
        code = resolve_region(b)
        if code is None:
            raise ValueError(f"unknown branch {b!r}: use a JIS code, 山口 or yamaguchi")
        codes.append(code)
    return sorted({*codes, NATIONAL_CODE})


def scope_of(branches: list[str] | None) -> str:
    codes = regions_of(branches)
    return ",".join(codes) if codes else "all"
