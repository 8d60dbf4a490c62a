"""The quality gate on its own: every rule of the suite fails on a crafted batch, with the row, the
column and the value in its finding; warnings do not block; Data Docs are written under var/."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from branchkpi.expectations import monthly_stats
from branchkpi.expectations.rules import build_suite
from branchkpi.tasks.parse import files as parse
from branchkpi.tasks.parse import observations as parsed_frames
from branchkpi.tasks.validate import statistics as validate
from branchkpi.tasks.validate.gx import GateResult

from ..conftest import LAYOUT_SEED, TIDY_SEED, both_dialects


def seed_batch(region: str = "yamaguchi", metrics: tuple[str, ...] = ("insured_persons",)) -> pl.DataFrame:
    from branchkpi.tasks.landing import LandedFile

    content = TIDY_SEED.read_bytes()
    observations = parse.parse_file(
        LandedFile(7, "0" * 64, "seed.csv", TIDY_SEED, len(content), False, content)
    ).observations
    return observations.filter(pl.col("region_raw").is_in([region, "national"]) & pl.col("metric").is_in(metrics))


def gate(batch: pl.DataFrame, engine: Any, bk_home: Path, **kw: Any) -> GateResult:
    frame = validate.validation_frame(batch, engine, kw.pop("as_of", None))
    return validate.run_gate(frame, bk_home / "data_docs", bk_home / "gx", "test-run", **kw)


def edit(batch: pl.DataFrame, row: int, **values: Any) -> pl.DataFrame:
    """Change cells of the row with this source_row, the parsed and the raw column alike."""
    mask = pl.col("source_row") == row
    return batch.with_columns(*(pl.when(mask).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in values.items()))


def test_every_rule_is_in_the_suite() -> None:
    names = [r.name for r in monthly_stats.rules()]
    assert len(names) == len(set(names))
    suite = build_suite(monthly_stats.SUITE_NAME, monthly_stats.rules())
    assert len(suite.expectations) == len(names)
    severities = {r.name: r.severity for r in monthly_stats.rules()}
    assert severities["yoy_jump"] == "warning"
    assert {s for n, s in severities.items() if n != "yoy_jump"} == {"critical"}


def test_every_expectation_is_described_in_japanese_or_english() -> None:
    from branchkpi.expectations import kpi, printed_totals

    for rule_list in (monthly_stats.rules(), printed_totals.rules(), kpi.target_rules(), kpi.actual_rules()):
        ja = build_suite("s", rule_list)
        assert [e.description for e in ja.expectations] == [r.reason_ja for r in rule_list]
        assert all(any("\u3040" <= ch <= "\u9fff" for ch in r.reason_ja) for r in rule_list)
        en = build_suite("s", rule_list, lang="en")
        assert [e.description for e in en.expectations] == [r.reason for r in rule_list]


@both_dialects("the batch is recorded in the warehouse")
def test_clean_batch_passes_and_docs_are_built(engine: Any, bk_home: Path) -> None:
    result = gate(seed_batch(), engine, bk_home)
    assert result.passed and result.findings == []
    assert result.expectations_failed == result.expectations_warned == 0
    assert result.expectations_passed == len(monthly_stats.rules())
    assert Path(result.data_docs_path or "").is_file()
    assert (bk_home / "data_docs" / "index.html").is_file()
    page = Path(result.data_docs_path or "").read_text(encoding="utf-8")
    assert "monthly_branch_stats" in page
    # each expectation reads as its rule's reason, in Japanese by default
    assert all(rule.reason_ja and rule.reason_ja in page for rule in monthly_stats.rules())


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("region_known", {"region_code": None, "region_raw": "atlantis"}, "atlantis"),
    ("metric_known", {"metric": None, "metric_raw": "happiness"}, "happiness"),
    ("fiscal_year_readable", {"fiscal_year": None, "fiscal_year_raw": "令和九九"}, "令和九九"),
    ("month_valid", {"month": None, "month_raw": "13月"}, "13月"),
    ("value_is_number", {"value": None, "value_raw": "n/a?"}, "n/a?"),
    ("value_not_negative", {"value": -5.0, "value_raw": "△5"}, "△5"),
    ("fiscal_year_in_range", {"fiscal_year": 2099, "fiscal_year_raw": "2099"}, "2099"),
    ("fiscal_year_in_range", {"fiscal_year": 1900, "fiscal_year_raw": "1900"}, "1900"),
]


@pytest.mark.parametrize(("rule", "values", "shown"), CASES)
def test_row_rules(rule: str, values: dict[str, Any], shown: str, engine: Any, bk_home: Path) -> None:
    batch = seed_batch()
    row = int(batch["source_row"][5])
    result = gate(edit(batch, row, **values), engine, bk_home)
    assert not result.passed
    hits = [f for f in result.critical if f.rule == rule]
    assert len(hits) == 1, [str(f) for f in result.findings]
    assert (hits[0].file_name, hits[0].source_row, hits[0].value_text) == ("seed.csv", row, shown)
    assert hits[0].column_name
    assert str(hits[0]).startswith(f"seed.csv, row {row}, column ")


def test_duplicate_rows(engine: Any, bk_home: Path) -> None:
    batch = seed_batch()
    result = gate(pl.concat([batch, batch.head(2)]), engine, bk_home)
    hits = [f for f in result.critical if f.rule == "one_row_per_key"]
    assert len(hits) == 4  # both copies of both duplicated rows


def test_closed_fiscal_year_must_be_complete(engine: Any, bk_home: Path) -> None:
    batch = seed_batch().filter(pl.col("fiscal_year").is_in([2019, 2020]))
    missing_february = batch.filter(~((pl.col("fiscal_year") == 2019) & (pl.col("month") == 2)))
    result = gate(missing_february, engine, bk_home)
    hits = [f for f in result.critical if f.rule == "closed_fiscal_year_complete"]
    assert hits and all("FY2019" in f.reason and "months_missing_in_closed_fy=1" in f.reason for f in hits)
    # the latest fiscal year may be partial…
    assert gate(batch.filter(~((pl.col("fiscal_year") == 2020) & (pl.col("month") == 2))), engine, bk_home).passed
    # …unless the run is for a later period, which closes it
    late = gate(batch.filter(~((pl.col("fiscal_year") == 2020) & (pl.col("month") == 2))), engine, bk_home, as_of=2021)
    assert any(f.rule == "closed_fiscal_year_complete" for f in late.critical)


def test_branch_above_national(engine: Any, bk_home: Path) -> None:
    batch = seed_batch()
    row = int(batch.filter(pl.col("region_raw") == "yamaguchi")["source_row"][0])
    result = gate(edit(batch, row, value=1e9, value_raw="1,000,000,000"), engine, bk_home)
    hits = [f for f in result.critical if f.rule == "branch_not_above_national"]
    assert [f.source_row for f in hits] == [row] and "national_value=" in hits[0].reason
    # averages may be above the national figure
    remuneration = seed_batch(metrics=("avg_standard_monthly_remuneration_yen",))
    row = int(remuneration.filter(pl.col("region_raw") == "yamaguchi")["source_row"][0])
    higher = edit(remuneration, row, value=10_000_000.0)
    assert not any(f.rule == "branch_not_above_national" for f in gate(higher, engine, bk_home).findings)


def test_per_capita_consistent(engine: Any, bk_home: Path) -> None:
    four = ("insured_persons", "dependents", "insurance_benefits", "medical_cost_per_capita_yen")
    batch = seed_batch(metrics=four).filter(pl.col("region_raw") == "yamaguchi")
    assert gate(batch, engine, bk_home).passed
    row = int(batch.filter(pl.col("metric") == "medical_cost_per_capita_yen")["source_row"][3])
    result = gate(edit(batch, row, value=1500.0, value_raw="1,500"), engine, bk_home)
    hits = [f for f in result.critical if f.rule == "per_capita_consistent"]
    assert [f.source_row for f in hits] == [row] and "benefits_to_medical_cost_ratio=" in hits[0].reason


def test_yoy_jump_warns_but_passes(engine: Any, bk_home: Path) -> None:
    batch = seed_batch().with_columns(yoy_pct_printed=None)  # no printed YoY to reconcile the jump with
    row = int(batch.filter((pl.col("region_raw") == "yamaguchi") & (pl.col("fiscal_year") == 2019))["source_row"][0])
    result = gate(edit(batch, row, value=300_000.0), engine, bk_home)
    assert result.passed
    assert result.expectations_warned == 1
    warned = [f for f in result.warnings if f.rule == "yoy_jump"]
    assert row in [f.source_row for f in warned] and "yoy_pct_computed=" in warned[0].reason
    # the threshold is configurable
    assert not gate(edit(batch, row, value=300_000.0), engine, bk_home, yoy_warn_pct=50).warnings


@both_dialects("the gate reads its context (last year's figures) with SQL")
def test_context_comes_from_the_warehouse_too(engine: Any, bk_home: Path) -> None:
    """A branch-only batch is checked against the national figure already in the warehouse."""
    from branchkpi.config import settings
    from branchkpi.tasks.landing import land_files
    from branchkpi.warehouse import loads
    from branchkpi.warehouse.batches import start_batch

    batch_id = start_batch(engine, None, None)
    landed = land_files([TIDY_SEED], batch_id, engine, settings())
    batch = seed_batch().with_columns(file_id=pl.lit(landed[0].id, pl.Int64))
    national = batch.filter(pl.col("region_raw") == "national")
    loads.load_statistics(engine, national, parsed_frames.empty_totals(), batch_id, [landed[0].id])
    yamaguchi = batch.filter(pl.col("region_raw") == "yamaguchi")
    row = int(yamaguchi["source_row"][0])
    result = gate(edit(yamaguchi, row, value=1e9), engine, bk_home)
    assert [f.source_row for f in result.critical if f.rule == "branch_not_above_national"] == [row]


def test_missing_column_is_a_batch_level_failure(engine: Any, bk_home: Path) -> None:
    frame = validate.validation_frame(seed_batch(), engine).drop("month")
    result = validate.run_gate(frame, bk_home / "data_docs", bk_home / "gx", "structure")
    assert not result.passed
    assert any(f.rule == "column_month_present" for f in result.critical)


def published(name: str, replace: tuple[str, str] | None = None) -> pl.DataFrame:
    from branchkpi.tasks.landing import LandedFile

    content = (LAYOUT_SEED / name).read_bytes()
    if replace:
        assert replace[0].encode() in content
        content = content.replace(replace[0].encode(), replace[1].encode(), 1)
    return parse.parse_file(
        LandedFile(3, "0" * 64, name, LAYOUT_SEED / name, len(content), False, content)
    ).observations


def test_every_real_published_file_reconciles_with_its_printed_yoy(engine: Any, bk_home: Path) -> None:
    """The publisher's half-way roundings (tests/unit/test_kpis.py) pass; nothing else differs."""
    batch = pl.concat([published(p.name) for p in sorted(LAYOUT_SEED.glob("*.csv"))])
    result = gate(batch, engine, bk_home)
    assert not [f for f in result.findings if f.rule == "yoy_printed_matches"]
    assert result.passed


