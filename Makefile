# audiosocial: `make run` serves the site with audio; `make test` runs lint and the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export DJANGO_SETTINGS_MODULE := audiosocial.settings

.PHONY: run test lint format venv deps janus-package migrate superuser clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv deps: $(VENV)/.installed

janus-package:
	@bash scripts/ensure-janus.sh

run: deps janus-package
	@bash scripts/run.sh

test: deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: deps
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf var db.sqlite3 .pytest_cache .ruff_cache
