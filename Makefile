# Courier developer commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Prefer the Lambda runtime's Python (3.12) when it really runs here, else python3 >= 3.11.
PYTHON_FOR_VENV ?= $(shell for p in python3.12 python3.13 python3 python; do \
	if $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
# The layer, the client SDK and the repository root, as Lambda and the tests see them.
export PYTHONPATH := layers/courier:client:.
FN ?= send
EVENT ?= events/send-dm.json

.PHONY: help venv test test-ts lint-ts test-web lint-web web lint validate tools check invoke redrive build deploy run chat chaos bench clean

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt layers/courier/requirements.txt
	@test -n "$(PYTHON_FOR_VENV)" || { echo "Python >= 3.11 is required (python3.12 preferred)"; exit 1; }
	@test -x $(PY) || $(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP) ## create the virtualenv and install the pinned dependencies

test: $(STAMP) ## run the test suite (unit tests against moto, in-process), then test-ts and test-web
	$(PY) -m pytest
	@$(MAKE) --no-print-directory test-ts
	@$(MAKE) --no-print-directory test-web

# The TypeScript SDK (client-ts/) needs Node >= 20 and npm; without them its targets say so
# and pass. Its integration tests start the local stack with this Python.
NODE_OK := command -v node >/dev/null && command -v npm >/dev/null && \
	node -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)'
NPM_CI := npm ci --no-audit --no-fund --loglevel=error

test-ts: $(STAMP) ## the TypeScript SDK's tests (client-ts: npm ci, npm test; skipped without Node >= 20)
	@if ! { $(NODE_OK); }; then echo "test-ts skipped: Node >= 20 and npm are needed for client-ts"; \
	else echo "client-ts: npm ci && npm test" && cd client-ts && $(NPM_CI) && \
		COURIER_PYTHON="$(abspath $(PY))" npm test --silent; fi

lint-ts: ## the TypeScript SDK's lint (tsc --noEmit, eslint; skipped without Node >= 20)
	@if ! { $(NODE_OK); }; then echo "lint-ts skipped: Node >= 20 and npm are needed for client-ts"; \
	else echo "client-ts: npm ci && npm run lint" && cd client-ts && $(NPM_CI) && npm run --silent lint; fi

# ------------------------------------------------ the web chat page (web/, Node 20)
CHROMIUM ?= /usr/bin/chromium
WEB_DEPS := web/node_modules/.package-lock.json

$(WEB_DEPS): web/package-lock.json
	cd web && $(NPM_CI)
	@touch $(WEB_DEPS)

web: $(WEB_DEPS) ## rebuild the web chat page into web/dist/ (committed: make run needs no npm)
	cd web && npm run build

lint-web: ## the web page's types, and that web/dist/ is the build of its sources (skipped without Node >= 20)
	@if ! { $(NODE_OK); }; then echo "lint-web skipped: Node >= 20 and npm are needed for web/"; exit 0; fi; \
	$(MAKE) -s --no-print-directory $(WEB_DEPS) && cd web && npm run --silent typecheck && npm run --silent check-dist

test-web: $(STAMP) ## the web page in headless Chromium against the local stack [CHROMIUM=path]
	@if ! { $(NODE_OK); }; then echo "test-web skipped: Node >= 20 and npm are needed for web/"; exit 0; fi; \
	if [ ! -x "$(CHROMIUM)" ]; then \
		echo "test-web skipped: no Chromium at $(CHROMIUM) (Debian: apt-get install chromium)"; exit 0; fi; \
	$(MAKE) --no-print-directory lint-web && cd web && \
		COURIER_PYTHON="$(abspath $(PY))" CHROMIUM="$(CHROMIUM)" npm test

lint: $(STAMP) ## ruff, mypy and cfn-lint, then lint-ts and lint-web
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	@$(MAKE) --no-print-directory lint-ts
	@$(MAKE) --no-print-directory lint-web

check: lint test ## lint, types and tests

# ------------------------------------------------ SAM CLI and checkov (own virtualenvs)
# Each tool lives in its own virtualenv under .tools/ (aws-sam-cli pins an older boto3
# than the layer; checkov pins its own world), rebuilt only when its pins change.
TOOLS := .tools
SAM_VENV := $(TOOLS)/sam
SAM_STAMP := $(SAM_VENV)/.installed
CHECKOV_VENV := $(TOOLS)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# sam validate/build read credentials and a region even when they call nothing: fake ones.
OFFLINE_AWS := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing \
	AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true

