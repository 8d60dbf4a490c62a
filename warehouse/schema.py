"""Warehouse schema (SQLAlchemy Core). The migrations in warehouse/migrations create and upgrade it;
a test checks that the migrated database equals this metadata.

Curated tables hold only data that passed the quality gate. Each value remembers the landed file it
came from; a replaced value is kept in `monthly_stats_audit` with its file and checksum.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

Double = sa.Float(precision=53)  # DOUBLE PRECISION on PostgreSQL, REAL on SQLite
Timestamp = sa.DateTime(timezone=True)

regions = sa.Table(
    "regions",
    metadata,
    sa.Column("code", sa.String(2), primary_key=True, comment="JIS X 0401 code; 00 = national (全国)"),
    sa.Column("name_ja", sa.String(16), nullable=False),
    sa.Column("name_romaji", sa.String(32), nullable=False, unique=True),
    sa.Column("is_national", sa.Boolean, nullable=False),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name_ja", sa.String(64), nullable=False),
    sa.Column("name_en", sa.String(128), nullable=False),
    sa.Column("unit", sa.String(32), nullable=False),
    sa.Column("aggregation", sa.String(8), nullable=False, comment="sum or mean over the fiscal year"),
    sa.Column("capped_by_national", sa.Boolean, nullable=False),
    sa.Column("derived", sa.Boolean, nullable=False),
)

ingest_batches = sa.Table(
    "ingest_batches",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Column("status", sa.String(16), nullable=False, comment="running, loaded, warned, failed, unchanged, abandoned"),
    sa.Column("flow_run_id", sa.String(36)),
    sa.Column("period", sa.String(16)),
    sa.Column("files", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_landed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_inserted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_replaced", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_unchanged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_quarantined", sa.Integer, nullable=False, server_default="0"),
    sa.Column("expectations_passed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("expectations_warned", sa.Integer, nullable=False, server_default="0"),
    sa.Column("expectations_failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("data_docs_path", sa.Text),
    sa.Column("message", sa.Text),
    sa.Column("runner", sa.String(255), comment="host:pid of the process that opened the batch"),
    sa.Column("sign_off", sa.String(16), comment="approved or rejected: a reviewer's answer to a warned batch"),
    sa.Column("reviewer", sa.String(128)),
    sa.Column("review_note", sa.Text),
    sa.Column("reviewed_at", Timestamp),
)

landed_files = sa.Table(
    "landed_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("file_name", sa.Text, nullable=False, comment="name as it arrived"),
    sa.Column("archive_path", sa.Text, nullable=False, comment="relative to the var folder"),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("landed_at", Timestamp, nullable=False),
    sa.Column("first_batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column(
        "loaded_batch_id",
        sa.String(36),
        sa.ForeignKey("ingest_batches.id"),
        comment="the batch that loaded it; NULL while it has never passed the gate",
    ),
)

_STAT_KEY = (
    sa.Column("region_code", sa.String(2), sa.ForeignKey("regions.code"), primary_key=True),
    sa.Column("metric", sa.String(64), sa.ForeignKey("metrics.id"), primary_key=True),
    sa.Column("fiscal_year", sa.Integer, primary_key=True),
)


def _key() -> list[sa.Column]:
    return [c._copy() for c in _STAT_KEY]


monthly_stats = sa.Table(
    "monthly_stats",
    metadata,
    *_key(),
    sa.Column("month", sa.SmallInteger, primary_key=True, comment="calendar month 1-12"),
    sa.Column("value", Double, nullable=False),
    sa.Column("yoy_pct_printed", Double, comment="前年同月比 as printed in the source, %"),
    sa.Column("source_file_id", sa.Integer, sa.ForeignKey("landed_files.id"), nullable=False),
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("loaded_at", Timestamp, nullable=False),
)

monthly_stats_audit = sa.Table(
    "monthly_stats_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("region_code", sa.String(2), nullable=False),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("fiscal_year", sa.Integer, nullable=False),
    sa.Column("month", sa.SmallInteger, nullable=False),
    sa.Column("previous_value", Double, nullable=False),
    sa.Column("previous_yoy_pct_printed", Double),
    sa.Column("previous_source_file_id", sa.Integer, sa.ForeignKey("landed_files.id"), nullable=False),
    sa.Column("previous_batch_id", sa.String(36), nullable=False),
    sa.Column("previous_loaded_at", Timestamp, nullable=False),
    sa.Column("new_value", Double, nullable=False),
    sa.Column("new_source_file_id", sa.Integer, sa.ForeignKey("landed_files.id"), nullable=False),
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("replaced_at", Timestamp, nullable=False),
    sa.Index("ix_monthly_stats_audit_key", "region_code", "metric", "fiscal_year", "month"),
)

reported_fiscal_year_totals = sa.Table(
    "reported_fiscal_year_totals",
    metadata,
    *_key(),
    sa.Column("value", Double, nullable=False, comment="合計 as printed"),
    sa.Column("yoy_pct_printed", Double, comment="前年比 of the totals as printed, %"),
    sa.Column("source_file_id", sa.Integer, sa.ForeignKey("landed_files.id"), nullable=False),
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("loaded_at", Timestamp, nullable=False),
)

quarantined_rows = sa.Table(
    "quarantined_rows",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("landed_files.id")),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("sheet_name", sa.Text, comment="the sheet of a workbook; NULL for a CSV"),
    sa.Column("source_row", sa.Integer, comment="row in the file as a spreadsheet numbers it; NULL = whole file"),
    sa.Column("column_name", sa.Text),
    sa.Column("value_text", sa.Text, comment="the cell as written"),
    sa.Column("rule", sa.String(128), nullable=False, comment="expectation or parse rule that failed"),
    sa.Column("severity", sa.String(16), nullable=False, comment="critical or warning"),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("quarantined_at", Timestamp, nullable=False),
    sa.Index("ix_quarantined_rows_batch", "batch_id"),
)

monthly_kpis = sa.Table(
    "monthly_kpis",
    metadata,
    *_key(),
    sa.Column("month", sa.SmallInteger, primary_key=True),
    sa.Column("value", Double, nullable=False),
    sa.Column("prev_year_value", Double),
    sa.Column("yoy_pct", Double, comment="前年同月比, %"),
    sa.Column("fytd_months", sa.SmallInteger, nullable=False),
    sa.Column("fytd_total", Double, nullable=False, comment="年度累計"),
    sa.Column("fytd_average", Double, nullable=False),
    sa.Column("fytd_yoy_pct", Double, comment="fiscal-year-to-date vs the same months a year before, %"),
    sa.Column("national_value", Double),
    sa.Column("share_of_national_pct", Double),
    sa.Column("computed_at", Timestamp, nullable=False),
)

fiscal_year_kpis = sa.Table(
    "fiscal_year_kpis",
    metadata,
    *_key(),
    sa.Column("months", sa.SmallInteger, nullable=False),
    sa.Column("complete", sa.Boolean, nullable=False, comment="all 12 months present"),
    sa.Column("total", Double, nullable=False, comment="合計"),
    sa.Column("average", Double, nullable=False),
    sa.Column("value", Double, nullable=False, comment="total or average, by the metric's aggregation"),
    sa.Column("prev_year_value", Double),
    sa.Column("yoy_pct", Double, comment="前年比 of the fiscal-year figure, %"),
    sa.Column("share_of_national_pct", Double),
    sa.Column("computed_at", Timestamp, nullable=False),
)

# --- KPI targets, actuals and evaluations (事業計画 KPI) -----------------------------------------

reporting_units = sa.Table(
    "reporting_units",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True, comment="35 = a branch (JIS code); 33:倉敷市 = a municipality"),
    sa.Column("kind", sa.String(16), nullable=False, comment="branch, national or municipality"),
    sa.Column("name_ja", sa.String(64), nullable=False),
    sa.Column("name_romaji", sa.String(64)),
    sa.Column("prefecture_code", sa.String(2), sa.ForeignKey("regions.code"), nullable=False),
    sa.Column("target_setting", sa.String(16), comment="set / not_set (【未設定】) as the unit reports it"),
    sa.Column("note_ja", sa.Text),
)

kpi_targets = sa.Table(
    "kpi_targets",
    metadata,
    sa.Column("unit_key", sa.String(64), sa.ForeignKey("reporting_units.key"), primary_key=True),
    sa.Column("fiscal_year", sa.Integer, primary_key=True),
    sa.Column("kpi_id", sa.String(64), primary_key=True),
    sa.Column("comparator", sa.String(32), nullable=False),
    sa.Column("target_value", Double),
    sa.Column("unit", sa.String(8), nullable=False, comment="pct, count or yen"),
    sa.Column("target_text", sa.Text, comment="the target as printed, e.g. 94.5%以上"),
    sa.Column("kpi_text_ja", sa.Text),
    sa.Column("target_note", sa.Text),
    sa.Column("organization", sa.String(64)),
    sa.Column("source_file_id", sa.Integer, sa.ForeignKey("landed_files.id"), nullable=False),
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("loaded_at", Timestamp, nullable=False),
)

kpi_actuals = sa.Table(
    "kpi_actuals",
    metadata,
    sa.Column("unit_key", sa.String(64), sa.ForeignKey("reporting_units.key"), primary_key=True),
    sa.Column("fiscal_year", sa.Integer, primary_key=True),
    sa.Column("period", sa.String(8), primary_key=True, comment="FY, Q1-Q4 or YYYY-MM"),
    sa.Column("kpi_id", sa.String(64), primary_key=True),
    sa.Column("value", Double, nullable=False),
    sa.Column("unit", sa.String(8), nullable=False),
    sa.Column("as_of", sa.Text, comment="date as printed"),
    sa.Column("note", sa.Text),
    sa.Column("source_file_id", sa.Integer, sa.ForeignKey("landed_files.id"), nullable=False),
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("loaded_at", Timestamp, nullable=False),
)

# Where each target sits in its plan as printed (分野 → 項目 → 小項目): the status reports print one mark
# per item or sub-item, so an evaluation relates each KPI's mark to the item's (docs/kpi-evaluation.md).
kpi_plan_structure = sa.Table(
    "kpi_plan_structure",
    metadata,
    sa.Column("unit_key", sa.String(64), sa.ForeignKey("reporting_units.key"), primary_key=True),
    sa.Column("fiscal_year", sa.Integer, primary_key=True),
    sa.Column("kpi_id", sa.String(64), primary_key=True),
    sa.Column("group_ja", sa.Text, nullable=False, comment="分野, the field of the plan, as printed"),
    sa.Column("item_no", sa.String(16), comment="the item number as printed (empty: not numbered)"),
    sa.Column("item_ja", sa.Text, nullable=False, comment="項目, the numbered item, as printed"),
    sa.Column("sub_item_no", sa.String(16), comment="(1), ①: the sub-item number as printed"),
    sa.Column("sub_item_ja", sa.Text, comment="小項目, as printed (NULL: the KPI sits at item level)"),
    sa.Column("position", sa.Integer, comment="the order of the plan as printed: the row of its file"),
    sa.Column("note", sa.Text),
    sa.Column("source_file_id", sa.Integer, sa.ForeignKey("landed_files.id"), nullable=False),
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("loaded_at", Timestamp, nullable=False),
)

kpi_audit = sa.Table(
    "kpi_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("table_name", sa.String(32), nullable=False),
    sa.Column("row_key", sa.Text, nullable=False, comment="the replaced row's key, JSON"),
    sa.Column("previous", sa.Text, nullable=False, comment="the replaced values, JSON"),
    sa.Column("new", sa.Text, nullable=False),
    sa.Column("previous_source_file_id", sa.Integer, sa.ForeignKey("landed_files.id"), nullable=False),
    sa.Column("new_source_file_id", sa.Integer, sa.ForeignKey("landed_files.id"), nullable=False),
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("replaced_at", Timestamp, nullable=False),
)

evaluation_runs = sa.Table(
    "evaluation_runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("flow_run_id", sa.String(36)),
    sa.Column("fiscal_year", sa.Integer, nullable=False),
    sa.Column("quarter", sa.SmallInteger, comment="NULL = the closed fiscal year"),
    sa.Column("scope", sa.Text, comment="the reporting units evaluated"),
    sa.Column("evaluated", sa.Integer, nullable=False),
    sa.Column("achieved", sa.Integer, nullable=False),
    sa.Column("missed", sa.Integer, nullable=False),
    sa.Column("on_track", sa.Integer, nullable=False),
    sa.Column("at_risk", sa.Integer, nullable=False),
    sa.Column("not_evaluable", sa.Integer, nullable=False),
    sa.Column(
        "inputs_digest",
        sa.String(64),
        comment="sha256 of what the run read (targets, actuals, units, rules); an equal digest means nothing changed",
    ),
    sa.Index("ix_evaluation_runs_reuse", "fiscal_year", "inputs_digest"),
)

kpi_evaluations = sa.Table(
    "kpi_evaluations",
    metadata,
    sa.Column("run_id", sa.String(36), sa.ForeignKey("evaluation_runs.id"), primary_key=True),
    sa.Column("unit_key", sa.String(64), sa.ForeignKey("reporting_units.key"), primary_key=True),
    sa.Column("kpi_id", sa.String(64), primary_key=True),
    sa.Column("fiscal_year", sa.Integer, nullable=False),
    sa.Column("period", sa.String(8), nullable=False, comment="FY or Q1-Q4"),
    sa.Column("comparator", sa.String(32), nullable=False),
    sa.Column("target_value", Double),
    sa.Column("unit", sa.String(8), nullable=False),
    sa.Column("actual", Double),
    sa.Column("actual_period", sa.String(8)),
    sa.Column("previous", Double),
    sa.Column("previous_period", sa.String(8)),
    sa.Column("threshold", Double, comment="what the actual was compared with"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("mark", sa.String(2), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("inputs", sa.Text, nullable=False, comment="JSON of every input, to explain a changed mark"),
    sa.Column("group_ja", sa.Text),
    sa.Column("item_no", sa.String(16)),
    sa.Column("item_ja", sa.Text),
    sa.Column("sub_item_no", sa.String(16)),
    sa.Column("sub_item_ja", sa.Text),
    sa.Column("item_mark", sa.String(2), comment="the mark printed for the smallest item or sub-item holding the KPI"),
    sa.Column("position", sa.Integer),
    sa.Column("reason_ja", sa.Text, comment="the reason in Japanese (reason: in English)"),
)

backfill_log = sa.Table(
    "backfill_log",
    metadata,
    sa.Column("fiscal_year", sa.Integer, primary_key=True),
    sa.Column("scope", sa.String(256), primary_key=True, comment="the branches backfilled, or 'all'"),
    sa.Column("files_digest", sa.String(64), primary_key=True, comment="sha256 over the source files' sha256s"),
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("rows_loaded", sa.Integer, nullable=False),
    sa.Column("completed_at", Timestamp, nullable=False),
)

overdue_announcements = sa.Table(
    "overdue_announcements",
    metadata,
    sa.Column("kind", sa.String(8), primary_key=True, comment="stats or kpi"),
    sa.Column("unit", sa.String(64), primary_key=True, comment="romaji, national or a municipality's unit key"),
    sa.Column("fiscal_year", sa.Integer, primary_key=True),
    sa.Column("period", sa.String(8), primary_key=True, comment="2020-04 for a month; Q1-Q4 or FY"),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("announced_at", Timestamp, nullable=False, comment="when branchkpi.data.overdue was emitted"),
    sa.Column("arrived_at", Timestamp, comment="when branchkpi.data.arrived-late was emitted"),
    sa.Column("flow_run_id", sa.String(36), comment="the freshness run that announced it"),
)

# The grid cells a refused batch would have filled: its rows are quarantined, so the coverage grid shows
# 隔 (quarantined) there rather than 未着 (missing) until a good copy loads.
refused_cells = sa.Table(
    "refused_cells",
    metadata,
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True, comment="stats or kpi"),
    sa.Column("unit", sa.String(64), primary_key=True, comment="romaji, national or a municipality's unit key"),
    sa.Column("fiscal_year", sa.Integer, primary_key=True),
    sa.Column("period", sa.String(8), primary_key=True, comment="2020-04 for a month; Q1-Q4 or FY"),
)

# NHI initiative uptake (取組状況 N/M市町村): how many of a prefecture's municipalities took up each
# initiative of its NHI plan, as the prefecture prints it. The unit is the prefecture (its JIS code, the
# same reporting unit its municipalities' keys start with: 33 → 33:倉敷市).
initiative_uptake = sa.Table(
    "initiative_uptake",
    metadata,
    sa.Column(
        "unit_key",
        sa.String(64),
        sa.ForeignKey("reporting_units.key"),
        primary_key=True,
        comment="the prefecture (JIS code), told by the file's name",
    ),
    sa.Column("fiscal_year", sa.Integer, primary_key=True),
    sa.Column("section_ja", sa.Text, primary_key=True, comment="the nearest heading of the plan, as printed"),
    sa.Column("label_ja", sa.Text, primary_key=True, comment="取組状況 or 目標設定状況, as printed"),
    sa.Column("adopted", sa.Integer, nullable=False, comment="N of N/M市町村: municipalities that took it up"),
    sa.Column("total", sa.Integer, nullable=False, comment="M of N/M市町村: municipalities it applies to"),
    sa.Column("pct_printed", Double, comment="the printed （P%）, at its printed precision"),
    sa.Column("note", sa.Text),
    sa.Column("position", sa.Integer, nullable=False, comment="the row in its file: the order the prefecture prints"),
    sa.Column("source_file_id", sa.Integer, sa.ForeignKey("landed_files.id"), nullable=False),
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("loaded_at", Timestamp, nullable=False),
)
