# hotline1022 — every target creates .venv and installs on first use (Python 3.11+ and make are enough).
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test bench package browser clean

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

## make package: dist/sam.json (CloudFormation/SAM, cfn-lint checked) and dist/deployment.zip
package: $(STAMP)
	@$(BIN)/python infra/package.py dist
	@$(BIN)/cfn-lint dist/sam.json && echo "cfn-lint: dist/sam.json OK"

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) dist .pytest_cache
