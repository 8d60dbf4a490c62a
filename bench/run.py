"""`make bench`: the pipeline beside its floor, in one run, on synthetic data of 1, 4 and 16 fiscal
years of the 48 regions and 16 fiscal years with the 1,741 municipalities. Each measurement is a fresh
process (its own SQLite warehouse and var folder) talking to a running local Prefect server, the path
users run (`branchkpi server start`, a worker); the 1-FY scenario is also run on the ephemeral API and
printed beside it. Timed from the outside the same way for the pipeline and the floor. Then the
latency of the commands people type (bench/latency.py). Prints the tables; the last line is
ratio_16fy_municipal=… Results also go to var/bench/results.json. Interrupted (Ctrl-C, SIGTERM), it
stops the servers it started."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
from common import BRANCHKPI, OUT, PY, ROOT, free_port, fresh_env
from latency import imports, measure, print_imports, print_latency

LAST_FY = 2020
SCENARIOS = [
    ("1 FY × 48 regions", 1, False),
    ("4 FY × 48 regions", 4, False),
    ("16 FY × 48 regions", 16, False),
    ("16 FY × 1,741 municipalities", 16, True),
]
STAGES = ("parse", "validate", "load", "compute", "evaluate")


def run(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def scenario_data(full: Path, years: int, municipal: bool) -> Path:
    """The files of the last `years` fiscal years, as a branch (or prefecture) would hand them over."""
    first = LAST_FY - years + 1
    folder = OUT / "data" / f"{years}fy{'-municipal' if municipal else ''}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "monthly_stats").mkdir(parents=True)
    for fy in range(first, LAST_FY + 1):
        shutil.copy(full / "monthly_stats" / f"monthly_stats_FY{fy}.csv", folder / "monthly_stats")
    names = ["kpi_targets.csv", "kpi_actuals_quarterly.csv"]
    names += ["municipal_kpi_targets.csv", "municipal_kpi_actuals.csv"] if municipal else []
    for name in names:
        frame = pl.read_csv(full / name, infer_schema=False)
        frame.filter(pl.col("fiscal_year").cast(pl.Int32) >= first).write_csv(folder / name)
    return folder


def _branchkpi(env: dict[str, str], *args: str) -> None:
    subprocess.run([BRANCHKPI, *args], cwd=ROOT, env=env, check=True, capture_output=True)


def _interrupted(signum: int, _frame: object) -> None:
    raise SystemExit(f"interrupted (signal {signum})")


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupted)
    OUT.mkdir(parents=True, exist_ok=True)
    server_home, port = OUT / "server-home", free_port()
    shutil.rmtree(server_home, ignore_errors=True)
    # the server's own Prefect home: the scenarios reset the shared one of the ephemeral runs
    server_env = fresh_env(server_home) | {
        "BRANCHKPI_SERVER_PORT": str(port),
        "PREFECT_HOME": str(server_home / "prefect"),
    }
    _branchkpi(server_env, "server", "start")
    try:
        results, empty_seconds, ephemeral = scenarios(port)
    finally:
        _branchkpi(server_env, "server", "stop")
    latency = measure(OUT, free_port())
    import_seconds = imports(fresh_env(OUT / "imports-home"))
    everything = {
        "empty_flow_seconds": empty_seconds,
        "scenarios": results,
        "ephemeral_1fy": ephemeral,
        "latency": latency,
        "imports": import_seconds,
    }
    (OUT / "results.json").write_text(json.dumps(everything, indent=1))
    print_latency(latency)
    print_imports(import_seconds)
    print()
    print(
        f"ephemeral API, {results[0]['scenario']}: pipeline {ephemeral['seconds']:.1f} s beside "
        f"{results[0]['pipeline_seconds']:.1f} s on the local server"
    )
    print_table(results, empty_seconds)


def scenarios(port: int) -> tuple[list[dict[str, Any]], float, dict[str, Any]]:
    """Every scenario on the local server on `port`; the first also on the ephemeral API."""

    def on_server(home: Path) -> dict[str, str]:
        return fresh_env(home) | {"PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}

    full = OUT / "data" / "full"
    env = fresh_env(OUT / "synth-home")
    subprocess.run(
        [
            BRANCHKPI,
            "synth",
            "--fiscal-years",
            f"{LAST_FY - 15}-{LAST_FY}",
            "--out",
            str(full),
            "--municipal",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    shutil.rmtree(OUT / "prefect-home", ignore_errors=True)
    run([PY, "bench/empty_flow.py"], fresh_env(OUT / "home-empty"))  # creates Prefect's database: not measured
    empty_seconds, _ = run([PY, "bench/empty_flow.py"], on_server(OUT / "home-empty"))
    ephemeral: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    for label, years, municipal in SCENARIOS:
        data = scenario_data(full, years, municipal)
        floor_home = OUT / "home-floor"
        floor_seconds, floor = run(
            [PY, "bench/floor.py", "--data", str(data), "--db", str(floor_home / "w.sqlite")], fresh_env(floor_home)
        )
        home = OUT / f"home-{years}{'m' if municipal else ''}"
        args = [
            PY,
            "bench/pipeline.py",
            "--data",
            str(data),
            "--from-fy",
            str(LAST_FY - years + 1),
            "--to-fy",
            str(LAST_FY),
        ]
        if not ephemeral:  # the first scenario on the ephemeral API too, printed beside
            seconds, pipeline = run(args, fresh_env(home.with_name(home.name + "-ephemeral")))
            ephemeral = {"seconds": seconds, **pipeline}
        env = on_server(home)
        seconds, pipeline = run(args, env)
        rerun_seconds, rerun = run(args, env)  # the same files again: nothing new
        if pipeline["failed"] or rerun["failed"]:
            raise SystemExit(f"{label}: a flow failed: {pipeline['failed'] or rerun['failed']}")
        results.append(
            {
                "scenario": label,
                "fiscal_years": years,
                "municipal": municipal,
                "rows": floor["rows_written"],
                "pipeline_seconds": seconds,
                "floor_seconds": floor_seconds,
                "ratio": seconds / floor_seconds,
                "pipeline_peak_rss_mib": pipeline["peak_rss_mib"],
                "floor_peak_rss_mib": floor["peak_rss_mib"],
                "stages": pipeline["stages"],
                "import_seconds": pipeline["import_seconds"],
                "rerun_seconds": rerun_seconds,
                "rerun_stages": rerun["stages"],
                # the rerun's flows beside the first run's, both timed inside the process once the
                # imports are done and the API is up (the fixed start-up is the same for both)
                "pass_seconds": pipeline["pass_seconds"],
                "rerun_pass_seconds": rerun["pass_seconds"],
                "rerun_pct": 100 * rerun["pass_seconds"] / pipeline["pass_seconds"],
                "api_start_seconds": pipeline["api_start_seconds"],
                "messages": pipeline["messages"],
                "rerun_messages": rerun["messages"],
            }
        )
        print(f"measured {label}: pipeline {seconds:.1f} s, floor {floor_seconds:.1f} s", file=sys.stderr)
    return results, empty_seconds, ephemeral


def print_table(results: list[dict[str, Any]], empty_seconds: float) -> None:
    head = (
        f"{'scenario':<30}{'rows':>9}{'pipeline s':>11}{'floor s':>9}{'ratio':>7}{'peak MiB':>9}{'floor MiB':>10}"
        + "".join(f"{s:>9}" for s in STAGES)
        + f"{'orchestr.':>10}{'pass s':>8}{'rerun s':>9}{'rerun %':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        stages = [r["stages"].get(s, 0.0) for s in STAGES]
        overhead = r["pipeline_seconds"] - sum(stages)
        print(
            f"{r['scenario']:<30}{r['rows']:>9}{r['pipeline_seconds']:>11.1f}{r['floor_seconds']:>9.1f}"
            f"{r['ratio']:>7.2f}{r['pipeline_peak_rss_mib']:>9.0f}{r['floor_peak_rss_mib']:>10.0f}"
            + "".join(f"{s:>9.1f}" for s in stages)
            + f"{overhead:>10.1f}{r['pass_seconds']:>8.1f}{r['rerun_pass_seconds']:>9.1f}{r['rerun_pct']:>7.0f}%"
        )
    one = results[0]
    fixed = one["pipeline_seconds"] - one["floor_seconds"]
    print(
        f"fixed overhead: pipeline − floor at 1 FY × 48 regions = {fixed:.1f} s;"
        f" an empty Prefect flow run with the same imports = {empty_seconds:.1f} s"
    )
    above = [(r["fiscal_years"], r["pipeline_seconds"] - empty_seconds) for r in results if not r["municipal"]]
    print("above the empty flow, 48 regions: " + ", ".join(f"{y} FY {s:.1f} s ({s / y:.1f} s/FY)" for y, s in above))
    print("pass s: the flows of the first run, after the imports and the API start; rerun s: the same flows")
    print("on the loaded warehouse with the same files (nothing new), timed the same way, in a second process")
    print(f"ratio_16fy_municipal={results[-1]['ratio']:.2f}")


if __name__ == "__main__":
    main()
