# One entry point for people and CI. Each target makes its own virtualenv in .venv.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export PYTHON := $(abspath $(PY))
export PYTEST_ARGS

.PHONY: demo serve test test-embedded bench servers-up servers-down lint clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

## Start the whole system on the embedded default and play a scenario (DEMO_EXIT=1 exits after it).
demo: $(STAMP)
	$(VENV)/bin/goldenhour demo

serve: $(STAMP)
	$(VENV)/bin/goldenhour serve

## The whole suite: starts real Kafka and Cassandra (deploy/local), runs pytest (two workers,
## then the fault tests alone: tests/run-suite), stops them.
test: $(STAMP)
	deploy/local/with-servers tests/run-suite

## Only what needs no Java and no browser (embedded backends, unit tests).
test-embedded: $(STAMP)
	$(PY) -m pytest -m "not kafka and not cassandra and not e2e" $(PYTEST_ARGS)

## The fuzz tests with 10x the generated inputs of `make test`, randomized (profiles in
## tests/fuzz/conftest.py); a failure prints the seed and example to reproduce it.
.PHONY: fuzz-nightly
fuzz-nightly: $(STAMP)
	HYPOTHESIS_PROFILE=nightly $(PY) -m pytest tests/fuzz -o timeout=7200 $(PYTEST_ARGS)

## Every benchmark, on both backends; prints figures beside the raw limits. kcat (the C
## Kafka client) is the raw client limit's yardstick: installed if missing and apt can.
bench: $(STAMP)
	command -v kcat >/dev/null || (command -v apt-get >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat) || echo "bench: no kcat, its row is skipped"
	deploy/local/with-servers $(PY) -m bench.run_all

lint: $(STAMP)
	$(PY) -m pip install -q ruff mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy services stream_processors eventlog viewstore avro_schemas embedded

clean:
	rm -rf $(VENV) .local data
