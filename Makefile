# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Each creates .venv when missing and installs the locked set when the lock changed.
# The Python that creates .venv: CPython 3.10-3.13 (requirements.lock's markers cover each).
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
, := ,

.PHONY: help venv demo test lint release lab lab-instructor bench clean

help:
	@echo "make demo            run the course end to end (creates .venv on first use)"
	@echo "make test            ruff + the whole test suite"
	@echo "make lab             JupyterLab on notebooks/ (students)"
	@echo "make lab-instructor  JupyterLab with nbgrader's formgrader on autograding/"
	@echo "make release         regenerate notebooks/ from the masters in autograding/source/"
	@echo "make bench           grader vs plain nbgrader autograde, side by side"

# Where torch comes from: the lock's --extra-index-url, PyTorch's CPU wheel index. A CUDA build:
# `make TORCH_INDEX=https://download.pytorch.org/whl/cuXYZ` (pytorch.org's selector names the
# index); `make TORCH_INDEX=` takes PyPI's build (CUDA on Linux x86_64, several GB).
TORCH_INDEX ?= $(shell sed -n 's/^--extra-index-url[= ]*//p' requirements.lock)
# Only torch is looked up there: pip retries an unreachable index five times for every package
# (about 8 s each, 19 min for the whole lock), so a quick probe decides whether to ask it at all.
PROBE_INDEX := import sys, urllib.request; u = sys.argv[1]; \
	u.startswith("http") and urllib.request.urlopen(u, timeout=10)

# Before any install: a Python the lock supports, or one line saying how to get one.
NEEDS := make: the course needs Python 3.10-3.13
GET_PYTHON := install one (apt-get install python3.11-venv, pyenv install 3.12, \
	or conda env create -f environment.yml), then make PYTHON=/path/to/python3.X
# $(1): the interpreter; $(2): the rest of the message ($$v is its version, empty if none).
define check_python
v=$$($(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); \
case "$$v" in 3.1[0-3]) ;; *) echo "$(NEEDS) and $(2)"; exit 1;; esac
endef

$(PY):
	@$(call check_python,$(PYTHON),'$(PYTHON)' is $${v:+Python }$${v:-not found}: $(GET_PYTHON)); \
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || { echo "make: '$(PYTHON)' (Python $$v) cannot" \
	"create a venv: apt-get install python$$v-venv, or another Python 3.10-3.13 (pyenv" \
	"install 3.12, or conda env create -f environment.yml)"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

$(INSTALLED): $(PY) requirements.lock requirements-nodeps.lock pyproject.toml
	@$(call check_python,$(PY),.venv has $${v:+Python }$${v:-no Python that runs}: \
	make clean$(,) then make PYTHON=/path/to/python3.X)
	grep -v '^--extra-index-url' requirements.lock > $(VENV)/requirements.txt
	$(PIP) install -c $(VENV)/requirements.txt pip
	@idx='$(TORCH_INDEX)'; \
	if [ -n "$$idx" ] && ! $(PY) -c '$(PROBE_INDEX)' "$$idx" 2>/dev/null; then \
	  echo "make: $$idx unreachable: torch comes from pip's other sources (PyPI: on Linux" \
	    "x86_64 a CUDA build of several GB, unless a local wheel is configured)"; idx=; fi; \
	echo "$(PIP) install -c $(VENV)/requirements.txt $${idx:+--extra-index-url $$idx} torch"; \
	$(PIP) install -c $(VENV)/requirements.txt $${idx:+--extra-index-url $$idx} torch
	$(PIP) install -r $(VENV)/requirements.txt
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
# /formgrader) reads autograding/nbgrader_config.py and lists every assignment in source/.
lab-instructor: $(INSTALLED)
	cd autograding && ../$(BIN)/jupyter lab $(LAB_ROOT_FLAG) $(LAB_ARGS)

bench: $(INSTALLED)
	$(PY) bench/bench_grading.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-out
