# Quick start: `make run` (demo server on 127.0.0.1:8000) and `make test` (whole suite).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTHON ?= python3
DEMO_PASSWORD ?= demo-lantern-2026
DEMO_PERSONS  ?= 3000

.PHONY: install run test lint format bench bench-check clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo --if-empty --persons $(DEMO_PERSONS) --password $(DEMO_PASSWORD)
	@echo "演示账号密码 / demo password: $(DEMO_PASSWORD)  ·  Open http://127.0.0.1:8000/"
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# `make bench` prints the goals table (bench/out/summary.md) and exits 0 whatever the figures;
# `make bench-check` exits 1 when a PostgreSQL goal fails or was not measured (bench/README.md).
bench: install
	$(PY) bench/run_all.py

bench-check: install
	$(PY) bench/run_all.py --check

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
