PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench clean migrate migration

# Ctrl-C (SIGINT to the terminal's whole process group) and SIGTERM stop the stack. A SIGINT sent
# to make alone does nothing: GNU make does not pass signals on, it waits for its children. So the
# recipe's shell writes its pid (which `exec` hands to the devstack) to $(RUN_PID): send SIGINT or
# SIGTERM there, `kill -INT $$(cat .data/devstack.pid)`, or to make's process group, `kill -INT -- -PGID`.
DATA_DIR := $(or $(NETPROV_DATA_DIR),.data)
RUN_PID := $(DATA_DIR)/devstack.pid

run: $(VENV)/.installed
	mkdir -p "$(DATA_DIR)" && echo $$$$ > "$(RUN_PID)" && exec $(PY) -m devstack

# The database-dependent tests run a second time on a fresh PostgreSQL database
# (NETPROV_TEST_POSTGRES_URL, default postgres@127.0.0.1:5432; skipped if unreachable, failed under CI=true).
POSTGRES_TESTS ?= tests/api

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)
	NETPROV_TEST_DATABASE=postgres $(PY) -m pytest $(POSTGRES_TESTS) $(PYTEST_ARGS)

# Schema migrations (store/migrations): apply them to NETPROV_DATABASE_URL, or write a new one
# from the changes in store/tables.py (review it before committing).
migrate: $(VENV)/.installed
	$(PY) -m store.schema upgrade

migration: $(VENV)/.installed
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"'; exit 2; }
	$(PY) -m store.schema revision -m "$(m)"

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf .data

# Reinstall only when pyproject.toml changed since the last install.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e ".[test]"
	touch $@
