"""Every target of the bench data (`make bench`: `branchkpi synth --fiscal-years 2005-2020
--municipal`, 47 branches and 1,741 municipalities, 118,944 targets) judged both ways: by the frame
expressions (tasks/evaluate/by_frame.py) and by target_rules one by one (the specification), as the
bench evaluates them (the closed fiscal years). Both must give the same rows. The generated cases are in
tests/unit/test_judge_by_frame.py; this is the data the benchmark's ratio is measured on."""

from __future__ import annotations

import json

import polars as pl
import pytest

from branchkpi.domain import regions
from branchkpi.synthetic import kpis as synthetic_kpis
from branchkpi.synthetic import okayama_municipalities, real_kpi_actuals
from branchkpi.tasks.evaluate import ROW, _frame_of, by_frame, one_by_one, picking
from branchkpi.warehouse.evaluations import ACTUALS, PLACES, TARGETS, EvaluationInputs

BENCH_YEARS = range(2005, 2021)


@pytest.fixture(scope="module")
def bench_inputs() -> EvaluationInputs:
    """The bench's targets and actuals as the evaluation reads them from the warehouse."""
    branch_code = {b.name_romaji: b.code for b in regions.BRANCHES}
    targets, actuals = synthetic_kpis.synth_branch_kpis(real_kpi_actuals(), BENCH_YEARS)
    m_targets, m_actuals = synthetic_kpis.synth_municipal_kpis(okayama_municipalities(), BENCH_YEARS)

    def keyed(branch: pl.DataFrame, municipal: pl.DataFrame) -> pl.DataFrame:
        return pl.concat(
            [
                branch.with_columns(unit_key=pl.col("branch").replace_strict(branch_code)).drop("branch"),
                municipal.with_columns(unit_key=pl.format("{}:{}", "prefecture", "municipality")).drop(
                    "prefecture", "municipality"
                ),
            ]
        )

    target_frame = keyed(targets, m_targets).with_columns(
        target_text=pl.lit(None, dtype=pl.String), **{c: pl.lit(None, dtype=t) for c, t in PLACES.items()}
    )
    names = {b.code: {"key": b.code, "name_ja": b.name_ja, "name_romaji": b.name_romaji} for b in regions.BRANCHES}
    return EvaluationInputs(
        targets=target_frame.select(list({**TARGETS, **PLACES})).cast({**TARGETS, **PLACES}),
        actuals=keyed(actuals, m_actuals).select(list(ACTUALS)).cast(ACTUALS),
        units=names,
    )


def test_every_bench_target_is_judged_as_target_rules_judges_it(bench_inputs: EvaluationInputs) -> None:
    # the closed fiscal years, as the bench evaluates them (the generated cases cover the quarters)
    quarter, upto, period = None, 12, "FY"
    picked, tenders = picking.pick(bench_inputs, upto)
    picked = by_frame.with_figures(picked, quarter, upto)
    assert picked.height == 118_944
    chosen = picked.filter("_by_expressions")
    assert chosen.height == picked.height  # every bench target is a plain ≥: all go through the expressions
    judged = by_frame.judge(chosen, quarter, period, bench_inputs.units, one_by_one.PLACE).select(list(ROW)).cast(ROW)
    specified = _frame_of(
        [
            one_by_one.evaluate_one(r, tenders, bench_inputs.units, quarter, upto, period)
            for r in chosen.iter_rows(named=True)
        ]
    )
    assert judged.drop("inputs").equals(specified.drop("inputs"))
    assert [json.loads(j) for j in judged["inputs"]] == [json.loads(j) for j in specified["inputs"]]
    assert set(judged["status"]) >= {"achieved", "missed"}
