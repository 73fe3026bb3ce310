# llmops: the compiler CLI, also usable as the Argo CD Config Management Plugin sidecar image
# (see deploy/argocd/repo-server-sidecar.yaml).
#
#   docker build -t ghcr.io/llmops/llmops:0.1.0 .
#   docker run --rm -v "$PWD:/estate" -w /estate ghcr.io/llmops/llmops:0.1.0 validate
#
# Argo CD requires a CMP sidecar to run as uid 999 (the repo-server's user), so the image does too.
# Every package comes from the hash-checked lock files (requirements/, refreshed by `make lock`).

# --- The trainer image: what the rendered training Jobs run (README: Training) ----------------------------------
#
#   docker build --target trainer -t ghcr.io/llmops/trainer:0.1.0 .
#   docker push ghcr.io/llmops/trainer:0.1.0
#
# llmops with its `train` extra, installed from the hash-checked lock requirements/trainer.txt (`make lock-trainer`)
# into a virtualenv: PyTorch's CPU build (torch==2.13.0+cpu, from PyTorch's CPU wheel index; PyPI's Linux torch is
# the CUDA build), transformers, peft, accelerate, safetensors, tokenizers, fsspec and s3fs. Its entry point is
# `llmops-train`. CPU only: a GPU job needs a CUDA build of this image (spec.image), and the trainer says so.

FROM python:3.11-slim AS trainer-build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY requirements/trainer.txt ./requirements/
# Every file is checked against the lock's hashes, whichever index it comes from.
RUN python -m venv /opt/llmops-train \
    && /opt/llmops-train/bin/pip install --require-hashes --no-deps --extra-index-url "$TORCH_INDEX" \
        -r requirements/trainer.txt
COPY pyproject.toml README.md ./
COPY compiler ./compiler
COPY llmops ./llmops
COPY templates ./templates
# Built by the locked setuptools the virtualenv already holds (torch depends on it).
RUN /opt/llmops-train/bin/pip install --no-deps --no-build-isolation .

FROM python:3.11-slim AS trainer
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    PATH=/opt/llmops-train/bin:$PATH
RUN useradd --uid 1000 --home-dir /home/trainer --create-home --shell /usr/sbin/nologin trainer
COPY --from=trainer-build /opt/llmops-train /opt/llmops-train
# The lock is complete, and the CPU build is the one installed.
RUN python -m pip check \
    && python -c "import torch, transformers, peft, s3fs; assert torch.__version__ == '2.13.0+cpu', torch.__version__"
USER 1000:1000
WORKDIR /home/trainer
ENTRYPOINT ["llmops-train"]

# --- The llmops image: the CLI, the proxy and the Argo CD plugin ------------------------------------------------

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# A C compiler for the proxy's compiled hot path (llmops/proxy/native.py); only in this stage.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
# Dependencies first (a layer that changes only with the locks): the build backend and mypyc into
# this stage, the runtime packages (base and the proxy extra: the rendered llmops-proxy Deployment
# runs `llmops proxy` from this image too) into /install, every one of them even when this stage
# has it already (typing-extensions, which mypy needs too).
COPY requirements/build.txt requirements/native.txt requirements/image.txt ./requirements/
RUN pip install --require-hashes --no-deps -r requirements/build.txt -r requirements/native.txt \
    && pip install --prefix=/install --ignore-installed --require-hashes --no-deps \
        -r requirements/image.txt
COPY pyproject.toml README.md ./
COPY compiler ./compiler
COPY llmops ./llmops
COPY templates ./templates
COPY conformance ./conformance
# A regular (non-editable) install with the locked setuptools: the templates and the vendored CRDs
# travel inside the package (compiler/templates, llmops/conformance/vendored).
RUN pip install --prefix=/install --no-deps --no-build-isolation .
# The proxy's hot path compiled by mypyc (the type checker reads the runtime packages from /install)
# and put beside the installed package's sources, whose digests its stamp holds. Not package data:
# a wheel stays free of one machine's binaries.
RUN PYTHONPATH=/install/lib/python3.11/site-packages python -m llmops.proxy.native_build \
    && cp -r llmops/proxy/_compiled /install/lib/python3.11/site-packages/llmops/proxy/

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# tini: the Argo CD sidecar runs its plugin server under it (deploy/argocd/repo-server-sidecar.yaml).
# The warm llmops server outlives the command that starts it; when it ends, the container's first
# process must reap it, and the plugin server does not.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 999 argocd \
    && useradd --uid 999 --gid 999 --home-dir /home/argocd --create-home --shell /usr/sbin/nologin argocd
COPY --from=build /install /usr/local
# The lock is complete (every installed package's dependencies are installed too), and the proxy
# runs its compiled hot path.
RUN python -m pip check && llmops --version \
    && python -c "from llmops.proxy import native; assert native.in_use(), native.compiled_dir()"
USER 999:999
WORKDIR /home/argocd
ENTRYPOINT ["llmops"]
CMD ["--help"]