# SAM CLI runs on the Lambda runtime's Python, which sam build needs anyway: no python3.12, no tool.
$(SAM_STAMP): tools/requirements-sam.txt tools/find-python312
	@python312=$$(tools/find-python312) || exit 1; \
		test -x $(SAM_VENV)/bin/python || $$python312 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r tools/requirements-sam.txt
	@touch $(SAM_STAMP)

$(CHECKOV_STAMP): tools/requirements-checkov.txt
	@test -n "$(PYTHON_FOR_VENV)" || { echo "Python >= 3.11 is required"; exit 1; }
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON_FOR_VENV) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r tools/requirements-checkov.txt
	@touch $(CHECKOV_STAMP)

tools: $(SAM_STAMP) $(CHECKOV_STAMP) ## install the SAM CLI and checkov into .tools/ (pinned in tools/)

validate: $(STAMP) $(SAM_STAMP) $(CHECKOV_STAMP) ## sam validate --lint, sam build, import each built handler as Lambda does, checkov
	$(OFFLINE_AWS) $(SAM_VENV)/bin/sam validate --lint
	@python312=$$(tools/find-python312) || exit 1; \
		echo "$(SAM_VENV)/bin/sam build (python3.12: $$python312)"; \
		PATH="$$(dirname $$python312):$$PATH" $(OFFLINE_AWS) $(SAM_VENV)/bin/sam build
	@python312=$$(tools/find-python312) || exit 1; $(PY) tools/smoke_build.py --python $$python312
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

run: $(STAMP) ## the local stack on 127.0.0.1:3001 (COURIER_PORT): the web chat page, WebSocket + admin API, moto, SQS pollers [VERBOSE=1: print metrics]
	$(PY) -m local.run $(if $(VERBOSE),--verbose)

# make reads USER from the environment too, where it is the shell's login (root, say):
# chat only as a user named on make's command line, checked before anything is built.
ifneq ($(filter chat,$(MAKECMDGOALS)),)
ifneq ($(origin USER),command line)
$(error make chat needs the user to chat as: make chat USER=alice (the shell's $$USER is not used))
endif
ifeq ($(strip $(USER)),)
$(error make chat needs the user to chat as: make chat USER=alice (USER is empty))
endif
endif

chat: $(STAMP) ## terminal chat against the local stack: make chat USER=alice [URL=http://127.0.0.1:3001]
	$(PY) -m courier_chat --user $(USER) $(if $(URL),--url $(URL))

chaos: $(STAMP) ## many clients, faults on both sides, then a checker: make chaos [SEED=n] [ARGS="..."]
	$(PY) -m chaos $(if $(SEED),--seed $(SEED)) $(ARGS)

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PY) -m pip install --quiet -r bench/requirements.txt
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## cost per operation, cold imports, moto, local throughput: bench/results/REPORT.md [ARGS="--parts local"]
	$(PY) -m bench $(ARGS)

invoke: $(STAMP) ## run one handler against in-process moto, on the scene its event needs: make invoke FN=send EVENT=events/send-dm.json [VERBOSE=1] [EMPTY=1]
	$(PY) -m local.invoke $(FN) $(EVENT) $(if $(VERBOSE),--verbose) $(if $(EMPTY),--empty)

redrive: $(STAMP) ## move a queue's dead letters back: make redrive QUEUE=RetryQueue [STACK=courier] [ENDPOINT=url]
	@test -n "$(QUEUE)" || { echo "usage: make redrive QUEUE=RetryQueue|FanoutQueue|NotifyQueue"; exit 2; }
	$(PY) -m local.redrive $(QUEUE) --stack $(or $(STACK),courier) $(if $(ENDPOINT),--endpoint-url $(ENDPOINT))

# The SAM CLI of `make tools` if there is one, else the user's own.
SAM ?= $(if $(wildcard $(SAM_VENV)/bin/sam),$(SAM_VENV)/bin/sam,sam)

build: ## sam build into .aws-sam/ (needs the AWS SAM CLI and python3.12)
	@command -v $(SAM) >/dev/null || { echo "sam is not installed: make tools, or see https://docs.aws.amazon.com/serverless-application-model/ (pip install aws-sam-cli in its own virtualenv)"; exit 1; }
	@python312=$$(tools/find-python312) || exit 1; \
		PATH="$$(dirname $$python312):$$PATH" $(SAM) build

deploy: build ## sam deploy --guided (needs the AWS SAM CLI and AWS credentials)
	$(SAM) deploy --guided

clean: ## remove the virtualenv and build output
	rm -rf $(VENV) .aws-sam $(TOOLS)
