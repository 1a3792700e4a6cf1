# eventsys: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := EVENTSYS_CONFIG=$${EVENTSYS_CONFIG:-development} $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint format translations system-run system-test clean

## run: install everything, migrate, load the demo on first start, serve on http://127.0.0.1:5000
run: system-run $(VENV)/.installed translations
	$(FLASK) db upgrade heads
	$(FLASK) demo load
	@echo ""
	@echo "Serving eventsys on http://$(HOST):$(PORT)/  (log in at http://$(HOST):$(PORT)/login; Ctrl-C stops)"
	@echo "The task worker (mail, reminders) runs beside it; development mail is written to instance/mail/."
	@# The worker runs in the background and is stopped with the web server (Ctrl-C, or if the server exits).
	@EVENTSYS_CONFIG=$${EVENTSYS_CONFIG:-development} $(BIN)/huey_consumer eventsys.worker.huey -w 2 -k thread -S & \
	worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

## test: the whole suite (SQLite; set TEST_DATABASE_URL for PostgreSQL), browser tests included
test: system-test $(VENV)/.installed translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

system-run:
	@PYTHON=$(PYTHON) ./bootstrap.sh run

system-test:
	@PYTHON=$(PYTHON) ./bootstrap.sh test

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d eventsys/translations

## messages: extract new strings and merge them into the Korean and Spanish catalogs
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o eventsys/translations/messages.pot .
	$(BIN)/pybabel update -i eventsys/translations/messages.pot -d eventsys/translations --no-fuzzy-matching

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
