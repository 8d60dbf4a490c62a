"""The branch's KPI report (事業実績 / 事業計画実施状況): built from a real warehouse loaded by the real
flows, opened in headless Chromium (Japanese text, charts, the marks in the DOM), attached to the
evaluate-targets and monthly runs, switched to English, and escaping what the data holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ..conftest import ROOT, SEED, PrefectStack
from ..helpers import KPI_SEED, artifacts, ingest_kpi, run_monthly

SCREENSHOTS = ROOT / "var" / "reports"


def _load_report_data(tmp_path: Path) -> None:
    """Yamaguchi's and the nation's statistics FY2017–2020, the seed KPI files, and synthetic actuals
    of the other 46 branches for the ranking, into the test's warehouse."""
    from branchkpi.synthetic.ranked import synth_kpi_actuals

    state, _ = run_monthly(SEED / "branch_monthly_stats.csv")
    assert state.is_completed(), state.message
    real = pl.read_csv(SEED / "kpi_actuals.csv", infer_schema=False).with_columns(
        pl.col("fiscal_year").cast(pl.Int32), pl.col("value").cast(pl.Float64)
    )
    synthetic = tmp_path / "kpi_actuals_synthetic.csv"
    synth_kpi_actuals(real, [2019, 2020]).write_csv(synthetic)
    state, _ = ingest_kpi(*KPI_SEED, synthetic)
    assert state.is_completed(), state.message


@pytest.fixture
def reported(prefect_server: str, warehouse_url: str, tmp_path: Path) -> str:
    """A warehouse of its own holding the report's data (for tests that change it)."""
    _load_report_data(tmp_path)
    return warehouse_url


_SHARED: dict[str, str] = {}


@pytest.fixture
def shared_reported(prefect_server: str, dialect: str, warehouse_url: str, tmp_path: Path) -> str:
    """The same data, loaded once per dialect for the tests that only read it."""
    if dialect not in _SHARED:
        _load_report_data(tmp_path)
        _SHARED[dialect] = warehouse_url
    return _SHARED[dialect]


def page_text(browser: Any, path: Path) -> str:
    browser.get(path.as_uri())
    return str(browser.find_element("tag name", "body").text)


def not_blank(png: bytes) -> None:
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(png)).convert("L")
    histogram = image.histogram()
    assert sum(histogram[:200]) > 0.01 * sum(histogram), "the screenshot is (nearly) blank"


def test_annual_report_in_chromium(shared_reported: str, browser: Any, tmp_path: Path) -> None:
    from branchkpi.tasks.report import gather as report
    from branchkpi.tasks.report.html import write_report
    from branchkpi.warehouse.engine import connect

    data = report.gather(connect(shared_reported), "yamaguchi", 2020)
    written = write_report(data, tmp_path / "out")
    assert written.html.name == "yamaguchi_FY2020_ja.html"
    assert len(written.charts) == 6 and all(p.stat().st_size > 10_000 for p in written.charts)
    html = written.html.read_text(encoding="utf-8")
    assert 'src="file:' not in html and "<link" not in html  # self-contained: charts embedded, styles inline
    assert html.count('src="data:image/png;base64,') == 6

    text = page_text(browser, written.html)
    assert "山口支部 令和2年度 事業実績" in text
    for heading in ("基盤的保険者機能", "戦略的保険者機能", "組織体制", "偏差値と順位", "月報（統計）", "被保険者数"):
        assert heading in text
    rows = browser.find_elements("css selector", "tr.kpi-row")
    assert len(rows) == written.targets == len(data.kpi_rows) > 20
    marks = {r.get_attribute("data-status"): r.find_element("css selector", "td.mark").text for r in rows}
    assert marks["missed"] == "×" and marks["achieved"] == "○"
    missed = browser.find_elements("css selector", "tr.kpi-row.missed")
    assert len(missed) == written.missed > 0
    assert all("未達成" in r.find_element("css selector", ".flag").text for r in missed)  # visibly flagged
    # the table as the branch prints it: 4月 … 3月 and the year's total, three fiscal years with 前年同月比
    table = browser.find_element("css selector", "#metric-insurance_benefits + img + table")
    assert [th.text for th in table.find_elements("css selector", "tbody th")][:3] == ["4月", "5月", "6月"]
    assert "令和元年度" in table.text and "前年同月比" in table.text and "年度計" in table.text
    # ranked KPIs: Yamaguchi's real checkup rate among 47 branches
    rank_table = browser.find_element("css selector", "table.rank-table")
    assert re.search(r"生活習慣病予防健診 52\.6% \d+\.\d \d+ / 47", rank_table.text)

    browser.set_window_size(1300, 2400)
    png = browser.get_screenshot_as_png()
    not_blank(png)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "yamaguchi_FY2020_ja.png").write_bytes(png)


def test_japanese_in_the_chart_images_is_drawn_with_a_cjk_font() -> None:
    """No tofu: the chart's title glyphs come from Noto Sans CJK, which has them."""
    from matplotlib import font_manager

    from branchkpi.tasks.report.charts import cjk_font

    family = cjk_font()
    assert "CJK" in family or "IPA" in family
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    from matplotlib.ft2font import FT2Font

    font = FT2Font(path)
    charmap = font.get_charmap()
    assert all(ord(c) in charmap for c in "山口保険給付費被扶養者数令和年度前年同月比")


