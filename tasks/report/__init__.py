"""The branch KPI report (事業実績 / 事業計画実施状況): gather (what it shows, from the warehouse),
structure (the KPIs in the plan's fields, items and sub-items with their marks), tables (the 月報 tables
as numbers), figures and wording (the words, Japanese and English), charts (PNG, matplotlib), html (one
self-contained file) and xlsx (the Excel workbook)."""
