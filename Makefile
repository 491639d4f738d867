# Timmy World: the two commands (plus stop). See README.md.
#   make run    set up everything on a fresh machine and start the world
#   make test   set up the same way and run the whole test suite
#   make stop   stop everything `make run` started

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BROWSER_STAMP := $(VENV)/.browser-installed
# Worker processes for the suite (tests/parallel.py); the live-world classes mostly wait.
TEST_PROCESSES ?= 2

.PHONY: run test stop status venv

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

# The browser tests' driver (selenium); Chromium itself comes from Debian (bin/ensure-browser).
$(BROWSER_STAMP): requirements-browser.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-browser.txt
	@touch $(BROWSER_STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) bin/timmy run

stop:
	@if [ -x $(PY) ]; then $(PY) bin/timmy stop; else echo "Timmy World is not installed."; fi

status: $(STAMP)
	@$(PY) bin/timmy status

test: $(STAMP) $(BROWSER_STAMP)
	bin/ensure-browser || [ "$$CI" != "true" ]
	$(PY) bin/timmy setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/evennia test --settings settings.py --parallel $(TEST_PROCESSES) tests