def test_quarterly_report_in_english(shared_reported: str, browser: Any, tmp_path: Path) -> None:
    from branchkpi.tasks.report import gather as report
    from branchkpi.tasks.report.html import write_report
    from branchkpi.warehouse.engine import connect

    data = report.gather(connect(shared_reported), "35", 2020, quarter=1)
    assert data.stats.filter(pl.col("fiscal_year") == 2020)["month"].unique().sort().to_list() == [4, 5, 6]
    written = write_report(data, tmp_path, lang="en")
    text = page_text(browser, written.html)
    assert "Yamaguchi branch FY2020 Business plan progress (Q1)" in text
    assert "Basic functions" in text and "Deviation score" in text and "Apr" in text
    assert "令和" not in text and "前年同月比" not in text and "未達成" not in text
    table = browser.find_element("css selector", "table.stat-table")
    months = [th.text for th in table.find_elements("css selector", "tbody th")]
    assert months[:3] == ["Apr", "May", "Jun"] and months[3] in ("FY total (to Q1)", "FY average (to Q1)")
    assert len(months) == 4


# every column of the embedded KPI table on screen, each wide enough to read, no cell cut
COLUMNS_SHOWN = """
const table = document.querySelector('table.branch-report-kpis');
if (!table) return null;
const box = table.closest('.artifact-data-markdown') || table.parentElement;
const edge = Math.min(document.documentElement.clientWidth, box.getBoundingClientRect().right);
const heads = [...table.querySelectorAll('th')].map(th => {
  const r = th.getBoundingClientRect();
  return {text: th.textContent, left: r.left, right: r.right};
});
const cut = [...table.querySelectorAll('td')].filter(td => td.scrollWidth > td.clientWidth + 1).length;
return {heads, edge, cut};
"""


def test_evaluate_and_monthly_runs_attach_the_report(
    reported: str, monkeypatch: pytest.MonkeyPatch, prefect_stack: PrefectStack, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from branchkpi.flows.evaluate_targets import evaluate_targets
    from branchkpi.flows.monthly_branch_stats import monthly_branch_stats

    state = evaluate_targets(fiscal_year=2020, unit_keys=["35"], return_state=True)
    assert state.is_completed(), state.message
    run_id = state.state_details.flow_run_id
    found = artifacts(run_id)
    link, page = found["branch-report-yamaguchi"], found["branch-report-page-yamaguchi"]
    # the link goes to the report's page in the UI (http, which the browser opens), not to file://
    page_url = f"{prefect_stack.ui_url}/artifacts/artifact/{page['id']}"
    assert link["data"] == f"[山口 令和2年度 事業実績]({page_url})" and "file://" not in link["data"]
    path = Path(link["description"].split("File: ", 1)[1].split(";", 1)[0])  # the files, for this machine
    assert path.exists() and path.parent.name == "FY2020" and path.name == "yamaguchi_FY2020_ja.html"
    assert path.with_suffix(".xlsx").is_file() and str(path.with_suffix(".xlsx")) in link["description"]
    # the report's content on the page: the KPI table with marks and the charts
    assert page["type"] == "markdown" and page["data"].startswith("# 山口 令和2年度 事業実績")
    card = re.search(r'<tr data-status="missed">(<td[^>]*>保険証回収率</td>.*?)</tr>', page["data"])
    assert card and re.findall(r"<td[^>]*>([^<]*)</td>", card[1])[:4] == ["保険証回収率", "95.82%", "×", "96.30%以上"]
    assert "○ 13　× 13" in page["data"]
    assert page["data"].count("](data:image/png;base64,") == 6  # the six 月報 charts, embedded
    assert path.name in page["data"]

    # as an officer opens it: the run's Artifacts tab, the link's card, the link clicked
    wait = WebDriverWait(browser, 60)

    def visible(css: str) -> Any:
        return wait.until(lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()), False))

    def clickable_text(text: str) -> Any:
        xpath = f"//*[self::a or self::button or @role='tab' or self::li or self::div][normalize-space()='{text}']"
        return wait.until(lambda d: next((e for e in d.find_elements(By.XPATH, xpath) if e.is_displayed()), False))

    browser.set_window_size(1400, 1000)
    browser.get(f"{prefect_stack.ui_url}/runs/flow-run/{run_id}")
    wait.until(lambda d: "evaluate-FY2020-yamaguchi" in d.find_element(By.TAG_NAME, "body").text)
    clickable_text("Artifacts").click()
    wait.until(lambda d: "branch-report-yamaguchi" in d.find_element(By.TAG_NAME, "body").text)
    before = set(browser.window_handles)
    anchor = f"a[href='{page_url}']"
    links = [e for e in browser.find_elements(By.CSS_SELECTOR, anchor) if e.is_displayed()]
    if links:  # the tab shows the link artifact's content
        links[0].click()
    else:  # its card, then the link on the artifact's page
        clickable_text("branch-report-yamaguchi").click()
        visible(anchor).click()
    wait.until(lambda d: len(d.window_handles) > len(before) or page["id"] in d.current_url)
    opened = [h for h in browser.window_handles if h not in before]
    if opened:  # Prefect opens a markdown link in a new tab
        browser.switch_to.window(opened[0])
    assert browser.current_url == page_url
    wait.until(lambda d: "保険証回収率" in d.find_element(By.TAG_NAME, "body").text)
    drawn = "return [...document.images].filter(i => i.src.startsWith('data:image/png') && i.naturalWidth > 0).length"
    wait.until(lambda d: d.execute_script(drawn) == 6)
    shown = wait.until(lambda d: d.execute_script(COLUMNS_SHOWN))
    assert [h["text"] for h in shown["heads"]] == ["KPI", "実績", "判定", "目標", "前年度実績", "状況", "理由"]
    assert all(h["right"] <= shown["edge"] + 1 and h["right"] - h["left"] > 20 for h in shown["heads"]), shown
    assert shown["cut"] == 0, shown  # every cell's text wraps inside its cell
    assert "実績 95.82% は目標 96.30% 以上に届かず" in browser.find_element(By.TAG_NAME, "body").text
    (ROOT / "var" / "ui").mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ROOT / "var" / "ui" / "report-on-the-run-page.png"))
    if opened:
        browser.close()
        browser.switch_to.window(next(iter(before)))

    monkeypatch.setenv("BRANCHKPI_REPORT_BRANCHES", "yamaguchi")
    state = monthly_branch_stats(period="2020-06", paths=[str(SEED / "branch_monthly_stats.csv")], return_state=True)
    assert state.is_completed(), state.message
    link = artifacts(state.state_details.flow_run_id)["branch-report-yamaguchi"]
    assert "令和2年度 事業計画実施状況（第1四半期）" in link["data"] and "/artifacts/artifact/" in link["data"]
    page = artifacts(state.state_details.flow_run_id)["branch-report-page-yamaguchi"]["data"]
    assert "令和2年度 事業計画実施状況（第1四半期）" in page and "](data:image/png;base64," in page


