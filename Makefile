# PropDesk: `make run` serves the panel with demo data; `make test` passes the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup db clean translations

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile -D admin -d app/translations
	$(BIN)/pybabel compile -D messages -d app/translations

db: setup
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo --if-empty

run: db
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance/*.db
