# Two entry points do all set-up: `make run` and `make test`.
# Each long step says what it does and how long it usually takes on a first run; later
# runs skip what is already in place.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What `make run` needs (the service and its libraries) ...
RUN_STAMP := $(VENV)/.installed-run
# ... and everything `make test` and `make lint` need on top (the dev extra).
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip install --progress-bar on --disable-pip-version-check -c constraints.txt
SAY := @printf '\n==> %s\n'

.PHONY: run test lint bench browser-deps dbus-deps web-deps clean

$(RUN_STAMP): pyproject.toml constraints.txt
	$(SAY) "Python environment in $(VENV): the service's libraries (about 1 minute on a first run)"
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(STAMP): $(RUN_STAMP)
	$(SAY) "Test tools in $(VENV): pytest, mypy, ruff, Playwright (about 2 minutes on a first run)"
	$(PIP) -e '.[dev]'
	touch $@

web-deps: $(RUN_STAMP)
	@cd web && if [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then :; else \
	  printf '\n==> %s\n' "Dashboard libraries from npm into web/node_modules (about 10 seconds)"; \
	  npm ci --include=dev --no-audit --no-fund --loglevel=http; fi

run: $(RUN_STAMP) web-deps
	$(SAY) "Starting the companion with a virtual band (Ctrl-C to stop)"
	$(BIN)/companion run --simulate

lint: $(STAMP)
	$(SAY) "Lint (ruff) and type checks (mypy, about 1 minute)"
	$(BIN)/ruff check companion web tests bench
	$(BIN)/ruff format --check companion web tests bench
	$(BIN)/mypy

# Only the packages Chromium needs, no recommended extras (printing, avahi, samba...).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  printf '\n==> %s\n' "Debian's chromium for the browser tests (apt-get, about 2 minutes)"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    chromium fonts-dejavu-core; }

# The BlueZ-path tests run their own D-Bus daemon as the system bus (tests/bluez/).
dbus-deps:
	@command -v dbus-daemon >/dev/null 2>&1 || { \
	  printf '\n==> %s\n' "Debian's dbus-daemon for the BlueZ-path tests (apt-get, about 20 seconds)"; \
	  apt-get update && { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    dbus-daemon || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dbus; }; }

test: $(STAMP) web-deps browser-deps dbus-deps lint
	$(SAY) "Tests (pytest; the whole suite takes about 20 minutes on 2 cores)"
	. scripts/postgres-for-tests.sh; $(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) web/node_modules .pytest_cache .mypy_cache .ruff_cache test-artifacts
