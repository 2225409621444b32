# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test test-postgres bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/propoor demo

test: install
	$(BIN)/pytest -n 2 --dist loadfile

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/pytest -n 2 --dist loadfile

bench: install
	$(BIN)/python bench/identify.py --db sqlite --households 100000
	$(BIN)/python bench/identify.py --db postgresql --households 1000000
	$(BIN)/python bench/surveys.py
	$(BIN)/python bench/checkout.py

lint: install
	$(BIN)/ruff check src bench
	$(BIN)/lint-imports
	$(BIN)/mypy src/propoor/kernel

clean:
	rm -rf $(VENV) var build src/*.egg-info
