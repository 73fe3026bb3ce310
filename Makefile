# The two commands of the README quickstart:
#   make run   installs llmops into .venv, validates the bundled environments/ and renders them into out/
#   make test  installs llmops with its test extras into .venv, lints, type-checks and runs every test (CI)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
KSERVE_VENV ?= .venv-kserve
KSERVE_REQUIREMENTS = examples/sandbox/requirements-kserve.txt

.PHONY: run test bench bench-render bench-proxy kserve-venv sandbox-backend schemas clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# KServe 0.14.1 for the sandbox model server and tests/proxy, in its own virtualenv (its pins clash with ours).
$(KSERVE_VENV)/.installed: $(KSERVE_REQUIREMENTS)
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(KSERVE_REQUIREMENTS)
	touch $@

kserve-venv: $(KSERVE_VENV)/.installed

run: $(BIN)/.installed
	$(BIN)/llmops validate .
	$(BIN)/llmops render -o out .

test: $(BIN)/.installed $(KSERVE_VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/llmops schema --check
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_validate.py

bench-render: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_render.py

bench-proxy: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_proxy.py

# The bundled dev estate's example-model, answered by the deterministic model server (see README: Proxy).
sandbox-backend: $(KSERVE_VENV)/.installed
	$(KSERVE_VENV)/bin/python examples/sandbox/echo_model.py --model_name example-model --http_port 8080

schemas: $(BIN)/.installed
	$(BIN)/llmops schema

clean:
	rm -rf $(VENV) $(KSERVE_VENV) .pytest_cache .hypothesis
