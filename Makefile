# Two entry points (see README): `make run` and `make test`. Both do all set-up first.
# `make install-runtime` is a site's install (docs/deployment.md): no dev tools, not editable.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run central test lint typecheck install install-runtime clean

# One line per step, and pip's own progress (packages collected, downloads, builds) left visible:
# the first install fetches torch and friends and takes minutes, which must not look like a hang.
$(STAMP): pyproject.toml
	@echo "==> [1/3] creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] upgrading pip"
	$(BIN)/pip install --upgrade --progress-bar on pip
	@echo "==> [3/3] installing lockers with its dev and postgres extras (torch is large: minutes the first time)"
	$(BIN)/pip install --progress-bar on -e '.[dev,postgres]'
	@touch $(STAMP)
	@echo "==> installed: $(BIN)/lockers"

install: $(STAMP)

# A kiosk PC's runtime: the package and its PostgreSQL driver, no test, lint or type-checking tools, and a
# copy rather than an editable link (the venv does not need the source tree afterwards). Run it again after
# an upgrade: it reinstalls the package from the tree as it now is. VENV=/opt/lockers/.venv puts it there.
install-runtime:
	@echo "==> [1/3] creating the virtual environment in $(VENV) (kept if it exists)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] upgrading pip"
	$(BIN)/pip install --upgrade --progress-bar on pip
	@echo "==> [3/3] installing lockers with its postgres extra, without dev tools (torch is large: minutes the first time)"
	$(BIN)/pip install --progress-bar on '.[postgres]'
	@echo "==> installed: $(BIN)/lockers"

# `make run CONFIG=site.toml` runs the simulated bank with a configuration file (its data dir, gates, port...).
CONFIG ?=
CONFIG_OPTION := $(if $(CONFIG),--config $(CONFIG))

run: $(STAMP)
	$(BIN)/lockers operators first $(CONFIG_OPTION)
	$(BIN)/lockers run --simulate $(CONFIG_OPTION)

# A fleet's centre beside a local PostgreSQL (README "Running a fleet"): its database must exist
# (`sudo -u postgres createdb lockers_central --owner=lockers`); CENTRAL_CONFIG names another centre's file.
CENTRAL_CONFIG ?= deploy/central.toml
central: $(STAMP)
	$(BIN)/lockers operators first --config $(CENTRAL_CONFIG) --url http://127.0.0.1:8090
	$(BIN)/lockers central run --config $(CENTRAL_CONFIG)

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
