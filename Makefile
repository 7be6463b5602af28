# PolicyCortex: the verbs a newcomer and an operator use. Run `make help` for the list.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
RUN     := .run
SECRETS := $(RUN)/secret-keys
export DATABASE_URL ?= postgresql+psycopg2://postgres@127.0.0.1:5432/policycortex
export REDIS_URL    ?= redis://127.0.0.1:6379/0
API_BIND ?= 127.0.0.1:8000
WORKER_CONCURRENCY ?= 2
QUEUES  := scans,shards,notifications,housekeeping
# Fernet keys come from the environment, or from a key generated once into .run/secret-keys.
WITH_KEYS = POLICYCORTEX_SECRET_KEYS="$${POLICYCORTEX_SECRET_KEYS:-$$(cat $(SECRETS))}"

.PHONY: help install demo test bench migrate up down flower lint clean

help:
	@echo "make demo     install, migrate, and run a real scan end to end through the REST API"
	@echo "make test     install and run the test suite (PostgreSQL and Redis on 127.0.0.1)"
	@echo "make bench    print throughput figures"
	@echo "make migrate  create/upgrade the database schema"
	@echo "make up/down  run api (gunicorn), worker and beat locally in the background"
	@echo "make flower   Celery Flower on http://127.0.0.1:5555"
	@echo "make lint     ruff"

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@

$(SECRETS): | install
	mkdir -p $(RUN)
	$(BIN)/policycortex secret-key > $@
	chmod 600 $@

migrate: install $(SECRETS)
	$(WITH_KEYS) $(BIN)/policycortex db upgrade

demo: migrate
	$(WITH_KEYS) $(BIN)/policycortex demo

test: install
	$(BIN)/pytest

bench: migrate
	$(WITH_KEYS) $(BIN)/python -m bench.policy_engine
	$(WITH_KEYS) $(BIN)/python -m bench.scan_throughput
	$(WITH_KEYS) $(BIN)/python -m bench.discovery
	$(WITH_KEYS) $(BIN)/python -m bench.schedules
	$(WITH_KEYS) $(BIN)/python -m bench.stream_latency
	$(WITH_KEYS) $(BIN)/python -m bench.api_load

up: migrate
	mkdir -p $(RUN)
	$(WITH_KEYS) $(BIN)/gunicorn --daemon --pid $(RUN)/api.pid --bind $(API_BIND) --workers 2 \
		--worker-class gthread --threads 256 --access-logfile $(RUN)/api-access.log \
		--error-logfile $(RUN)/api.log 'api.wsgi:app'
	$(WITH_KEYS) $(BIN)/celery -A workers.main worker --detach --pidfile $(RUN)/worker.pid \
		--logfile $(RUN)/worker.log -Q $(QUEUES) -c $(WORKER_CONCURRENCY) -n worker@%h
	$(WITH_KEYS) $(BIN)/celery -A workers.main beat --detach --pidfile $(RUN)/beat.pid --logfile $(RUN)/beat.log
	@echo "API on http://$(API_BIND); logs in $(RUN)/"

down:
	-for name in api worker beat flower; do \
		test -f $(RUN)/$$name.pid && kill $$(cat $(RUN)/$$name.pid) && echo "stopped $$name"; \
	done; true

flower: install
	$(BIN)/python -m pip install -q 'flower>=2.0'
	$(WITH_KEYS) $(BIN)/celery -A workers.main flower --address=127.0.0.1 --port=5555

lint: install
	$(BIN)/ruff check .

clean: down
	rm -rf $(RUN) $(VENV) *.egg-info
