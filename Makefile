# PropDesk: `make run` serves the panel with demo data; `make test` passes the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-security setup db clean translations bench load

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP) translations

# Compiled only when a catalogue changed, so two `make test` runs side by side (.ci/run) never rewrite
# a .mo file the other is reading.
MO := app/translations/zh_Hans_CN/LC_MESSAGES/admin.mo app/translations/en/LC_MESSAGES/messages.mo

translations: $(MO)

app/translations/%.mo: app/translations/%.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

db: setup
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo --if-empty

run: db
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The trust suites (tests marked `security`) with ten times the examples, payloads and runs;
# figures go to test-artifacts/security-figures.json (SECURITY.md quotes them).
test-security: setup
	PROPDESK_SECURITY_SCALE=$(or $(SCALE),10) $(BIN)/python -m pytest -m security -rf $(PYTEST_ARGS)

# Benchmark against stock Flask-Admin and the floor: UNITS=100000 by default, QUICK=1 for a smoke run,
# PG=<url> to also run on PostgreSQL (that database is WIPED). Prints a table, writes perf-results.json.
bench: setup
	$(BIN)/python -m tests.perf.bench $(if $(PG),--pg $(PG)) $(if $(UNITS),--units $(UNITS)) $(if $(QUICK),--quick) $(BENCH_ARGS)

# Bounded load test: gunicorn -w 2 on SQLite (WAL), and on PostgreSQL with PG=<url> (that database is WIPED).
load: setup
	$(BIN)/python -m tests.perf.load $(if $(PG),--pg $(PG)) $(LOAD_ARGS)

clean:
	rm -rf $(VENV) instance/*.db
