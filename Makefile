# hotline1022 — every target creates .venv and installs on first use (Python 3.11+ and make are enough).
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
CHROMIUM ?= /usr/bin/chromium
# AWS: the stage to package and deploy, the region, and an S3 bucket for the code and template
STAGE ?= prod
AWS_REGION ?= ap-southeast-1
ARTIFACT_BUCKET ?=
AWS_ENV = STAGE=$(STAGE) AWS_REGION=$(AWS_REGION) ARTIFACT_BUCKET=$(ARTIFACT_BUCKET)

.PHONY: run test bench bench-search bench-stats stats-backfill bench-exports bench-kb bench-routing bench-telephony fuzz soak package deploy secrets browser clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed" or 0)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing Python packages into $(VENV)…"
	@$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

## make run: the whole system locally on http://127.0.0.1:$(PORT) (PORT=… to change)
run: $(STAMP)
	@$(BIN)/python -m devstack --port $(PORT)

## make test: the whole suite (unit, integration on the emulator, packaging, end-to-end, browser)
test: $(STAMP) browser
	@$(BIN)/ruff check --quiet --select F,E9 app.py chalicelib devstack bench tests
	@CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

## make bench: figures into bench/results.json and a table on stdout
bench: $(STAMP)
	@$(BIN)/python -m bench

## make fuzz [FUZZ_CASES=100000]: the long fuzzing run on its own local stack; figures into bench/results.json
FUZZ_CASES ?= 100000
fuzz: $(STAMP)
	@FUZZ_CASES=$(FUZZ_CASES) $(BIN)/python -m bench.fuzz

## make bench-search [BENCH_SEARCH_TICKETS=100000]: staff search over a year of synthetic tickets (index size, p50/p95
## warm and cold, the indexer's cost per ticket) into bench/results.json (separate from bench: about 6 minutes)
bench-search: $(STAMP)
	@$(BIN)/python -m bench.search

## make bench-stats [BENCH_STATS_PER_DAY=1000]: the statistics dashboard over a year of counters (p50 per view, AWS
## calls and read units per view) into bench/results.json (separate from bench)
bench-stats: $(STAMP)
	@$(BIN)/python -m bench.stats

## make bench-telephony [BENCH_TELEPHONY_OFFERS=200]: Stringee's webhooks (answer_url p50/p95, AWS calls per
## answer_url, per event, per call, per screen-pop poll) into bench/results.json (separate from bench: about a minute)
bench-telephony: $(STAMP)
	@$(BIN)/python -m bench.telephony

## make stats-backfill FROM=yyyy-mm [TO=yyyy-mm]: rebuild the statistics counters of whole months from the tickets
stats-backfill: $(STAMP)
	@$(BIN)/python -m chalicelib.services.stats backfill $(FROM) $(or $(TO),$(FROM))

## make bench-routing: keywords only vs keywords + learned model (accuracy of routed messages, wrong-agency rate,
## triage rate, confidential false positives) on the seed set (cross-validated), the holdout and the blind set, with
## the misses of the first two, into bench/results.json (about a minute)
bench-routing: $(STAMP)
	@$(BIN)/python -m bench.routing

## make bench-kb: knowledge-base search, top-1/top-3 accuracy on the labelled and the held-out questions, p50 search
## time in-process and through the service on the emulator, index size, into bench/results.json (about 10 seconds)
bench-kb: $(STAMP)
	@$(BIN)/python -m bench.kb --stack

## make bench-exports [BENCH_EXPORT_TICKETS=150000]: the list behind a figure written as CSV and XLSX (seconds,
## bytes, memory) into bench/results.json (separate from bench: about 30 seconds)
bench-exports: $(STAMP)
	@$(BIN)/python -m bench.exports

## make soak [MESSAGES=10000]: signed SMS/Zalo messages in a burst with provider faults and AWS throttling, then
## what was lost, duplicated and acknowledged, into bench/results.json (separate from bench: 15-30 minutes)
MESSAGES ?= 10000
soak: $(STAMP)
	@$(BIN)/python -m bench.burst --messages $(MESSAGES)

## make package [STAGE=prod]: dist/sam.json, its SAM expansion dist/expanded.json (both cfn-lint checked), dist/deployment.zip
package: $(STAMP)
	@STAGE=$(STAGE) $(BIN)/python infra/package.py dist
	@$(BIN)/cfn-lint dist/sam.json dist/expanded.json && echo "cfn-lint: dist/sam.json and dist/expanded.json OK"

## make deploy STAGE=prod ARTIFACT_BUCKET=… [AWS_REGION=ap-southeast-1] [ALARM_EMAIL=…]: package, upload, deploy, print outputs (DRY_RUN=1: print only)
deploy: package
	@$(AWS_ENV) $(BIN)/python -m infra.deploy --dist dist

## make secrets STAGE=prod: the providers' secrets into SSM for that stage, from the environment or prompts (DRY_RUN=1: print only)
secrets: $(STAMP)
	@$(AWS_ENV) $(BIN)/python -m infra.ssm_secrets

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) dist .pytest_cache
