# Takhti: `make run` sets everything up and starts the server; `make test` sets up and tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

WEB := webclient
WEB_STAMP := classroom/static/library.html
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/scripts -type f 2>/dev/null) $(WEB)/index.html $(WEB)/library.html \
	$(WEB)/vite.config.ts $(WEB)/vite.package.config.ts $(WEB)/vite.library.config.ts $(WEB)/tsconfig.json $(WEB)/package.json $(WEB)/package-lock.json

.PHONY: setup web run test lint docs teacher bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -c constraints.txt
	touch $(STAMP)

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund

## web: build the browser app into classroom/static (served by the server; no internet needed)
$(WEB_STAMP): $(WEB)/node_modules/.package-lock.json $(WEB_SOURCES)
	cd $(WEB) && npm run build

web: $(WEB_STAMP)

setup: $(STAMP) $(WEB_STAMP)

## run: set up, then run the server on the embedded SQLite store (data in ./data)
run: setup
	@$(PY) -c "import sys; from classroom.cli import main; sys.exit(main(['serve']))"

## teacher: add a teacher account, e.g. `make teacher NAME=amina` (asks for a password)
teacher: setup
	$(VENV)/bin/classroom teacher add $(NAME)

## test: set up, then run the whole suite (needs redis-server; .ci/run installs it)
test: setup
	cd $(WEB) && npm test
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check classroom boardclient testkit tests bench
	$(VENV)/bin/mypy

docs: setup
	$(VENV)/bin/classroom docs

bench: setup
	$(PY) bench/join.py

clean:
	rm -rf $(VENV) build *.egg-info $(WEB)/node_modules classroom/static
