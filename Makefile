# Podyard developer and CI entry points (GNU make).
#
#   make setup       Docker engine + host tools, virtualenv, local images
#   make lint        ruff, mypy (strict, config in pyproject.toml), import-linter
#   make test        setup, lint, then every test suite (PYTEST_ARGS passed through);
#                    the fault suite (tests/faults): 30 controller kills, a 30 s engine
#                    freeze, 30 s behind a faulty socket, three engine restarts
#   make faults      the fault suite alone (PODYARD_FAULTS_SEED=N replays a run)
#   make faults-long the fault suite as a soak: 100 kills, a 60 s freeze, 120 s behind the
#                    faulty socket
#   make run         run the controller on ./manifests (RUN_ARGS passed through)
#   make bench       benchmarks: start-up at 200 and 500 pods beside Compose and podman (hours),
#                    folder latency, a node's death, idling, the API at 1,000 pods, the decide
#                    core at 10,000 pods
#   make clean       remove the virtualenv and tool caches
#   make clean-pods  remove every container and pod volume that Podyard labelled, and the engine
#                    lease; PersistentVolumeClaims' volumes (label io.podyard.pvc) and their data stay

VENV ?= .venv
PY ?= python3
DOCKER ?= docker
PYTEST_ARGS ?=
RUN_ARGS ?=
# `make run` uses the locally built sandbox image, so it never reaches for a registry.
PAUSE_IMAGE ?= localhost/podyard-pause:1
BENCH_ARGS ?=

BIN := $(VENV)/bin
# Touched after a successful `pip install`; reinstall only when pyproject.toml is newer.
STAMP := $(VENV)/.podyard-installed
BUILD_IMAGES ?= $(BIN)/podyard images build --demo
LINT_PATHS := $(wildcard controller tests bench)
POD_LABEL := io.podyard.pod.uid
LEASE_LABEL := io.podyard.lease

.DEFAULT_GOAL := test
.DELETE_ON_ERROR:
.PHONY: setup docker-engine deps lint test faults faults-long run bench clean clean-pods

setup: docker-engine deps
	$(BUILD_IMAGES)

docker-engine:
	bash scripts/ensure-docker.sh

deps: $(STAMP)

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

lint: deps
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/pytest $(PYTEST_ARGS)

faults: setup
	$(BIN)/pytest tests/faults $(PYTEST_ARGS)

faults-long: setup
	PODYARD_FAULTS=long $(BIN)/pytest tests/faults $(PYTEST_ARGS)

run: setup
	exec $(BIN)/podyard run --manifests manifests --pause-image $(PAUSE_IMAGE) $(RUN_ARGS)

bench: setup
	$(BIN)/python bench/startup.py $(BENCH_ARGS)
	$(BIN)/python bench/api_scale.py
	$(BIN)/python bench/decide_scale.py
	$(BIN)/python bench/folder_latency.py
	$(BIN)/python bench/node_death.py --pods 30
	$(BIN)/python bench/idle.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache \
		build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

clean-pods:
	$(DOCKER) ps -aq --filter label=$(POD_LABEL) | xargs -r $(DOCKER) rm -f
	$(DOCKER) volume ls -q --filter label=$(POD_LABEL) | xargs -r $(DOCKER) volume rm -f
	$(DOCKER) ps -aq --filter label=$(LEASE_LABEL) | xargs -r $(DOCKER) rm -f
