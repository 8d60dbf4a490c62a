"""The branch KPI report (事業実績 / 事業計画実施状況): gather (what it shows, from the warehouse),
charts (PNG, matplotlib), html (one self-contained file) and wording (Japanese and English labels)."""
