"""The domain, at the bottom of the house: regions (支部), fiscal years and eras (年度, 和暦), printed
numbers, the monthly metrics (月報), the KPI catalogue (事業計画 KPI), the target rules and findings.
Plain Python: nothing here imports another part of branchkpi, Prefect, GX or a database."""
