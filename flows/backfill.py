"""Flow `backfill`: load a range of prior fiscal years (optionally some branches) from a set of files,
inside one batch (flows.lifecycle): the files are landed and parsed once and pass one quality gate, then
each fiscal year is loaded and its KPIs computed on its own (a year is loaded whole or not at all),
booked in the backfill log and shown on the progress artifact as it completes. A year with a critical
finding is not loaded and the summary names it, its file, row, column and value; the good years load.

Resumable and idempotent: a fiscal year already loaded from the same files (same checksums) for the
same branches is skipped unless `force`; a re-run after an interruption continues where it stopped.

With `fan_out`, every year becomes a run of the `backfill-year` deployment (the monthly flow) instead,
so that all the workers of the pool share the backfill; this flow waits for them and keeps the books.
Years may then load in any order: the KPI refresh of a year also recomputes the next one under the
warehouse write lock, so the result is the same as loading them in order."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from prefect import flow, get_run_logger
from prefect.states import State

from branchkpi.config import Settings, settings
from branchkpi.domain.regions import BY_CODE
from branchkpi.flows import backfill_artifacts, fan_out, lifecycle, progress
from branchkpi.flows.monthly_branch_stats import run_name
from branchkpi.tasks import backfills, coverage, steps
from branchkpi.tasks.landing import LandedFile, files_to_land
from branchkpi.tasks.outcome import BatchOutcome, YearResult, critical_by_fiscal_year, warnings_by_fiscal_year
from branchkpi.tasks.parse.observations import select
from branchkpi.warehouse.engine import redacted

FLOW_NAME = "backfill"
Book = Callable[[YearResult], None]


@flow(name=FLOW_NAME, flow_run_name="backfill-FY{from_fy}-FY{to_fy}", persist_result=False)
def backfill(
    from_fy: int,
    to_fy: int,
    paths: list[str] | None = None,
    branches: list[str] | None = None,
    force: bool = False,
    warehouse_url: str | None = None,
    fan_out: bool = False,
) -> State:
    """Backfill fiscal years from_fy..to_fy.

    Args:
        from_fy: first fiscal year (e.g. 2017 = 平成29年度).
        to_fy: last fiscal year, inclusive.
        paths: files or folders holding those years' statistics. Empty: the landing folder.
        branches: only these branches (JIS code, 山口 or yamaguchi); the national total is always kept.
        force: reload years already loaded from the same files.
        warehouse_url: SQLAlchemy URL. Empty: BRANCHKPI_WAREHOUSE_URL or SQLite under ./var.
        fan_out: run each year as a run of the backfill-year deployment, so that every worker of
            the pool takes some (needs the deployments and at least one worker; the files must be
            where the workers can read them).
    """
    if to_fy < from_fy:
        raise ValueError(f"to_fy {to_fy} is before from_fy {from_fy}")
    cfg = settings()
    url = warehouse_url or cfg.warehouse_url
    years: list[YearResult] = []
    run = partial(
        _backfill,
        cfg=cfg,
        url=url,
        first=from_fy,
        last=to_fy,
        paths=paths,
        branches=branches,
        force=force,
        fan_out_years=fan_out,
        years=years,
    )
    return lifecycle.batch_run(
        url,
        f"FY{from_fy}-FY{to_fy}",
        run,
        summary_key="backfill-batch-summary",
        summary_title="Backfill",
        data=lambda _outcome: [y.as_dict() for y in years],
    )


def _backfill(
    outcome: BatchOutcome,
    cfg: Settings,
    url: str,
    first: int,
    last: int,
    paths: list[str] | None,
    branches: list[str] | None,
    force: bool,
    fan_out_years: bool,
    years: list[YearResult],
) -> None:
    landed = steps.land(files_to_land(paths, cfg.landing_dir), outcome.batch_id, url, cfg)
    if not landed:
        outcome.record_no_input(None, 0, cfg.landing_dir)
        outcome.message = f"nothing to backfill: {outcome.message}"
        return
    digest, scope = backfills.files_digest([f.sha256 for f in landed]), backfills.scope_of(branches)
    wanted = list(range(first, last + 1))
    done = set() if force else steps.backfilled_years(url, wanted, scope, digest)
    tracker = backfill_artifacts.BackfillProgress(len(wanted), f"FY{first}–FY{last}")

    def book(result: YearResult) -> None:
        years.append(result)
        if result.status != "failed" and result.status != "skipped":
            steps.book_year(url, result.fiscal_year, scope, digest, outcome.batch_id, result.status, result.rows_loaded)
        tracker.year_done()
        progress.step(f"FY{result.fiscal_year}", channel="backfill")

    for fiscal_year in sorted(done):
        book(YearResult(fiscal_year, "skipped", 0, "already loaded from the same files"))
    todo = [y for y in wanted if y not in done]
    regions = backfills.regions_of(branches)
    if todo and fan_out_years:
        # a URL with a password never becomes a run parameter (the API stores those): the year runs
        # resolve it themselves, from BRANCHKPI_WAREHOUSE_URL or the Secret block, as this run did
        child_url = url if redacted(url) == url else None
        fan_out.run_years(todo, [str(f.archive_path) for f in landed], child_url, regions, url, book)
    elif todo:
        _load_years(outcome, cfg, url, landed, todo, regions, book)
    years.sort(key=lambda y: y.fiscal_year)
    outcome.record_years_booked(years, f"FY{first}–FY{last}")
    backfill_artifacts.publish_backfill_summary([y.as_dict() for y in years], outcome.message, cfg.report_lang)


def _load_years(
    outcome: BatchOutcome,
    cfg: Settings,
    url: str,
    landed: list[LandedFile],
    todo: list[int],
    regions: list[str] | None,
    book: Book,
) -> None:
    """One parse and one gate for all the years, then each year loaded and its KPIs computed alone."""
    parsed, outcome.files = steps.parse_files(landed, todo, regions)
    outcome.rows_landed = parsed.observations.height + parsed.reported_totals.height
    outcome.units = sorted(BY_CODE[c].name_romaji for c in parsed.observations["region_code"].drop_nulls().unique())
    gate = steps.quality_gate(
        parsed.observations, url, cfg, run_name(f"{todo[-1] + 1}-03"), todo[-1], parsed.headers, parsed.reported_totals
    )
    outcome.record_gate(parsed.findings, gate)
    blocked = critical_by_fiscal_year(outcome.findings, parsed.observations, todo)
    refused = coverage.statistics_cells(parsed.observations, sorted(blocked)) if blocked else None
    steps.quarantine(url, outcome.batch_id, outcome.findings, refused)
    warned = warnings_by_fiscal_year(outcome.findings, parsed.observations)
    for fiscal_year in todo:
        if fiscal_year in blocked:
            book(YearResult(fiscal_year, "failed", 0, blocked[fiscal_year]))
            continue
        year = select(parsed, [fiscal_year], None)
        result = steps.load_batch(url, year, outcome.batch_id, [f.id for f in landed])
        if result.fiscal_years:
            steps.compute_kpis(url, result.fiscal_years)
        book(YearResult.of_load(fiscal_year, result, warned.get(fiscal_year, 0)))
    if blocked:
        get_run_logger().warning("not loaded, critical findings: %s", ", ".join(f"FY{y}" for y in sorted(blocked)))
