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
BENCH_SIZES ?= 10000,100000
QUEUES  := scans,shards,notifications,housekeeping
# Fernet keys come from the environment, or from a key generated once into .run/secret-keys.
WITH_KEYS = POLICYCORTEX_SECRET_KEYS="$${POLICYCORTEX_SECRET_KEYS:-$$(cat $(SECRETS))}" \
	POLICYCORTEX_METRICS_DIR="$${POLICYCORTEX_METRICS_DIR:-$(METRICS_DIR)}"
FLOWER_AUTH := $(RUN)/flower-auth
WITH_FLOWER_AUTH = FLOWER_BASIC_AUTH="$${FLOWER_BASIC_AUTH:-$$(cat $(FLOWER_AUTH))}"
# API processes and workers on this host share one directory of metrics (prometheus-client's
# multiprocess mode), so GET /metrics on any API process sums them all.
METRICS_DIR := $(RUN)/metrics

.PHONY: help install demo test bench bench-quick migrate up down flower lint docs clean

help:
	@echo "make demo     install, migrate, and run a real scan end to end through the REST API"
	@echo "make test     install and run the test suite (PostgreSQL and Redis on 127.0.0.1)"
	@echo "make bench    print every performance figure (about 30 min; BENCH_SIZES=10000,100000)"
	@echo "make bench-quick  the scale benches at small sizes (a few minutes)"
	@echo "make migrate  create/upgrade the database schema"
	@echo "make up/down  run api (gunicorn), worker and beat locally in the background"
	@echo "make flower   Celery Flower on http://127.0.0.1:5555"
	@echo "make lint     ruff"
	@echo "make docs     regenerate the README's library tables and shared/frameworks/MAPPINGS.md"

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml client/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ./client
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
	$(WITH_KEYS) $(BIN)/python -m bench.aws_coverage
	$(WITH_KEYS) $(BIN)/python -m bench.schedules
	$(WITH_KEYS) $(BIN)/python -m bench.stream_latency
	$(WITH_KEYS) $(BIN)/python -m bench.slow_clients
	$(WITH_KEYS) $(BIN)/python -m bench.api_load
	$(WITH_KEYS) $(BIN)/python -m bench.write_path
	$(WITH_KEYS) $(BIN)/python -m bench.upload
	$(WITH_KEYS) $(BIN)/python -m bench.read_load --rate 10 --seconds 90
	$(WITH_KEYS) $(BIN)/python -m bench.findings_read --rate 10 --seconds 90
	$(WITH_KEYS) $(BIN)/python -m bench.report_render
	$(WITH_KEYS) $(BIN)/python -m bench.estate_scale --sizes $(BENCH_SIZES)

# A quick pass of the scale benches at small sizes (a few minutes), to check they run.
bench-quick: migrate
	$(WITH_KEYS) $(BIN)/python -m bench.write_path --rows 20000
	$(WITH_KEYS) $(BIN)/python -m bench.estate_scale --sizes 1000
	$(WITH_KEYS) $(BIN)/python -m bench.findings_read --findings 20000 --noise-tenants 1 --rate 10 --seconds 5

# With a Docker engine, `up`/`down` run docker-compose.yml; without one, the same services run
# here as background processes (PostgreSQL and Redis are then the machine's own).
DOCKER_UP := $(shell docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1 && echo yes)

ifeq ($(DOCKER_UP),yes)
up:
	docker compose up -d --build
	@echo "API on http://127.0.0.1:8000, Flower on http://127.0.0.1:5555 (docker compose ps)"

down:
	docker compose down
else
up: migrate $(FLOWER_AUTH)
	rm -rf $(METRICS_DIR) && mkdir -p $(RUN) $(METRICS_DIR)
	$(WITH_KEYS) $(BIN)/gunicorn --daemon --pid $(RUN)/api.pid --bind $(API_BIND) --workers 2 \
		--config python:api.gunicorn_conf --control-socket $(CURDIR)/$(RUN)/api.ctl \
		--error-logfile $(RUN)/api.log 'api.wsgi:app'
	$(WITH_KEYS) $(BIN)/celery -A workers.main worker --detach --pidfile $(RUN)/worker.pid \
		--logfile $(RUN)/worker.log -Q $(QUEUES) -c $(WORKER_CONCURRENCY) -n worker@%h
	$(WITH_KEYS) $(BIN)/celery -A workers.main beat --detach --pidfile $(RUN)/beat.pid --logfile $(RUN)/beat.log
	$(WITH_KEYS) $(WITH_FLOWER_AUTH) nohup $(BIN)/celery -A workers.main flower --address=127.0.0.1 --port=5555 \
		> $(RUN)/flower.log 2>&1 & echo $$! > $(RUN)/flower.pid
	@echo "API on http://$(API_BIND), Flower on http://127.0.0.1:5555 (user:password in $(FLOWER_AUTH)); logs in $(RUN)/"
	@echo "The CLI is ./bin/policycortex (it reads $(SECRETS) and this Makefile's DATABASE_URL and REDIS_URL). A tenant and its key:"
	@echo '  ./bin/policycortex tenant create acme'
	@echo '  export POLICYCORTEX_API_KEY=$$(./bin/policycortex apikey create --tenant acme)'
	@echo '  ./bin/policycortex accounts list'
	@echo "The services reach only public endpoints. To scan a local one (moto, a cloud fake) allow-list it and restart:"
	@echo "  make down && POLICYCORTEX_OUTBOUND_ALLOWLIST=127.0.0.1 make up   (now: $${POLICYCORTEX_OUTBOUND_ALLOWLIST:-not set})"

down:
	-for name in api worker beat flower; do \
		test -f $(RUN)/$$name.pid && kill $$(cat $(RUN)/$$name.pid) && rm -f $(RUN)/$$name.pid && echo "stopped $$name"; \
	done; true
endif

# Flower shows task arguments, so it is never open: basic auth from FLOWER_BASIC_AUTH (user:password),
# or a password generated once into .run/flower-auth.
flower: install $(FLOWER_AUTH)
	$(WITH_KEYS) $(WITH_FLOWER_AUTH) $(BIN)/celery -A workers.main flower --address=127.0.0.1 --port=5555

$(FLOWER_AUTH):
	mkdir -p $(RUN)
	echo "admin:$$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')" > $@
	chmod 600 $@

lint: install
	$(BIN)/ruff check .

docs: install
	$(BIN)/python -m cli.docs

clean: down
	rm -rf $(RUN) $(VENV) *.egg-info
