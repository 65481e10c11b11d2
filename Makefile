# stockdash: `make run` serves the site, `make test` runs the whole suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench clean

# Re-install whenever the declared dependencies change.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

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

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
