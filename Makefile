# taxopt: one-command set-up, run and test on a fresh machine (Python 3.11 + venv).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/three_account_location.json
OUT ?= out

.PHONY: run test lint bench clean docs typecheck

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

# API documentation (pdoc, numpy docstrings) into docs/_build (not versioned).
DOC_MODULES := taxopt taxopt.api taxopt.api.cvx taxopt.api.labelled taxopt.api.plan \
	taxopt.api.export taxopt.api.data taxopt.engine taxopt.options \
	taxopt.model.builder taxopt.model.program taxopt.audit taxopt.domain.household \
	taxopt.domain.load taxopt.adapters.base

$(VENV)/.docs: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e ".[docs]"
	touch $@

docs: $(VENV)/.docs
	rm -rf docs/_build
	$(BIN)/pdoc --docformat numpy -o docs/_build $(DOC_MODULES)

# The embedding API, the model, the adapters and the engine under mypy --strict
# (not part of `make test`).
TYPED := taxopt/__init__.py taxopt/api taxopt/model taxopt/adapters taxopt/engine.py

$(VENV)/.typecheck: $(VENV)/.installed
	$(BIN)/pip install --quiet "mypy>=1.10" pandas-stubs scipy-stubs
	touch $@

typecheck: $(VENV)/.typecheck
	$(BIN)/mypy --strict --follow-imports=silent $(TYPED)

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache .mypy_cache docs/_build
