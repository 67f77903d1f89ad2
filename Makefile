# Local workflow: `make run` serves the whole system, `make test` runs the suite,
# `make unit` only the pure tests (tests/unit: no moto, no stack; seconds).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
# Rewritten whenever the requirements change, so installs run only when needed.
STAMP  := $(VENV)/.requirements.stamp

.PHONY: install run test unit lint

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# chalice pins pip<26.3; everything comes from PyPI through the ordinary client.
$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --upgrade "pip<26.3"
	$(PY) -m pip install -r requirements-dev.txt
	touch $@

run: install
	$(PY) -m local_stack

# pytest-xdist: one worker per core, each with its own moto and its own session stack. Work stealing:
# `load` hands each worker its first eighth of the suite up front, so one got every e2e test (the
# long ones) and finished minutes after the other; an idle worker now takes the other's queued tests.
TEST_WORKERS ?= auto

test: install lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal

# ruff: the linter (pyflakes, pycodestyle, import order, bugbear, pyupgrade) and the formatter, checked.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

unit: install
	$(PY) -m pytest -q tests/unit

# One deployable SAM template (+ its CloudFormation translation) in build/package/, linted.
STAGE  ?= dev
REGION ?= cn-north-1
LINT_REGIONS ?= cn-north-1 cn-northwest-1 us-east-1
.PHONY: package lint-template

package: install
	$(PY) -m infra.package --stage $(STAGE) --region $(REGION) --out build/package
	$(MAKE) lint-template

# cfn-lint skips SAM Events, so the CloudFormation translation is linted as well.
lint-template:
	$(VENV)/bin/cfn-lint --regions $(LINT_REGIONS) -- build/package/sam.json build/package/cloudformation.json

# bench:   (load benchmarks)                  - added by the bench owner
