# llmops: the compiler CLI, also usable as the Argo CD Config Management Plugin sidecar image
# (see deploy/argocd/repo-server-sidecar.yaml).
#
#   docker build -t ghcr.io/llmops/llmops:0.1.0 .
#   docker run --rm -v "$PWD:/estate" -w /estate ghcr.io/llmops/llmops:0.1.0 validate
#
# Argo CD requires a CMP sidecar to run as uid 999 (the repo-server's user), so the image does too.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY compiler ./compiler
COPY llmops ./llmops
COPY templates ./templates
# A regular (non-editable) install: the templates travel inside the package (compiler/templates).
# With the proxy extra: the rendered llmops-proxy Deployment runs `llmops proxy` from this image too.
RUN pip install --no-cache-dir --prefix=/install ".[proxy]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 999 argocd \
    && useradd --uid 999 --gid 999 --home-dir /home/argocd --create-home --shell /usr/sbin/nologin argocd
COPY --from=build /install /usr/local
USER 999:999
WORKDIR /home/argocd
ENTRYPOINT ["llmops"]
CMD ["--help"]
