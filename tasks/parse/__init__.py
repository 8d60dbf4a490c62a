"""Parsers of landed files: statistics (files → tidy | published → observations) and KPI files
(kpi, kpi_cells), on safe reading of bytes (decoding) and workbooks (xlsx), with the cell conversions
they share (cells) and the batch-level loops (batch)."""
