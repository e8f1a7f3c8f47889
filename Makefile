# rnnlab: two commands on a fresh machine.
#   make run   - set up .venv, execute the workbook's notebooks headlessly (default profile) -> runs/ (figures in
#                runs/figures/; the checkout is left as it was)
#   make figures - copy the last run's figures into figures/ (the README's; only those whose content changed)
#   make test  - set up .venv, run unit tests and every notebook under nbval (smoke profile)
#   make lab   - JupyterLab on the workbook
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.rnnlab-installed

.PHONY: setup run figures test lab bench lint clean-runs

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "rnnlab needs Python 3.11 ('$(PYTHON)' not found); install it (e.g. pyenv install 3.11) or run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "rnnlab needs Python 3.11; '$(PYTHON)' is $$($(PYTHON) -V 2>&1)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
	@$(BIN)/python -m pip install -q -e '.[dev]' || { echo "rnnlab: installing the Python packages failed (no network to PyPI?); see the pip output above" >&2; exit 1; }
	@touch $(STAMP)

setup: $(STAMP)
	@bash scripts/ensure-chromium.sh

run: setup
	$(BIN)/python -m rnnlab.workbook

figures: setup
	$(BIN)/python -m rnnlab.workbook --publish-figures

test: setup
	RNNLAB_SMOKE=1 $(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider -n 2 --dist loadfile

lab: setup
	$(BIN)/jupyter lab notebooks $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

bench: setup
	$(BIN)/python bench/cells.py --quick

lint: setup
	$(BIN)/ruff check lib tests bench notebooks scripts

clean-runs:
	rm -rf runs
