"""A text names a KPI only when it can name one (issue 27): by id, by a catalogue name or by the plan's
wording as loaded with the unit's targets, each compared in one normal form; a text that fits several
KPIs, or only part of one, names none and lists the candidates."""

from __future__ import annotations

import csv

import pytest

from branchkpi.domain import kpis
from branchkpi.domain.kpi_names import NAMES_JA, KpiNames, catalogue_names, resolve_exact, wording_key

from ..conftest import SEED

with open(SEED / "kpi_plan_items.csv", encoding="utf-8") as fh:
    PLAN = list(csv.DictReader(fh))


def plan(branch: str) -> KpiNames:
    """The names a branch's files may use once its seed targets are loaded."""
    return KpiNames.with_wordings((r["kpi_text_ja"], r["kpi_id"]) for r in PLAN if r["branch"] == branch)


def text_of(branch: str, kpi_id: str) -> str:
    return next(r["kpi_text_ja"] for r in PLAN if r["branch"] == branch and r["kpi_id"] == kpi_id)


def test_every_catalogue_name_names_one_kpi() -> None:
    assert set(NAMES_JA) <= set(kpis.BY_ID)
    owners: dict[str, str] = {}
    for kpi_id, names in catalogue_names().items():
        for name in names:
            assert owners.setdefault(wording_key(name), kpi_id) == kpi_id, (name, owners[wording_key(name)], kpi_id)
    # the short name the reports print (the catalogue's first phrase) is a name of its KPI
    for kpi in kpis.CATALOGUE:
        if kpi.phrases:
            assert resolve_exact(kpi.phrases[0]) == kpi.id, kpi.id


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("特定健康診査 実施率 31.6% (受診見込者数：15,544人)", "特定健康診査実施率31.6%"),
        ("特定健康診査　実施率　31.6％（受診見込者数：15,544人）", "特定健康診査実施率31.6%"),  # full-width
        (
            "ジェネリック医薬品使用割合（※）を年度末時点で80.7%以上とする。※医科、DPC、歯科、調剤",
            "ジェネリック医薬品使用割合を年度末時点で80.7%以上とする",
        ),
        (
            "※ジェネリック医薬品使用割合(数量ベース) 平成29年度末目標 72.3%",
            "ジェネリック医薬品使用割合平成29年度末目標72.3%",
        ),
        ("レセプト点検の査定率^{*}について対前年度以上とする。", "レセプト点検の査定率について対前年度以上とする"),
        ("返納金債権（資格喪失後受診に係るもの（限る））の回収率", "返納金債権の回収率"),
        ("  Card_Recovery_Rate ", "card_recovery_rate"),
    ],
)
def test_the_normal_form(written: str, key: str) -> None:
    assert wording_key(written) == key


def test_ids_and_catalogue_names() -> None:
    names = KpiNames.with_wordings([])
    assert names.resolve("card_recovery_rate").how == "id"
    assert names.resolve(" CARD_RECOVERY_RATE ").kpi_id == "card_recovery_rate"
    assert (names.resolve("保険証回収率").how, names.resolve("保険証回収率").kpi_id) == ("name", "card_recovery_rate")
    assert names.resolve("郵送化率").kpi_id == "mail_application_rate"
    assert names.resolve("").how == "blank"
    assert names.resolve("しあわせ度").how == "unknown"


def test_the_plans_wording_resolves_against_the_units_loaded_targets() -> None:
    yamaguchi = text_of("yamaguchi", "dependent_specific_checkup_rate")
    assert yamaguchi == "特定健康診査 実施率 31.6% (受診見込者数：15,544人)"
    named = plan("yamaguchi").resolve(yamaguchi)
    assert (named.how, named.kpi_id) == ("wording", "dependent_specific_checkup_rate")
    # the figure in brackets may differ or be left out: it is not part of the name
    assert plan("yamaguchi").resolve("特定健康診査 実施率 31.6%").kpi_id == "dependent_specific_checkup_rate"
    # another branch's plan is not this branch's: without its targets loaded the text names nothing
    assert plan("gunma").resolve(yamaguchi).kpi_id is None


def test_gunmas_two_guidance_sentences_are_two_kpis() -> None:
    insured = text_of("gunma", "specific_health_guidance_rate_insured")
    dependents = text_of("gunma", "specific_health_guidance_rate_dependents")
    assert plan("gunma").resolve(insured).kpi_id == "specific_health_guidance_rate_insured"
    assert plan("gunma").resolve(dependents).kpi_id == "specific_health_guidance_rate_dependents"
    # without the plan loaded they contain names and name none: refused with the candidates, never one guessed
    for sentence, own in (
        (insured, "specific_health_guidance_rate_insured"),
        (dependents, "specific_health_guidance_rate_dependents"),
    ):
        named = KpiNames.with_wordings([]).resolve(sentence)
        assert named.how == "partial" and named.kpi_id is None
        assert own in named.candidates and "specific_health_guidance_rate" in named.candidates
        assert "fits only in part" in named.explanation and own in named.explanation


def test_a_sentence_mentioning_another_kpis_name_is_not_that_kpi() -> None:
    advocacy = text_of("gunma", "data_based_advocacy")
    assert "地域医療構想調整会議" in advocacy
    assert plan("gunma").resolve(advocacy).kpi_id == "data_based_advocacy"
    named = KpiNames.with_wordings([]).resolve(advocacy)
    assert named.kpi_id is None
    assert {"data_based_advocacy", "regional_conference_participation_rate"} <= set(named.candidates)


def test_a_wording_printed_for_several_kpis_names_none() -> None:
    sentence = text_of("saitama", "lifestyle_checkup_rate")
    assert sentence == text_of("saitama", "lifestyle_checkup_count")  # 受診者数 and 実施率 in one line
    named = plan("saitama").resolve(sentence)
    assert named.how == "ambiguous" and named.candidates == ("lifestyle_checkup_count", "lifestyle_checkup_rate")
    assert "fits several KPIs exactly" in named.explanation


def test_a_part_of_a_name_or_wording_names_none() -> None:
    for text in ("保険証回収率を96.30%以上とする", "回収率", "特定保健指導"):
        named = plan("yamaguchi").resolve(text)
        assert named.kpi_id is None and named.how == "partial" and named.candidates, text
    assert "card_recovery_rate" in plan("yamaguchi").resolve("保険証回収率を96.30%以上とする").candidates
    assert resolve_exact("保険証回収率を96.30%以上とする") is None  # no substring guess anywhere
    assert resolve_exact("generic_drug_share") == "generic_drug_share"