def test_the_cli_answers_first_and_its_report_follows(reported: str, prefect_server: str, bk_home: Path) -> None:
    """`branchkpi evaluate --branch` prints its table; a process of its own then writes the branch
    report and attaches it to the run (flows/reports.py), seconds later."""
    import os
    import subprocess
    import sys
    import time
    from datetime import UTC, datetime

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName, FlowRunFilterStartTime
    from prefect.client.schemas.sorting import FlowRunSort

    started = datetime.now(UTC)
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    command = ["evaluate", "--branch", "yamaguchi", "--fiscal-year", "2020", "--force", "--format", "json"]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("branchkpi")), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"kpi_id"' in done.stdout
    runs_filter = FlowRunFilter(
        name=FlowRunFilterName(any_=["evaluate-FY2020-yamaguchi"]), start_time=FlowRunFilterStartTime(after_=started)
    )
    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(flow_run_filter=runs_filter, sort=FlowRunSort.START_TIME_DESC, limit=1)
    deadline, found = time.monotonic() + 120, {}
    while time.monotonic() < deadline:
        found = artifacts(run.id)
        if {"branch-report-yamaguchi", "branch-report-page-yamaguchi"} <= set(found):
            break
        time.sleep(1)
    assert "山口 令和2年度 事業実績" in found["branch-report-yamaguchi"]["data"]
    assert found["branch-report-page-yamaguchi"]["data"].startswith("# 山口 令和2年度 事業実績")
    assert (bk_home / "reports" / "FY2020" / "yamaguchi_FY2020_ja.html").is_file()
    assert "1 report(s) attached" in (bk_home / "logs" / "reports.log").read_text(encoding="utf-8")


def test_data_is_escaped_not_run(reported: str, tmp_path: Path) -> None:
    """A KPI text holding markup is shown as text."""
    import sqlalchemy as sa

    from branchkpi.tasks.report import gather as report
    from branchkpi.tasks.report.html import write_report
    from branchkpi.warehouse import schema
    from branchkpi.warehouse.engine import connect

    engine = connect(reported)
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.kpi_targets)
            .where(schema.kpi_targets.c.unit_key == "35", schema.kpi_targets.c.fiscal_year == 2020)
            .values(kpi_text_ja="<script>alert(1)</script>&")
        )
    html = write_report(report.gather(engine, "yamaguchi", 2020), tmp_path).html.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in html


def test_unknown_branch_and_empty_warehouse_are_clear_errors(warehouse_url: str) -> None:
    from branchkpi.tasks.report import gather as report
    from branchkpi.warehouse.engine import connect

    with pytest.raises(report.ReportError, match="not a branch"):
        report.gather(connect(warehouse_url), "atlantis", 2020)
    with pytest.raises(report.ReportError, match="nothing for yamaguchi"):
        report.gather(connect(warehouse_url), "yamaguchi", 2020)
