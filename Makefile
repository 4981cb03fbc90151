# taxopt: one-command set-up, run and test on a fresh machine (Python 3.11 + venv).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/three_account_location.json
OUT ?= out

.PHONY: run test lint bench clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install --quiet -e ".[test,plots,dask]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/taxopt solve $(SCENARIO) --out $(OUT)

test: $(VENV)/.installed
	$(BIN)/ruff check taxopt tests benchmarks
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
