"""The llmops proxy: the original platform's serving API in front of KServe / vLLM model servers.

Configured by `proxy.json` (version 1), which `llmops render` writes into the proxy's ConfigMap and
`llmops proxy` renders in-process from the manifests. Entry points for scripts and tests:

- ``llmops.proxy.config_source.config_from_estate(repo, env)`` / ``config_from_file(path)``
- ``llmops.proxy.app.build_app(config, options)``: the aiohttp application
- ``llmops.proxy.server.serve(app, host, port)``: serve until SIGINT/SIGTERM
- ``llmops.proxy.server.running_proxy(config, options)``: a context manager serving in a background
  thread on a free loopback port, yielding its base URL

This package imports aiohttp only in the modules that need it (``app``, ``server``, the route and
upstream modules), so ``config`` and ``config_source`` stay cheap to import.
"""

from llmops.proxy.native import compiled_dir as _compiled_dir

# The hot path compiled by mypyc (llmops/proxy/native.py), when built from these very sources.
COMPILED_DIR, COMPILED_STATE = _compiled_dir()
if COMPILED_DIR is not None:
    __path__.insert(0, str(COMPILED_DIR))
