"""The commands people type, timed from the outside as a person waits for them: `ingest` of one branch's
one-month file, `evaluate --branch yamaguchi --fiscal-year 2020`, `report`, `query`; each as a ratio to
a baseline measured in the same run (`python -c "import prefect, polars, sqlalchemy"`; for `query`,
`python -c "import polars, sqlalchemy"`), with the local server up and on the ephemeral fallback.
Medians of REPEATS runs on the server path, one run on the ephemeral path (it only shows the gap).
Then what importing costs, the same way (`imports`): Great Expectations, the evaluate flow's module,
Prefect."""

from __future__ import annotations

import csv
import os
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

from common import BRANCHKPI, OUT, PY, ROOT, free_port, fresh_env, settle
from common import timed as _timed

SEED = ROOT / "data" / "sample" / "seed"
REPEATS = 3
LATE_MONTHS = (1, 2, 3)  # FY2020's January–March: held back from the set-up, one of them sent per ingest
IMPORTS = {  # what a command pays before it does anything, each in a fresh interpreter
    "great_expectations": "import great_expectations",
    "evaluate flow module": "import branchkpi.flows.evaluate_targets",
    "prefect": "import prefect",
    "prefect, polars, sqlalchemy (baseline)": "import prefect, polars, sqlalchemy",
}


def _month_files(folder: Path) -> tuple[Path, list[Path]]:
    """The seed without FY2020 January–March (loaded at set-up), and one file per held-back month:
    Yamaguchi's six metrics of that month, as a branch sends them."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(SEED / "branch_monthly_stats.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    late = [r for r in rows if r["fiscal_year"] == "2020" and int(r["month"]) in LATE_MONTHS]
    base = folder / "base.csv"
    with base.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r not in late)
    months = []
    for month in LATE_MONTHS:
        path = folder / f"yamaguchi_2021-{month:02d}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(r for r in late if r["region"] == "yamaguchi" and int(r["month"]) == month)
        months.append(path)
    return base, months


def _commands(reports: Path) -> dict[str, list[str]]:
    return {
        "evaluate": [BRANCHKPI, "evaluate", "--branch", "yamaguchi", "--fiscal-year", "2020"],
        "report": [BRANCHKPI, "report", "--branch", "yamaguchi", "--fiscal-year", "2020", "--out", str(reports)],
        "query": [BRANCHKPI, "query", "monthly", "--region", "yamaguchi", "--fiscal-year", "2020", "--format", "csv"],
    }


def measure(out: Path, port: int) -> dict[str, Any]:
    """Both paths, from a clean environment under out/latency-home."""
    home = out / "latency-home"
    shutil.rmtree(home, ignore_errors=True)
    env = fresh_env(home) | {"BRANCHKPI_SERVER_PORT": str(port), "PREFECT_HOME": str(home / "prefect")}
    env.pop("PREFECT_API_URL", None)
    base, months = _month_files(out / "latency-data")
    baseline = [PY, "-c", "import prefect, polars, sqlalchemy"]
    query_baseline = [PY, "-c", "import polars, sqlalchemy"]
    results: dict[str, Any] = {"server": {}, "ephemeral": {}}
    _timed([BRANCHKPI, "server", "start"], env)
    try:
        kpi = [str(SEED / n) for n in ("kpi_plan_items.csv", "kpi_actuals.csv")]
        _timed([BRANCHKPI, "ingest", str(base), *kpi], env)  # set-up, not timed
        # side by side: each round times the baselines and every command once, and each command's
        # ratio is taken to its round's baseline (a shared machine's speed drifts; a ratio does not)
        # between commands the previous one's after-work (its report, its Data Docs) may finish first
        rounds: list[dict[str, float]] = []
        for i in range(REPEATS):
            times = {"baseline": _timed(baseline, env), "query_baseline": _timed(query_baseline, env)}
            times["ingest"] = _timed([BRANCHKPI, "ingest", str(months[i])], env)
            settle(home)
            for name, args in _commands(home / "reports").items():
                times[name] = _timed(args, env)
                settle(home)
            rounds.append(times)
        server = results["server"]
        for name in rounds[0]:
            server[name] = statistics.median(r[name] for r in rounds)
        for name in ("ingest", "evaluate", "report", "query"):
            base_name = "query_baseline" if name == "query" else "baseline"
            server[f"{name}_ratio"] = statistics.median(r[name] / r[base_name] for r in rounds)
    finally:
        _timed([BRANCHKPI, "server", "stop"], env)
    eph = results["ephemeral"]
    eph["baseline"], eph["query_baseline"] = _timed(baseline, env), _timed(query_baseline, env)
    eph["ingest"] = _timed([BRANCHKPI, "ingest", str(_corrected(months[-1], home))], env)
    for name, args in _commands(home / "reports").items():
        eph[name] = _timed(args, env)
    for name in ("ingest", "evaluate", "report"):
        eph[f"{name}_ratio"] = eph[name] / eph["baseline"]
    eph["query_ratio"] = eph["query"] / eph["query_baseline"]
    return results


def _corrected(path: Path, home: Path) -> Path:
    """The month sent again with one figure corrected (+1 事業所): a real load, not 'unchanged'."""
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["value"] = str(int(float(rows[0]["value"])) + 1)
    corrected = home / f"corrected_{path.name}"
    with corrected.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return corrected


def print_latency(results: dict[str, Any]) -> None:
    print()
    print(f"{'command (seconds, ratio to baseline)':<40}{'server':>16}{'ephemeral':>16}{'goal':>8}")
    for name, goal in (("ingest", 3.0), ("evaluate", 3.0), ("report", 3.0), ("query", 1.5)):
        cells = [f"{p[name]:.1f} s {p[f'{name}_ratio']:.1f}×" for p in (results["server"], results["ephemeral"])]
        print(f"{name:<40}{cells[0]:>16}{cells[1]:>16}{'≤' + format(goal, 'g') + '×':>8}")
    s = results["server"]
    print(
        f"{'baseline: import prefect, polars, sqlalchemy':<40}{s['baseline']:>14.1f} s"
        f"{results['ephemeral']['baseline']:>14.1f} s"
    )
    print(
        f"{'query baseline: import polars, sqlalchemy':<40}{s['query_baseline']:>14.1f} s"
        f"{results['ephemeral']['query_baseline']:>14.1f} s"
    )
    print("server: medians of the rounds, each ratio to its own round's baseline; ephemeral: one run")
    print(f"latency_ingest_ratio={s['ingest_ratio']:.2f}")


def imports(env: dict[str, str]) -> dict[str, float]:
    """Median seconds of each import in IMPORTS, in a fresh interpreter each time."""
    return {
        name: statistics.median(_timed([PY, "-c", code], env) for _ in range(REPEATS)) for name, code in IMPORTS.items()
    }


def print_imports(seconds: dict[str, float]) -> None:
    print()
    print(f"{'import (seconds, median of ' + str(REPEATS) + ')':<40}{'':>16}")
    for name, value in seconds.items():
        print(f"{name:<40}{value:>14.1f} s")


if __name__ == "__main__":  # `python bench/latency.py`: the latency table and the imports alone
    print_latency(measure(OUT, free_port()))
    print_imports(imports(fresh_env(OUT / "imports-home")))
    sys.stdout.flush()
    os._exit(0)
