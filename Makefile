# The two commands of the README quickstart:
#   make run   installs llmops into .venv, validates the bundled environments/ and renders them into out/
#   make test  installs llmops with its test extras into .venv, lints, type-checks and runs every test (CI)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: run test bench bench-render schemas clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/llmops validate .
	$(BIN)/llmops render -o out .

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/llmops schema --check
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_validate.py

bench-render: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_render.py

schemas: $(BIN)/.installed
	$(BIN)/llmops schema

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
