# Two entry points that work on a fresh machine (Python + pip + gcc): `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.stamp-runtime
DEV_STAMP     := $(VENV)/.stamp-dev
DEMO_STAMP    := $(VENV)/.stamp-demo

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(RUNTIME_STAMP)

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[demo]'
	touch $@ $(RUNTIME_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python demo/run_demo.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks demo
	$(BIN)/ruff format --check src tests benchmarks demo

test: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks demo
	$(BIN)/python -m pytest

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/rank.py
	$(BIN)/python benchmarks/detect.py
	$(BIN)/python benchmarks/install.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
