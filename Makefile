# branchkpi: two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export BRANCHKPI_HOME ?= $(CURDIR)/var
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: install demo demo-steps stop test test-unit mutants lint typecheck check clean postgres-binaries browser fonts server bench mutants-kpi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job end to end on the SQLite warehouse under ./var, on the local Prefect server (started
## first, `branchkpi server start`; it keeps running so the runs stay in its UI: `make stop`): the real
## Yamaguchi and national statistics FY2017–FY2020 are dropped into var/landing, the monthly flow
## validates, loads and computes KPIs; the same figures in the published layout then ingest as
## "unchanged". Then the KPI plans and actuals (Gunma, Saitama, Yamaguchi, Okayama's municipalities)
## load, every target is evaluated, the branches are ranked on synthetic 47-branch actuals, and
## Yamaguchi's FY2020 report (HTML with charts, in Japanese) is written to var/reports. Interrupted,
## it stops the server it started.
demo: install fonts postgres-binaries
	@mkdir -p var && ($(BIN)/branchkpi server status >/dev/null || touch var/.demo-started-server)
	$(BIN)/branchkpi server start
	@trap '[ -f var/.demo-started-server ] && $(BIN)/branchkpi server stop; rm -f var/.demo-started-server; exit 130' INT TERM; \
	  $(MAKE) --no-print-directory demo-steps; rc=$$?; rm -f var/.demo-started-server; exit $$rc
	@echo "Prefect UI with the demo's runs: $$($(BIN)/branchkpi server status | head -n 1 | cut -d' ' -f2)   (make stop: stop the server)"

demo-steps:
	mkdir -p var/landing
	cp data/sample/seed/branch_monthly_stats.csv var/landing/
	$(BIN)/branchkpi run monthly --period 2021-03
	$(BIN)/branchkpi ingest data/sample/seed/monthly_report_layout data/sample/seed/branch_annual_totals.csv
	$(BIN)/branchkpi query monthly --region yamaguchi --fiscal-year 2020 --metric insurance_benefits --format table
	$(BIN)/branchkpi ingest data/sample/seed/kpi_plan_items.csv data/sample/seed/kpi_plan_structure.csv \
	  data/sample/seed/kpi_actuals.csv \
	  data/sample/seed/okayama_collection_rate_targets.csv data/sample/seed/okayama_collection_rate_notes.csv \
	  data/sample/seed/okayama_collection_rate_actuals.csv data/sample/seed/okayama_initiative_adoption.csv
	$(BIN)/branchkpi synth --fiscal-years 2019-2020 --out var/synthetic
	$(BIN)/branchkpi ingest var/synthetic/kpi_actuals_synthetic.csv
	$(BIN)/branchkpi evaluate --branch yamaguchi --fiscal-year 2020
	$(BIN)/branchkpi evaluate --branch saitama --fiscal-year 2017 --quarter 1
	$(BIN)/branchkpi evaluate --branch saitama --fiscal-year 2017 --quarter 1 --by item
	$(BIN)/branchkpi evaluate --municipality 倉敷市 --fiscal-year 2018
	$(BIN)/branchkpi initiatives --prefecture okayama --fiscal-year 2018
	$(BIN)/branchkpi evaluate --all
	$(BIN)/branchkpi rank --kpi lifestyle_checkup_rate --fiscal-year 2020 | head -n 12
	$(BIN)/branchkpi report --branch yamaguchi --fiscal-year 2020 --out var/reports
	$(BIN)/branchkpi report --branch yamaguchi --fiscal-year 2020 --format xlsx --out var/reports
	$(BIN)/branchkpi report --prefecture okayama --fiscal-year 2018 --out var/reports

## The suite starts its own PostgreSQL 15 (as the postgres user, on loopback), and the local Prefect
## server keeps its state in one of its own: the server binaries come from Debian's postgresql-15,
## installed here when the machine lacks them.
postgres-binaries:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null)

## The UI test drives Debian's Chromium through its chromedriver; the CJK fonts render Japanese.
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	     chromium chromium-driver fonts-noto-cjk >/dev/null)

## The report's charts print Japanese: Debian's Noto CJK fonts, installed here when the machine lacks them.
fonts:
	@fc-list :lang=ja 2>/dev/null | grep -q . || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk fontconfig >/dev/null)

## Every tier: unit, warehouse (SQLite and PostgreSQL), flows (a Prefect server), system (CLI, UI in
## Chromium, faults, security, hostile input, concurrency, schedules), on TEST_PROCESSES processes at
## once, each with its own PostgreSQL, Prefect stack and browser, a test file's tests together on one
## (docs/decisions.md, "The suite in twelve minutes"). Prints its wall time and the 15 slowest tests.
TEST_PROCESSES ?= 3
test: install postgres-binaries browser fonts
	@start=$$(date +%s); \
	  $(BIN)/python -m pytest -q -n $(TEST_PROCESSES) --dist loadfile --durations=15; rc=$$?; \
	  echo "make test: $$(( $$(date +%s) - start )) s wall, $(TEST_PROCESSES) processes"; exit $$rc

## The pure tier: no Prefect server, no PostgreSQL, no browser (under a minute).
test-unit: install
	$(BIN)/python -m pytest -q tests/unit

## Mutation testing of the statistics gate (issue 26): every mutant the seeded generator makes of the
## real series and the loadable fixtures, through the real parse and gate in-process, batched (about a
## minute). Prints mutants_caught=N/M originals_refused=K and what was caught per class; exit 1 unless
## every knowable mutant is caught and no original refused. The unit tier runs a fixed sample of 320.
## Then the KPI side (mutants-kpi below).
mutants: install
	$(BIN)/python -m tests.mutants
	$(BIN)/python -m tests.mutants.kpi

## A local Prefect server (UI on http://127.0.0.1:4200) with the deployments and one worker (the
## server `make demo` or `branchkpi server start` left running is used when there is one).
server: install postgres-binaries
	scripts/server.sh

## Stop the local server that `make demo`, `branchkpi server start` or `make server` started.
stop: install
	$(BIN)/branchkpi server stop

## The pipeline beside its bare floor on synthetic data (1, 4, 16 fiscal years; 1,741 municipalities);
## see docs/performance.md. About 3 minutes on 2 cores.
bench: install
	$(BIN)/python bench/run.py

## Mutation testing of the KPI files' gate: the seed's and the office-typed KPI files, each with the
## mistakes offices make (decimal point lost, a fraction for a percentage, KPIs swapped between neighbouring
## rows, the fiscal year one off in one of two places, a row twice with another figure), through the real
## parser and gate; prints mutants_caught=N/M originals_refused=K and per class. About a minute.
## (`make mutants` runs it after the statistics side.)
mutants-kpi: install
	$(BIN)/python -m tests.mutants.kpi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
