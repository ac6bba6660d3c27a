# Two commands set everything up: `make run` (install, fetch data, materialize every asset)
# and `make test`. Every target installs the project into $(VENV) first when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ifeq ($(strip $(DAGSTER_HOME)),)
DAGSTER_HOME := $(CURDIR)/.dagster_home
endif
export DAGSTER_HOME

.PHONY: install run test ui docs parse lint forget bench eval cost export-replay clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# dagster-dbt reads dbt's manifest when the definitions are imported, so every entry point
# parses the dbt project first.
parse: install
	$(BIN)/python -m orchestration.dbt_manifest

run: parse
	$(BIN)/python -m orchestration.run

test: install
	$(BIN)/python -m pytest

ui: parse
	$(BIN)/python -m orchestration.dagster_home
	env --default-signal=INT,TERM $(BIN)/dagster dev -m orchestration.definitions

docs: parse
	$(BIN)/python -m orchestration.dbt_docs

# Delete one account's conversations and everything derived from them: make forget ACCOUNT=<id>
forget: parse
	$(BIN)/python -m orchestration.forget_account "$(ACCOUNT)"

# Score the offline tagger against labelled conversations: make eval [LABELS=path.jsonl]
LABELS ?= ../shared/eval/dev.jsonl
eval: install
	$(BIN)/python -m orchestration.evaluate --labels "$(LABELS)"

# Ingestion throughput and peak memory on synthetic exports; BENCH_MB sets the size.
# Clustering time per stage and peak memory on BENCH_SUMMARIES synthetic summaries.
BENCH_MB ?= 1024
BENCH_SUMMARIES ?= 100000
# Offline tagging throughput after load and peak memory; BENCH_TAG_COUNT sets how many.
BENCH_TAG_COUNT ?= 2000
bench: install
	$(BIN)/python bench/bench_ingest.py --size-mb $(BENCH_MB) --format chatgpt
	$(BIN)/python bench/bench_ingest.py --size-mb $(BENCH_MB) --format jsonl
	$(BIN)/python bench/bench_tagging.py --count $(BENCH_TAG_COUNT)
	$(BIN)/python bench/bench_clusters.py --count $(BENCH_SUMMARIES) --threads 2

# Cost of tagging the warehouse's conversations with the claude backend, estimated offline
# from the real prompts (after `make run`); nothing is sent to the API.
cost: parse
	$(BIN)/python bench/estimate_cost.py

# Write the model exchanges of earlier claude runs as JSONL for the replay backend:
# make export-replay OUT=recordings/exchanges.jsonl
OUT ?= data/replay/exchanges.jsonl
export-replay: install
	$(BIN)/python -m orchestration.defs.tagging.replay export "$(OUT)"

lint: install
	$(BIN)/ruff check orchestration tests

clean:
	rm -rf target logs data/warehouse.duckdb
