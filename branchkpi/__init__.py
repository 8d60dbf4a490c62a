"""branchkpi: monthly branch statistics (月報) and KPI pipeline for Japanese health insurers."""

__version__ = "0.1.0"
