# branchkpi: two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export BRANCHKPI_HOME ?= $(CURDIR)/var
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: install demo test lint typecheck check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job end to end on the SQLite warehouse under ./var: the real Yamaguchi and national
## statistics FY2017–FY2020 are dropped into var/landing, the monthly flow validates, loads and
## computes KPIs; the same figures in the published layout then ingest as "unchanged".
demo: install
	mkdir -p var/landing
	cp data/sample/seed/branch_monthly_stats.csv var/landing/
	$(BIN)/branchkpi run monthly --period 2021-03
	$(BIN)/branchkpi ingest data/sample/seed/monthly_report_layout data/sample/seed/branch_annual_totals.csv
	$(BIN)/branchkpi query monthly --region yamaguchi --fiscal-year 2020 --metric insurance_benefits --format table

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
