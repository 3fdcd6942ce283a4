# Takhti: `make run` sets everything up and starts the server; `make test` sets up and tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup run test lint docs teacher bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## run: set up, then run the server on the embedded SQLite store (data in ./data)
run: setup
	@$(PY) -c "import sys; from classroom.cli import main; sys.exit(main(['serve']))"

## teacher: add a teacher account, e.g. `make teacher NAME=amina` (asks for a password)
teacher: setup
	$(VENV)/bin/classroom teacher add $(NAME)

## test: set up, then run the whole suite (needs redis-server; .ci/run installs it)
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check classroom boardclient tests bench
	$(VENV)/bin/mypy

docs: setup
	$(VENV)/bin/classroom docs

bench: setup
	$(PY) bench/join.py

clean:
	rm -rf $(VENV) build *.egg-info
