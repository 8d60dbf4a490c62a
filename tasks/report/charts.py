"""The report's charts as PNG images (matplotlib, no display): one per monthly metric, the branch's
fiscal years month by month with the report year's 前年同月比 as bars, beside the national series.

Japanese labels need a CJK font: `make demo` / `make test` install Debian's fonts-noto-cjk, and the
charts use Noto Sans CJK JP. Without it matplotlib would draw tofu boxes, so `cjk_font()` says so
loudly instead (ReportFontMissing) and the CLI tells the user how to install it."""

from __future__ import annotations

import io
import threading
from functools import cache
from typing import Any

import polars as pl

from branchkpi.domain import figures, metrics, regions
from branchkpi.tasks.report.wording import Labels

CJK_FAMILIES = ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "TakaoGothic")
_PLOT_LOCK = threading.Lock()  # pyplot's state is global: one chart at a time per process
# the report year is drawn strongest; earlier years lighter (colour-blind safe blues and a grey)
YEAR_COLOURS = ("#9e9e9e", "#6baed6", "#08519c")
YOY_COLOUR = "#fd8d3c"


class ReportFontMissing(RuntimeError):
    """No Japanese font: the charts would show boxes instead of text."""


@cache
def cjk_font() -> str:
    """The family name of an installed Japanese font."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in installed:
            return family
    # a font installed after matplotlib built its cache: look on disk once
    for path in font_manager.findSystemFonts():
        if "NotoSansCJK" in path or "ipaexg" in path.lower():
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    raise ReportFontMissing(
        "no Japanese font is installed, so chart labels would be empty boxes: install Debian's "
        "fonts-noto-cjk (make fonts)"
    )


def metric_chart(
    stats: pl.DataFrame,
    metric: metrics.Metric,
    years: list[int],
    months: tuple[int, ...],
    branch_label: str,
    labels: Labels,
) -> bytes:
    """PNG of one metric: the branch (left, with YoY bars) and the nation (right)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    family = cjk_font()
    with _PLOT_LOCK, plt.rc_context({"font.family": [family, "DejaVu Sans"], "axes.unicode_minus": False}):
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), dpi=100, sharey=False)
        try:
            x = list(range(len(months)))
            month_names = [labels.month(m) for m in months]
            for ax, code, title in (
                (axes[0], None, branch_label),
                (axes[1], regions.NATIONAL_CODE, labels["national"]),
            ):
                frame = stats.filter(pl.col("metric") == metric.id)
                frame = (
                    frame.filter(pl.col("region_code") == regions.NATIONAL_CODE)
                    if code
                    else frame.filter(pl.col("region_code") != regions.NATIONAL_CODE)
                )
                for year, colour in zip(years, YEAR_COLOURS[-len(years) :], strict=False):
                    series = _series(frame, year, months, "value")
                    if any(v is not None for v in series):
                        ax.plot(
                            x,
                            [float("nan") if v is None else v for v in series],
                            marker="o",
                            markersize=3,
                            linewidth=2.2 if year == years[-1] else 1.2,
                            color=colour,
                            label=labels.fiscal_year(year),
                        )
                ax.set_title(f"{title}  {metric_label(metric, labels)}", fontsize=10)
                ax.set_xticks(x, month_names, fontsize=8)
                ax.tick_params(axis="y", labelsize=8)
                ax.grid(axis="y", alpha=0.3)
                ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: f"{v:,.0f}"))
                ax.set_ylabel(axis_unit(metric, labels), fontsize=8)
                yoy = _series(frame, years[-1], months, "yoy_pct")
                handles, names = ax.get_legend_handles_labels()
                if any(v is not None for v in yoy):
                    twin = ax.twinx()
                    twin.bar(
                        x,
                        [0 if v is None else v for v in yoy],
                        width=0.5,
                        alpha=0.35,
                        color=YOY_COLOUR,
                        label=f"{labels['yoy']} (%)",
                    )
                    twin.axhline(0, color=YOY_COLOUR, linewidth=0.6)
                    twin.tick_params(axis="y", labelsize=7, colors=YOY_COLOUR)
                    twin.set_ylabel(f"{labels['yoy']} (%)", fontsize=7, color=YOY_COLOUR)
                    _lower_twin(ax, twin)
                    more, more_names = twin.get_legend_handles_labels()
                    handles, names = (
                        handles + more,
                        names + [f"{n} {labels.fiscal_year(years[-1])}" for n in more_names],
                    )
                if handles:
                    ax.legend(handles, names, fontsize=7, loc="upper left", frameon=False)
            fig.tight_layout()
            out = io.BytesIO()
            fig.savefig(out, format="png")
            return out.getvalue()
        finally:
            plt.close(fig)


def metric_label(metric: metrics.Metric, labels: Labels) -> str:
    return metric.name_ja if labels.lang == "ja" else metric.name_en


def axis_unit(metric: metrics.Metric, labels: Labels) -> str:
    """The value axis' unit, as the 月報 heads its tables: （人）, （百万円）; (persons) in English."""
    return labels.unit(figures.metric_unit(metric.id, labels.lang)).strip()


def _series(frame: pl.DataFrame, year: int, months: tuple[int, ...], column: str) -> list[Any]:
    by_month = dict(frame.filter(pl.col("fiscal_year") == year).select("month", column).iter_rows())
    return [by_month.get(m) for m in months]


def _lower_twin(ax: Any, twin: Any) -> None:
    """Lines over bars: the twin (bars) axis is drawn under the main one."""
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
