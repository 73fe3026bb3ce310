# The two commands of the README quickstart:
#   make run   installs llmops into .venv, validates the bundled environments/ and renders them into out/
#   make test  installs llmops with its test extras into .venv, lints, type-checks and runs every test (CI)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
KSERVE_VENV ?= .venv-kserve
KSERVE_REQUIREMENTS = examples/sandbox/requirements-kserve.txt
TRAIN_VENV ?= .venv-train
TRAIN_REQUIREMENTS = requirements/trainer.txt requirements/trainer-test.txt

.PHONY: run test bench bench-render bench-proxy kserve-venv train-venv lock-trainer sandbox-backend schemas clean

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

# The trainer (llmops/train/, the `trainer` image) and its tests: PyTorch's CPU build, transformers, peft, fsspec,
# s3fs, plus moto's S3 server for the tests, in its own virtualenv so the compiler's install stays light. The tests
# run the trainer from this source tree with this virtualenv's Python (`python -m llmops.train`). No bytecode at
# install time (--no-compile): a fifth faster, and Python compiles the modules a run imports.
$(TRAIN_VENV)/.installed: $(TRAIN_REQUIREMENTS)
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile --require-hashes --no-deps \
		$(addprefix -r ,$(TRAIN_REQUIREMENTS))
	touch $@

train-venv: $(TRAIN_VENV)/.installed

# Refresh the trainer's locks (uv pip compile, hash-checked). PyTorch's `+cpu` build is taken from PyTorch's CPU
# index, or from a folder of wheels with TORCH_WHEELS=DIR; `UPGRADE=1` takes the newest versions.
UV ?= uv
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TRAIN_COMPILE = $(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	--custom-compile-command "make lock-trainer" $(if $(UPGRADE),--upgrade)

lock-trainer:
	$(TRAIN_COMPILE) $(if $(TORCH_WHEELS),--find-links $(TORCH_WHEELS),--extra-index-url $(TORCH_INDEX) \
		--index-strategy unsafe-best-match) --extra train -o requirements/trainer.txt pyproject.toml requirements/trainer.in
	$(TRAIN_COMPILE) -c requirements/trainer.txt -o requirements/trainer-test.txt requirements/trainer-test.in

run: $(BIN)/.installed
	$(BIN)/llmops validate .
	$(BIN)/llmops render -o out .

test: $(BIN)/.installed $(KSERVE_VENV)/.installed $(TRAIN_VENV)/.installed
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
	rm -rf $(VENV) $(KSERVE_VENV) $(TRAIN_VENV) .pytest_cache .hypothesis
