# Two entry points (see README): `make run` and `make test`. Both do all set-up first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck install clean

$(STAMP): pyproject.toml
	@echo "== creating $(VENV) and installing LOCKERS with its dependencies (torch is large: a few minutes) =="
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -e '.[dev,postgres]'
	touch $(STAMP)
	@echo "== installed =="

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lockers run --simulate

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV)
