# shuangsuiji task runner. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SSJ    := $(VENV)/bin/ssj
SCALE  ?= 1m

.PHONY: install install-spark test-spark run test test-fast ui bench bench-ingest bench-draws bench-results clean

install: $(VENV)/.installed

# requirements.lock pins every package (tested together); pyproject.toml says what we need.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	touch $@

# the Spark engine's packages (pyspark: ~490 MB), only when asked: SSJ_ENGINE=spark, make test-spark
install-spark: $(VENV)/.installed-spark

$(VENV)/.installed-spark: $(VENV)/.installed
	$(PY) -m pip install -q -c requirements.lock -e '.[dev,spark]'
	touch $@

test-spark: install-spark  ## the Spark lane: the models built on DuckDB and on local Spark from the same raw files, rows compared
	SSJ_REQUIRE_SPARK=1 $(PY) -m pytest -q -m spark tests/integration/test_engines.py

run: install        ## generate a small sample into data/ and run the whole pipeline on it
	$(SSJ) demo

test: install       ## the test suite (what CI runs), after pyflakes' checks; "no tests collected" is a failure
	$(PY) -m ruff check --quiet --select F pipelines connectors tests benchmarks
	@$(PY) -m pytest -q -n 2 --dist loadfile --durations=15; code=$$?; \
	if [ $$code -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$code

test-fast: install  ## the quick lane: tests not marked slow/db/browser (unit, dbt unit tests), then one end-to-end run
	$(PY) -m pytest -q -n 2 -m "not slow and not db and not browser" tests/unit tests/integration/test_dbt_unit_tests.py
	$(PY) -m pytest -q -m "not db" tests/integration/test_ingest_e2e.py \
	  --deselect tests/integration/test_ingest_e2e.py::test_files_read_by_worker_processes_give_the_same_decisions_and_raw_files

ui: install         ## the Dagster web UI on the demo warehouse
	$(SSJ) ui --warehouse data/warehouse --landing data/sample/landing --agencies data/sample/agencies.yaml

bench: install       ## the whole pipeline vs the floor and Dagster's start-up, full and incremental: make bench SCALE=2k|10k|100k|200k|1m|10m
	$(PY) -m benchmarks.pipeline --scale $(SCALE)

bench-ingest: install  ## ingest throughput vs DuckDB alone, 1M-enterprise registration file
	$(PY) -m benchmarks.ingest --enterprises 1000000

bench-results: install  ## results resolved, deadlines and figures computed vs DuckDB alone: make bench-results SCALE=1m
	$(PY) -m benchmarks.results --scale $(SCALE)

bench-draws: install  ## the draw: 5 plans over a 1M-enterprise pool vs DuckDB's hashes and sort; enterprises coordination saves
	$(PY) -m benchmarks.draws --enterprises 1000000

clean:
	rm -rf data/warehouse data/sample .pytest_cache
