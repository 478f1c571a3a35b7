# Two commands matter: `make run` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

export DAGSTER_HOME := $(CURDIR)/dagster_home
export PATH := $(CURDIR)/$(BIN):$(PATH)
export DO_NOT_TRACK := 1
# VERBOSE=1 shows everything: pip's and the run's whole output.
PIP_QUIET := $(if $(filter 1 true yes,$(VERBOSE)),,-qq)

.PHONY: run test ui report docs manifest install spark readers lint format lock clean audit bench soak

# WAREHOUSE_ENGINE=spark builds the models on a local Spark session instead of DuckDB.
ENGINE_DEPS := $(if $(filter spark,$(WAREHOUSE_ENGINE)),spark)

run: install $(ENGINE_DEPS) ## Build the warehouse from the configured provider (default: the sample market)
	$(BIN)/python -m orchestration.run refresh_all_job

# Two workers (CI has two cores); a test file runs whole on one worker, so a module's
# fixtures are built once, and files marked `long` start first (xdist would otherwise
# order files by their number of tests, leaving the few long ones for the end). The
# slowest tests are listed at the end. PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
test: manifest lint readers spark ## Install everything and run the whole test suite
ifeq ($(PYTEST_WORKERS),0)
	$(BIN)/python -m pytest --durations=15
else
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15
endif

UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000
# orchestration.ui runs `dagster dev` and, on Ctrl-C or SIGTERM, stops every process it
# started within 10 s; `exec` leaves no shell between make and it to swallow SIGTERM.
ui: manifest ## The Dagster UI on http://127.0.0.1:3000 (UI_HOST, UI_PORT): lineage, runs, asset checks
	exec $(BIN)/python -m orchestration.ui -w workspace.yaml -h $(UI_HOST) -p $(UI_PORT)

report: install ## Re-render the HTML report from the serving file and print its path
	@$(BIN)/python -m serving.report

# The full size (3,000 pairs) takes longer than this target's 20 minutes on 2 cores; it is
# run on its own (`python -m bench --size full --out bench/full --e2e-repeat 0`) and shown
# beside these sizes when bench/full/results.json exists.
bench: install ## Benchmark at three sizes (+ the full size if measured); writes bench/results.md
	$(BIN)/python -m bench --size small --size medium --size large --e2e-repeat 2 \
		--out bench --merge bench/full/results.json

# 60 nightly refresh_all_job runs of the sample market with a reader on the serving file, then
# a fresh build to compare with (about 15 minutes on 2 cores); writes bench/soak/results.md.
soak: manifest ## Soak: 60 nightlies; file size, reader errors and marts against a fresh build
	$(BIN)/python -m bench.soak --nightlies 60 --out bench/soak

DOCS_WAREHOUSE := $(CURDIR)/data/docs/warehouse.duckdb
docs: manifest ## Regenerate docs/queries.md from a sample warehouse with a fixed end date
	rm -f $(DOCS_WAREHOUSE)
	WAREHOUSE_PATH=$(DOCS_WAREHOUSE) SAMPLE_END_DATE=2026-11-20 HISTORY_START=2015-01-01 \
		$(BIN)/python -m orchestration.run refresh_all_job
	$(BIN)/python docs/queries.py $(DOCS_WAREHOUSE)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version.split()[0] + " at $(PYTHON)")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_QUIET) --disable-pip-version-check --no-input -r requirements.lock
	$(BIN)/python -m pip install $(PIP_QUIET) --disable-pip-version-check --no-input --no-deps -e .
	$(BIN)/python -m orchestration.dbt_schemas
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## Create .venv and install the pinned dependencies

# The Spark engine's packages (pyspark, dbt-spark, a Java runtime), kept apart so that the
# DuckDB install stays small; the constraints keep every shared package at its pin.
SPARK_STAMP := $(VENV)/.spark-$(shell cat requirements-spark.lock requirements.lock | cksum | cut -d' ' -f1)

$(SPARK_STAMP): requirements-spark.lock requirements.lock | $(STAMP)
	$(BIN)/python -m pip install $(PIP_QUIET) --disable-pip-version-check --no-input \
		-r requirements-spark.lock -c requirements.lock
	rm -f $(VENV)/.spark-* && touch $@

spark: $(SPARK_STAMP) ## Install the Spark engine's packages into .venv (make test does)

# The older DuckDB and pyarrow that BI tools bundle, in an environment of their own, for
# the tests that open the serving file and the Parquet files as those tools would.
READERS := .venv-readers
READERS_STAMP := $(READERS)/.installed-$(shell cksum < tests/readers/requirements.txt | cut -d' ' -f1)

$(READERS_STAMP): tests/readers/requirements.txt
	$(PYTHON) -m venv $(READERS)
	$(READERS)/bin/python -m pip install $(PIP_QUIET) --disable-pip-version-check --no-input \
		-r tests/readers/requirements.txt
	rm -f $(READERS)/.installed-* && touch $@

readers: $(READERS_STAMP) ## The older readers' environment the serving tests use (.venv-readers)

# Parsed again only when a file of the dbt project changed, with the warehouse path a run
# passes to dbt: dbt keeps its partial parse only while the profile it was made with is
# unchanged, so the run's dbt step need not parse again.
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := dbt_project/dbt_project.yml dbt_project/profiles.yml \
	$(shell find dbt_project/models dbt_project/seeds dbt_project/macros dbt_project/tests -type f)

$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	@cd dbt_project && WAREHOUSE_PATH="$$(../$(BIN)/python -c 'from ingestion.config import \
		warehouse_path_from_env as p; print(p())')" ../$(BIN)/dbt parse --profiles-dir . --quiet
	@touch $@

manifest: $(MANIFEST) ## Parse the dbt project into target/manifest.json (Dagster reads it)

lint: install ## ruff: lint and formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: install ## Re-resolve requirements.lock from pyproject.toml
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev -p 3.11 --no-header --annotation-style line -o requirements.lock

audit: install ## pip-audit every pinned package of requirements.lock (needs the package index's JSON API)
	@$(BIN)/pip-audit --requirement requirements.lock --no-deps --strict --progress-spinner off \
		|| { echo "make audit: FAILED: a known vulnerability, or a package that could not be" \
			"checked (is the package index's JSON API reachable?); see above" >&2; \
			exit 1; }

clean: ## Remove the warehouse, run history and build output (keeps .venv)
	rm -rf data dbt_project/target dbt_project/logs dbt_project/target_* dbt_project/logs_* \
		.pytest_cache .ruff_cache
	find dagster_home -mindepth 1 ! -name dagster.yaml -exec rm -rf {} +
