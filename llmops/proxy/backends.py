"""What each model-server runtime serves where, and local overrides of backend addresses.

- KServe's Hugging Face runtime (``kserve-openai``) mounts the OpenAI routes under ``/openai/v1``
  and answers readiness at ``/v1/models/<served name>`` (``{"name": ..., "ready": true}``).
- A vLLM OpenAI server (``vllm-openai``) serves them under ``/v1`` and readiness at ``/health``.

Either answers to the served model name, which the proxy puts in every request's ``model`` field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from compiler.errors import LlmopsError
from compiler.printable import shown_argument
from llmops.proxy.config import Backend, ProxyConfig

OPENAI_PREFIX = {"kserve-openai": "/openai/v1", "vllm-openai": "/v1"}
OVERRIDE_ENV_PREFIX = "LLMOPS_PROXY_BACKEND_"


def openai_base(backend: Backend) -> str:
    """The URL the OpenAI paths (`chat/completions`, `completions`, `embeddings`, `models`) go
    under."""
    prefix = (
        backend.openai_prefix if backend.openai_prefix is not None else OPENAI_PREFIX[backend.api]
    )
    return backend.url.rstrip("/") + prefix


def health_url(backend: Backend) -> str:
    if backend.api == "vllm-openai":
        return backend.url.rstrip("/") + "/health"
    return f"{backend.url.rstrip('/')}/v1/models/{backend.served_model_name}"


def is_ready(backend: Backend, status: int, body: object) -> bool:
    """KServe answers 200 with `ready: false` while loading; vLLM answers 200 only when it can
    serve."""
    if status != 200:
        return False
    if backend.api == "kserve-openai":
        return isinstance(body, dict) and body.get("ready") is True
    return True


def override_env_name(endpoint: str) -> str:
    """`example-model` -> `LLMOPS_PROXY_BACKEND_EXAMPLE_MODEL`."""
    return OVERRIDE_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", endpoint.upper())


def parse_override(text: str) -> tuple[str, str]:
    """`NAME=URL` from `--backend`."""
    name, sep, url = text.partition("=")
    if not sep or not name.strip() or not url.strip():
        raise LlmopsError(
            f"--backend `{shown_argument(text)}` is not NAME=URL",
            hint="e.g. --backend example-model=http://127.0.0.1:8080",
        )
    return name.strip(), url.strip()


def overridden_backend(backend: Backend, url: str, endpoint: str) -> Backend:
    """The backend at `url`: a server root keeps the endpoint's runtime; a URL ending in
    `/openai/v1` (KServe) or `/v1` (vLLM) is the OpenAI base itself and says which runtime it is."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LlmopsError(
            f"backend URL {url!r} for {endpoint} is not an http(s) URL",
            hint="e.g. http://127.0.0.1:8080",
        )
    path = parts.path.rstrip("/")
    root = f"{parts.scheme}://{parts.netloc}"
    if path == "":
        return backend.model_copy(update={"url": root})
    for api in ("kserve-openai", "vllm-openai"):
        prefix = OPENAI_PREFIX[api]
        if path.endswith(prefix):
            return backend.model_copy(
                update={"url": root + path[: -len(prefix)], "api": api, "openai_prefix": prefix}
            )
    raise LlmopsError(
        f"backend URL {url!r} for {endpoint} has a path the proxy does not know",
        hint="give the server's root (http://host:port), or its OpenAI base ending in "
        "/openai/v1 (KServe) or /v1 (vLLM)",
    )


def apply_overrides(
    config: ProxyConfig, flags: Iterable[str], environ: Mapping[str, str] | None = None
) -> ProxyConfig:
    """Replace backend addresses for local use: `LLMOPS_PROXY_BACKEND_<NAME>` variables, then
    `--backend` flags (which win). An override naming no endpoint is an error, not silently
    unused."""
    environ = os.environ if environ is None else environ
    known = {endpoint.name for endpoint in config.endpoints}
    urls: dict[str, str] = {}
    for endpoint in config.endpoints:
        value = environ.get(override_env_name(endpoint.name), "").strip()
        if value:
            urls[endpoint.name] = value
    for flag in flags:
        name, url = parse_override(flag)
        if name not in known:
            raise LlmopsError(
                f"--backend names `{shown_argument(name)}`, which is not an endpoint of "
                f"{config.environment}",
                hint=f"endpoints: {', '.join(sorted(known)) or 'none'}",
            )
        urls[name] = url
    if not urls:
        return config
    endpoints = tuple(
        endpoint.model_copy(
            update={
                "backend": overridden_backend(endpoint.backend, urls[endpoint.name], endpoint.name)
            }
        )
        if endpoint.name in urls
        else endpoint
        for endpoint in config.endpoints
    )
    return config.model_copy(update={"endpoints": endpoints})