def test_a_figure_typed_wrong_with_its_printed_yoy_copied_right_is_refused(engine: Any, bk_home: Path) -> None:
    """Yamaguchi's 被保険者数 of April 2020, 260,511, typed 206,511: within every range, a jump the old
    gate only warned about; its printed 前年同月比 (△0.1%) gives it away."""
    batch = published("yamaguchi_insured_persons.csv", ("260,511", "206,511"))
    result = gate(batch, engine, bk_home)
    assert not result.passed
    mismatched = [f for f in result.critical if f.rule == "yoy_printed_matches"]
    assert [(f.source_row, f.column_name, f.value_text) for f in mismatched] == [(2, "2年度", "206,511")]
    assert "yoy_pct_computed=-21" in mismatched[0].reason and "yoy_pct_printed=-0.1" in mismatched[0].reason


def test_the_validating_process_gives_the_gate_the_same_answer(
    engine: Any, bk_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's gate runs in a validating process of its own (tasks/validate/validator.py): same
    counts and findings (file, row, column, value) as here; its Data Docs page follows the answer. It
    is this installation's, wherever the command runs (here: beside a folder named branchkpi)."""
    from branchkpi.tasks.validate import validator

    decoy = tmp_path / "elsewhere"
    (decoy / "branchkpi").mkdir(parents=True)
    (decoy / "branchkpi" / "__init__.py").write_text("raise ImportError('not this one')\n")
    monkeypatch.chdir(decoy)

    batch = seed_batch()
    row = int(batch["source_row"][5])
    bad = edit(batch, row, value=-5.0, value_raw="△5")
    here = gate(bad, engine, bk_home)
    validator.start(bk_home)
    try:
        assert validator.running()
        there = gate(bad, engine, bk_home)
        assert validator.running()  # it answered: a process that died is dropped and the gate validates here
    finally:
        validator.stop()
    assert not validator.running()
    assert (there.expectations_passed, there.expectations_warned, there.expectations_failed) == (
        here.expectations_passed,
        here.expectations_warned,
        here.expectations_failed,
    )
    assert [str(f) for f in there.findings] == [str(f) for f in here.findings]
    assert there.rule_summary == here.rule_summary
    assert (
        there.data_docs_path != here.data_docs_path and Path(there.data_docs_path or "").is_file()
    )  # written by stop()
    assert "monthly_branch_stats" in Path(there.data_docs_path or "").read_text(encoding="utf-8")
    # a validating process that died: the gate validates here, and says so
    validator.start(bk_home)
    child = validator._channel[os.getpid()].process
    assert child is not None  # no local server here: a child of this process
    child.kill()
    child.wait()
    again = gate(bad, engine, bk_home)
    assert [str(f) for f in again.findings] == [str(f) for f in here.findings]
    assert not validator.running()
