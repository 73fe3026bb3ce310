# llmops: the compiler CLI, also usable as the Argo CD Config Management Plugin sidecar image
# (see deploy/argocd/repo-server-sidecar.yaml).
#
#   docker build -t ghcr.io/llmops/llmops:0.1.0 .
#   docker run --rm -v "$PWD:/estate" -w /estate ghcr.io/llmops/llmops:0.1.0 validate
#
# Argo CD requires a CMP sidecar to run as uid 999 (the repo-server's user), so the image does too.
# Every package comes from the hash-checked lock files (requirements/, refreshed by `make lock`).

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Dependencies first (a layer that changes only with the locks): the build backend into this stage,
# the runtime packages (base and the proxy extra: the rendered llmops-proxy Deployment runs
# `llmops proxy` from this image too) into /install.
COPY requirements/build.txt requirements/image.txt ./requirements/
RUN pip install --require-hashes --no-deps -r requirements/build.txt \
    && pip install --prefix=/install --require-hashes --no-deps -r requirements/image.txt
COPY pyproject.toml README.md ./
COPY compiler ./compiler
COPY llmops ./llmops
COPY templates ./templates
COPY conformance ./conformance
# A regular (non-editable) install with the locked setuptools: the templates and the vendored CRDs
# travel inside the package (compiler/templates, llmops/conformance/vendored).
RUN pip install --prefix=/install --no-deps --no-build-isolation .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 999 argocd \
    && useradd --uid 999 --gid 999 --home-dir /home/argocd --create-home --shell /usr/sbin/nologin argocd
COPY --from=build /install /usr/local
# The lock is complete: every installed package's dependencies are installed too.
RUN python -m pip check && llmops --version
USER 999:999
WORKDIR /home/argocd
ENTRYPOINT ["llmops"]
CMD ["--help"]
