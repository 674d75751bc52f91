# SST: the two commands of the README are `make run` and `make test`; the rest are parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
export UV_LINK_MODE ?= copy

.PHONY: help setup env deps db dashboard seed run test test-fast lint format openapi clean fall broker-stop bench-query bench-ingest test-faults bench-soak audit bench-detect bench-latency bench-fanout docs-img bench-train turn-stop bench-video

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: ## system packages, local services, Python deps, .env, database
	bash scripts/setup-system.sh
	$(MAKE) env deps db

env: ## write .env from .env.example with fresh secrets, if there is none
	bash scripts/make-env.sh

deps: ## Python dependencies from the lock file
	$(UV) sync --frozen --all-packages

db: ## role, database, extensions and migrations
	$(UV) run sst-db setup

dashboard: ## build the staff dashboard (served by the backend)
	bash scripts/build-dashboard.sh

seed: ## the demo facility
	$(UV) run sst-backend seed-demo

run: setup dashboard seed ## the whole platform with the home simulator (Ctrl-C stops it)
	@bash scripts/banner.sh
	$(UV) run honcho -f Procfile start

test: setup dashboard ## the whole test suite on the real services
	cd dashboard && npm run --silent typecheck && npm test --silent
	$(UV) run pytest

test-faults: setup ## fault injection under load on private servers (prints a table, bench/results/faults.json)
	$(UV) run pytest tests/faults -m faults -p no:cacheprovider $(FAULTS_ARGS)

bench-soak: setup ## the platform for 10 min at the load of 2,000 homes: memory, throughput, alert latency (bench/results/soak.json)
	$(UV) run python bench/soak.py $(BENCH_ARGS)

bench-ingest: setup ## ingest benchmark: gateway vs a raw baseline (prints JSON, bench/results/ingest.json)
	$(UV) run python bench/ingest.py $(BENCH_ARGS)

bench-latency: setup ## fall -> dashboard alert latency, 1000 sockets, background load (bench/results/latency.json)
	$(UV) run python bench/latency.py $(BENCH_ARGS)

bench-fanout: deps ## one event to 1,000 sockets: python-socketio's stock path vs the backend's, CPU per (event, socket) (bench/results/fanout.json)
	$(UV) run python bench/fanout.py $(BENCH_ARGS)

docs-img: ## copy the browser tests' screenshots of the main screens into docs/img/
	bash scripts/docs-img.sh

fall: ## inject a fall in the demo home, published as the simulator's broker account
	set -a; . ./.env; set +a; SST_MQTT_USERNAME=sst-sim SST_MQTT_PASSWORD="$$MQTT_SIM_PASSWORD" \
	  $(UV) run sst-sim event --hub demo-hub-1 --sensor fall-1

broker-stop: ## stop SST's local Mosquitto (scripts/broker.sh starts it again)
	bash scripts/broker.sh stop

audit: ## pip-audit over the locked dependencies (needs a reachable vulnerability database)
	$(UV) export --frozen --format requirements-txt --no-hashes --all-packages --no-emit-workspace > var/requirements.audit.txt
	$(UV) run pip-audit --strict -r var/requirements.audit.txt --disable-pip --no-deps --progress-spinner off
turn-stop: ## stop SST's local coturn (scripts/turn.sh starts it again)
	bash scripts/turn.sh stop

bench-video: setup ## staff request -> first decoded video frame, through coturn (bench/results/video.json)
	$(UV) run python bench/video.py $(BENCH_ARGS)

lint: ## ruff, mypy and the import contract
	$(UV) run ruff format --check .
	$(UV) run ruff check .
	$(UV) run mypy
	$(UV) run lint-imports

format: ## format and autofix
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

openapi: ## regenerate sst_api.yml from the backend
	$(UV) run sst-backend openapi > sst_api.yml

bench-detect: setup ## labelled simulated months replayed through MQTT -> gateway -> inference: rules, models, both (bench/results/detect.json; BENCH_ARGS=--direct: in-process)
	$(UV) run python bench/detect.py $(BENCH_ARGS)

bench-query: setup ## analytics latency over a year of readings for 100 residents (own database)
	$(UV) run python bench/query.py

bench-train: setup ## routine models: training 1,000 residents x 90 days, scoring throughput (own database)
	$(UV) run python bench/detect_train.py $(BENCH_ARGS)

clean: ## remove build output (not the database)
	rm -rf dashboard/dist .pytest_cache .mypy_cache .ruff_cache test-artifacts
