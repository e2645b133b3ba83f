# proxfleet.proxmox developer commands. `make help` lists them.
# Everything runs from .venv, which `make` builds from requirements-dev.txt (pinned) on first use and
# rebuilds when that file changes.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := $(CURDIR)/.venv
TOOLS := $(CURDIR)/tests/tools
PYTEST_ARGS ?=
# The integration suite runs in two pytest-xdist workers, one test file each at a time (every worker starts its own
# session lab): most of its time is ansible-playbook waiting on the lab, so two workers about halve it on 2 cores.
INTEGRATION_WORKERS ?= 2
DEMO_ARGS ?=
# The ansible-core releases `make matrix` covers besides .venv's (default: every tests/tools/matrix/requirements-*.txt).
MATRIX_RELEASES ?=

# The venv's tools first; Ansible finds this checkout as proxfleet.proxmox through the link in .cache.
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.cache/collections
export VIRTUAL_ENV := $(VENV)

# The gates `make test` runs, in order.
GATES := ruff yamllint mypy unit integration sanity matrix docs ansible-lint changelog galaxy

.PHONY: help test venv link $(GATES) demo fix clean distclean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

test: venv ## run every quality gate (the CI command), with a summary and timings
	@$(TOOLS)/run_gates.sh $(GATES)

venv: ## build .venv from requirements-dev.txt (reused while that file is unchanged)
	@$(TOOLS)/ensure_venv.sh "$(PYTHON)" "$(VENV)" requirements-dev.txt

link: ## make .cache/collections/ansible_collections/proxfleet/proxmox point at this checkout
	@$(TOOLS)/collection_link.sh >/dev/null

ruff: venv ## lint the project's Python with ruff (config in pyproject.toml)
	ruff check .

yamllint: venv ## lint all YAML with yamllint (config in .yamllint)
	yamllint --strict .

mypy: venv link ## type-check plugins/module_utils and plugins/plugin_utils with mypy (config in pyproject.toml)
	mypy

unit: venv link ## unit tests: pytest tests/unit
	$(TOOLS)/pytest_gate.sh unit tests/unit $(PYTEST_ARGS)

integration: venv link ## integration tests: pytest tests/integration (ansible-playbook against the local lab)
	$(TOOLS)/ensure_tools.sh chromium
	$(TOOLS)/pytest_gate.sh integration tests/integration -n $(INTEGRATION_WORKERS) --dist loadfile $(PYTEST_ARGS)

sanity: venv ## ansible-test sanity --python 3.11 --requirements, no ignore file (installs shellcheck if missing)
	$(TOOLS)/sanity.sh

matrix: venv link ## the support matrix: sanity, unit tests and the smoke set on ansible-core 2.17 and 2.18 (own venvs in .cache/matrix)
	$(TOOLS)/matrix.sh $(MATRIX_RELEASES)

docs: venv link ## antsibull-docs lint of every plugin's docs and docs/docsite, and the HTML site in .cache/docs-site
	$(TOOLS)/docs.sh

ansible-lint: venv link ## ansible-lint (production profile) on roles/ and playbooks/
	$(TOOLS)/ansible_lint.sh

changelog: venv ## antsibull-changelog lint of changelogs/fragments
	antsibull-changelog lint

galaxy: venv ## build the collection and check it with galaxy-importer
	$(TOOLS)/galaxy.sh

demo: venv link ## on the lab: site.yml (guests, firewall, HA, backups) on two clusters, the DR drill, the inventory graph (DEMO_ARGS="--clusters 3")
	python -m tests.demo $(DEMO_ARGS)

fix: venv ## let ruff fix what it can (import order and the like)
	ruff check --fix .

clean: ## remove build output and caches (keeps .venv)
	rm -rf .cache tests/output build .pytest_cache .ruff_cache .hypothesis importer_result.json
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -f proxfleet-proxmox-*.tar.gz

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
