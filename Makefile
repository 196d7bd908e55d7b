# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Each creates .venv when missing and installs the locked set when the lock changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip --disable-pip-version-check
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

lab: $(INSTALLED)
	$(BIN)/jupyter lab notebooks/

lab-instructor: $(INSTALLED)
	cd autograding && ../$(BIN)/jupyter lab

bench: $(INSTALLED)
	$(PY) bench/bench_grading.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-out
