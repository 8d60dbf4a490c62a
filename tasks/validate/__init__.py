"""The quality gate: validation frames per kind of data (statistics, kpi) and the GX engine (gx)."""
