# The two commands of the README quickstart:
#   make run   installs what running llmops needs into .venv, validates the bundled environments/ and renders them into out/
#   make test  installs llmops with its test tools into .venv, compiles the proxy's hot path, lints, type-checks
#              and runs every test (CI), the proxy's also on its Python sources
# Every install comes from the hash-checked lock files in requirements/ (`make lock` refreshes them).
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
KSERVE_VENV ?= .venv-kserve
KSERVE_REQUIREMENTS = examples/sandbox/requirements-kserve.txt
TRAIN_VENV ?= .venv-train
TRAIN_REQUIREMENTS = requirements/trainer.txt requirements/trainer-test.txt
SERVE_VENV ?= .venv-serve
SERVE_REQUIREMENTS = requirements/serve.txt
LOCK_VENV ?= .venv-lock
PIP = -m pip install --quiet --disable-pip-version-check
# The locks are complete (every transitive dependency, pinned and hashed): nothing is resolved at install time.
LOCKED = $(PIP) --require-hashes --no-deps
# llmops itself is built by the locked setuptools (requirements/build.txt), not a fresh download.
SELF = $(PIP) --no-deps --no-build-isolation -e .
# An editable install leaves llmops's own modules without bytecode, and where Python writes none
# (PYTHONDONTWRITEBYTECODE set, a read-only checkout) every run compiled all of them again: about
# 0.1 s of each cold `llmops validate`. Compiled at install, as pip compiles a regular install, and
# again by `make run` (only modules edited since: about 0.06 s when none was). Python checks each
# .pyc against its module's size and time, so an edited module is never run from a stale one.
BYTECODE = -m compileall -q compiler llmops
UV_COMPILE = $(LOCK_VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

.PHONY: run extras test native browser screenshots lock bench bench-render bench-cache bench-proxy soak-proxy bench-console kserve-venv train-venv serve-venv lock-trainer sandbox-backend schemas clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	touch $@

# What `llmops validate` and `llmops render` need: the base dependencies only.
$(BIN)/.installed-run: $(VENV)/.created pyproject.toml requirements/build.txt requirements/run.txt
	$(BIN)/python $(LOCKED) -r requirements/build.txt -r requirements/run.txt
	$(BIN)/python $(SELF)
	$(BIN)/python $(BYTECODE)
	$(BIN)/python -m pip check --disable-pip-version-check >/dev/null
	touch $@

# Everything: every extra (status, proxy, conform) and the test, lint and type-check tools.
$(BIN)/.installed-test: $(VENV)/.created pyproject.toml requirements/build.txt requirements/test.txt
	$(BIN)/python $(LOCKED) -r requirements/build.txt -r requirements/test.txt
	$(BIN)/python $(SELF)
	$(BIN)/python $(BYTECODE)
	$(BIN)/python -m pip check --disable-pip-version-check >/dev/null
	touch $@

# KServe 0.14.1 for the sandbox model server and tests/proxy, in its own virtualenv (its pins clash with ours).
# Every optional extra (status, proxy, conform) into the .venv of `make run`, from the lock: test.txt
# holds them (with the test tools; one lock, so one version of each package everywhere).
extras: $(BIN)/.installed-test

$(KSERVE_VENV)/.installed: $(KSERVE_REQUIREMENTS)
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python $(LOCKED) -r $(KSERVE_REQUIREMENTS)
	touch $@

kserve-venv: $(KSERVE_VENV)/.installed

# The trainer (llmops/train/, the `trainer` image) and its tests: PyTorch's CPU build, transformers, peft, fsspec,
# s3fs, plus moto's S3 server for the tests, in its own virtualenv so the compiler's install stays light. The tests
# run the trainer from this source tree with this virtualenv's Python (`python -m llmops.train`). No bytecode at
# install time (--no-compile): a fifth faster, and Python compiles the modules a run imports.
$(TRAIN_VENV)/.installed: $(TRAIN_REQUIREMENTS)
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/python $(LOCKED) -r requirements/trainer.txt -r requirements/trainer-test.txt --no-compile
	touch $@

train-venv: $(TRAIN_VENV)/.installed

# The model server for what the trainer wrote (examples/sandbox/huggingface_model.py): KServe 0.14.1's
# ModelServer and OpenAI routes with transformers on PyTorch's CPU build, in its own virtualenv (KServe
# 0.14.1 needs numpy<2, the trainer's lock has numpy 2). Upstream's huggingfaceserver is not on PyPI.
$(SERVE_VENV)/.installed: $(SERVE_REQUIREMENTS)
	$(PYTHON) -m venv $(SERVE_VENV)
	$(SERVE_VENV)/bin/python $(LOCKED) -r $(SERVE_REQUIREMENTS) --no-compile
	touch $@

serve-venv: $(SERVE_VENV)/.installed

# Refresh the trainer's and the model server's locks (uv pip compile, hash-checked). PyTorch's `+cpu` build
# is taken from PyTorch's CPU index, or from a folder of wheels with TORCH_WHEELS=DIR; `UPGRADE=1` takes the
# newest versions.
UV ?= $(LOCK_VENV)/bin/uv
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TRAIN_COMPILE = $(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	--custom-compile-command "make lock-trainer" $(if $(UPGRADE),--upgrade)

lock-trainer: $(LOCK_VENV)/.installed
	$(TRAIN_COMPILE) $(if $(TORCH_WHEELS),--find-links $(TORCH_WHEELS),--extra-index-url $(TORCH_INDEX) \
		--index-strategy unsafe-best-match) --extra train -o requirements/trainer.txt pyproject.toml requirements/trainer.in
	$(TRAIN_COMPILE) -c requirements/trainer.txt -o requirements/trainer-test.txt requirements/trainer-test.in
	$(TRAIN_COMPILE) $(if $(TORCH_WHEELS),--find-links $(TORCH_WHEELS),--extra-index-url $(TORCH_INDEX) \
		--index-strategy unsafe-best-match) -o $(SERVE_REQUIREMENTS) requirements/serve.in

run: $(BIN)/.installed-run
	$(BIN)/python $(BYTECODE)
	$(BIN)/llmops validate .
	$(BIN)/llmops render -o out .

# Debian's chromium for the console's browser tests (tests/console, driven by Playwright with this
# binary: no browser download), installed when missing; CI runs as root. Elsewhere: sudo make browser.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -x $(CHROMIUM) || { echo "no chromium at $(CHROMIUM)" >&2; exit 1; }

# PNGs of every console page into docs/console/ (the README shows them), from the bundled estate.
screenshots: $(BIN)/.installed-test $(KSERVE_VENV)/.installed browser
	$(BIN)/python -m tests.console.screenshots docs/console

# The proxy's hot path compiled to C by mypyc (llmops/proxy/native.py; needs a C compiler and Python's
# headers), into llmops/proxy/_compiled/. The build's stamp (the digest of every proxy source) decides,
# not file times: it returns at once when the build is up to date; until it runs again after an edit,
# the proxy runs its sources as written, never a stale build.
native: $(BIN)/.installed-test
	$(BIN)/python -m llmops.proxy.native_build

test: $(BIN)/.installed-test native $(KSERVE_VENV)/.installed $(TRAIN_VENV)/.installed $(SERVE_VENV)/.installed browser
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/llmops schema --check
	$(BIN)/python -m pytest
	# the proxy's tests again on its Python sources: what runs where the compiled build is missing or stale
	LLMOPS_PROXY_COMPILED=0 $(BIN)/python -m pytest -q tests/proxy

# Refresh the lock files from pyproject.toml and the *.in files: keeps every pin that still fits, and
# takes the newest versions with `make lock UPGRADE=1`. test.txt is resolved first; the other llmops
# locks are constrained by it, so one package has one version in all of them.
$(LOCK_VENV)/.installed: requirements/tools.txt
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python $(LOCKED) -r requirements/tools.txt
	touch $@

lock: $(LOCK_VENV)/.installed
	$(UV_COMPILE) -o requirements/test.txt pyproject.toml --extra test
	$(UV_COMPILE) -o requirements/run.txt pyproject.toml -c requirements/test.txt
	$(UV_COMPILE) -o requirements/image.txt pyproject.toml --extra proxy -c requirements/test.txt
	$(UV_COMPILE) -o requirements/build.txt requirements/build.in
	$(UV_COMPILE) -o requirements/native.txt requirements/native.in -c requirements/test.txt
	$(UV_COMPILE) -o requirements/tools.txt requirements/tools.in
	$(UV_COMPILE) -o $(KSERVE_REQUIREMENTS) examples/sandbox/requirements-kserve.in

bench: $(BIN)/.installed-run
	$(BIN)/python benchmarks/bench_validate.py

bench-render: $(BIN)/.installed-run
	$(BIN)/python benchmarks/bench_render.py

bench-cache: $(BIN)/.installed-run
	$(BIN)/python benchmarks/bench_cache.py

# Compared against nginx in the same run: installed from Debian's packages when missing (as root).
bench-proxy: $(BIN)/.installed-test native
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light)
	$(BIN)/python benchmarks/bench_proxy.py

# Memory under valid and hostile traffic mixed (benchmarks/soak_proxy.py): fails when it grows.
soak-proxy: $(BIN)/.installed-test native
	$(BIN)/python benchmarks/soak_proxy.py --check

bench-console: $(BIN)/.installed-test
	$(BIN)/python benchmarks/bench_console.py

# The bundled dev estate's example-model, answered by the deterministic model server (see README: Proxy).
sandbox-backend: $(KSERVE_VENV)/.installed
	$(KSERVE_VENV)/bin/python examples/sandbox/echo_model.py --model_name example-model --http_port 8080

schemas: $(BIN)/.installed-run
	$(BIN)/llmops schema

clean:
	rm -rf llmops/proxy/_compiled llmops/proxy/_compiled.new-* llmops/proxy/.compiled.lock $(VENV) $(KSERVE_VENV) $(TRAIN_VENV) $(SERVE_VENV) $(LOCK_VENV) .pytest_cache .hypothesis
