# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Each creates .venv when missing and installs the locked set when the lock changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip --disable-pip-version-check
# nbgrader runs the `alembic` command (from the venv) when it creates a gradebook: without
# .venv/bin on PATH `make release`/`make test` fail with FileNotFoundError: 'alembic'.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Touched after a successful install; older than a lock file means "install again".
INSTALLED := $(VENV)/.installed

.PHONY: help venv demo test lint release lab lab-instructor bench clean

help:
	@echo "make demo            run the course end to end (creates .venv on first use)"
	@echo "make test            ruff + the whole test suite"
	@echo "make lab             JupyterLab on notebooks/ (students)"
	@echo "make lab-instructor  JupyterLab with nbgrader's formgrader on autograding/"
	@echo "make release         regenerate notebooks/ from the masters in autograding/source/"
	@echo "make bench           grader vs plain nbgrader autograde, side by side"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): $(PY) requirements.lock requirements-nodeps.lock pyproject.toml
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -r requirements-nodeps.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

venv: $(INSTALLED)

demo: $(INSTALLED)
	$(PY) -m autograding demo

test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .

release: $(INSTALLED)
	$(PY) -m autograding release

# Extra JupyterLab options, e.g. make lab LAB_ARGS="--no-browser --port=8899".
# Running as root (containers, CI) JupyterLab refuses to start without --allow-root.
LAB_ARGS ?=
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# Students: the released notebooks; nbgrader's Lab extensions (Validate button, Assignments)
# come with the nbgrader package in the locked set.
lab: $(INSTALLED)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ROOT_FLAG) $(LAB_ARGS)

# Instructors: started inside autograding/ so the formgrader (Nbgrader > Formgrader, or
# /formgrader) reads autograding/nbgrader_config.py and lists the five assignments.
lab-instructor: $(INSTALLED)
	cd autograding && ../$(BIN)/jupyter lab $(LAB_ROOT_FLAG) $(LAB_ARGS)

bench: $(INSTALLED)
	$(PY) bench/bench_grading.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-out
