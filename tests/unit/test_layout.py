"""The house as docs/architecture.md draws it, for what import-linter's contracts cannot say: SQL is
built only in the warehouse, no module is over about a few screens, and the top-level folders are
imported only through the one import name."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_FOLDERS = ("branchkpi", "flows", "tasks", "expectations", "warehouse")
MAX_LINES = 400


def _package_modules() -> list[Path]:
    files = []
    for folder in PACKAGE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            if path.is_symlink() or any((ROOT / p).is_symlink() for p in path.relative_to(ROOT).parents):
                continue  # branchkpi/flows -> ../flows: each file once, by its real path
            if "migrations" not in path.parts:
                files.append(path)
    return sorted(files)


SQL = re.compile(r"\b(sa|sqlalchemy)\.(select|insert|update|delete|text)\(|\.exec_driver_sql\(|\bconn\.execute\(")


def test_only_the_warehouse_builds_sql() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _package_modules()
        if path.relative_to(ROOT).parts[0] != "warehouse"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SQL.search(line)
    ]
    assert offenders == []


def test_the_guard_sees_sql() -> None:
    assert SQL.search("    rows = conn.execute(sa.select(t.c.id))")
    assert SQL.search("sqlalchemy.text('SELECT 1')") and not SQL.search("sa.Engine")


def test_no_module_is_over_a_few_screens() -> None:
    long = {
        str(p.relative_to(ROOT)): n for p in _package_modules() if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


BARE = re.compile(r"^\s*(from|import)\s+(flows|tasks|expectations|warehouse)(\.|\s|$)", re.M)


def test_nothing_imports_the_top_level_folders_bare() -> None:
    """One import name: `import tasks` would load a second copy of every module under another name."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in (*PACKAGE_FOLDERS, "tests", "bench", "scripts")
        for path in (ROOT / folder).rglob("*.py")
        if not path.is_symlink() and BARE.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    assert BARE.search("from tasks.parse import x") and BARE.search("import warehouse\n")
    assert not BARE.search("from branchkpi.tasks import steps")


FMT_MARKER = re.compile(r"#\s*fmt:\s*(skip|off)\b(.*)$")
MAX_FMT_MARKERS = 10


def test_the_formatter_owns_the_layout() -> None:
    """`ruff format` owns every line: a marker only around a literal table whose alignment carries
    meaning, at most a handful in the tree, each with its reason on the same line."""
    markers = [
        (f"{path.relative_to(ROOT)}:{number}", match.group(2).strip(" -:()"))
        for folder in (*PACKAGE_FOLDERS, "tests", "bench", "scripts")
        for path in (ROOT / folder).rglob("*.py")
        if not path.is_symlink() and ".venv" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if (match := FMT_MARKER.search(line)) and "FMT_MARKER" not in line
    ]
    assert len(markers) <= MAX_FMT_MARKERS, markers
    assert [place for place, reason in markers if not reason] == []
