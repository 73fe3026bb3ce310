"""What the console's browser tests and `make screenshots` share: a real `llmops proxy` process
serving a copy of the bundled estate (a git checkout), the sandbox model server from
.venv-kserve, and headless Chromium from Debian's package driven by Playwright (no browser
download)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate
from tests.helpers.git_repo import commit_all, init_repository
from tests.helpers.loopback import call, free_port, wait_until

CHROMIUM = Path(os.environ.get("LLMOPS_CHROMIUM", "/usr/bin/chromium"))
KSERVE_PYTHON = PROJECT_ROOT / ".venv-kserve" / "bin" / "python"
ECHO_MODEL = PROJECT_ROOT / "examples" / "sandbox" / "echo_model.py"
LLMOPS = Path(sys.executable).with_name("llmops")
TOKEN_DELAY = 0.05
USER = {"X-User-Id": "admin", "X-User-Roles": "admin,llm-ops-user"}


def missing_browser() -> str | None:
    """Why the browser tests cannot run, or None: they fail (never skip) without Chromium."""
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM}: `make browser` installs Debian's package"
    return None


def git_estate(destination: Path) -> Path:
    """A copy of the bundled estate, committed (the endpoint page shows its git history)."""
    root = copy_bundled_estate(destination)
    commit_all(init_repository(root), "The bundled estate")
    return root


@contextmanager
def _process(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, env=env
        )
    try:
        yield
        assert process.poll() is None, log.read_text()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serving(url: str, path: str) -> bool:
    try:
        return call("GET", url + path, timeout=1).status == 200
    except OSError:
        return False


@contextmanager
def echo_model(logs: Path) -> Iterator[str]:
    """The sandbox's deterministic model server (KServe 0.14.1), one word per token."""
    subprocess.run(["make", "-s", "kserve-venv"], cwd=PROJECT_ROOT, check=True, timeout=900)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = logs / "echo-model.log"
    command = [str(KSERVE_PYTHON), str(ECHO_MODEL), "--model_name", "example-model"]
    command += ["--http_port", str(port), "--token_delay", str(TOKEN_DELAY)]
    with _process(command, log):
        ready = wait_until(lambda: _serving(url, "/v1/models/example-model"), 90, 0.2)
        assert ready, log.read_text()
        yield url
    assert "Traceback" not in log.read_text(), log.read_text()


@contextmanager
def llmops_proxy(
    estate: Path,
    logs: Path,
    *,
    backend: str | None = None,
    kubeconfig: Path | None = None,
    token: str | None = None,
    extra: tuple[str, ...] = (),
    env_name: str = "dev",
) -> Iterator[str]:
    """`llmops proxy ESTATE --env dev` on a free loopback port; the cluster it reads is the
    kubeconfig given (a missing file: an unreadable cluster); ``extra``: more arguments."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("LLMOPS_PROXY_TOKEN", "KUBECONFIG")}
    env["KUBECONFIG"] = str(kubeconfig or logs / "no-kubeconfig")
    env["HOME"] = str(logs)  # no ~/.kube/config of the machine's
    if token is not None:
        env["LLMOPS_PROXY_TOKEN"] = token
    command = [str(LLMOPS), "proxy", str(estate), "--env", env_name, "--port", str(port)]
    if backend is not None:
        command += ["--backend", f"example-model={backend}"]
    command += extra
    url = f"http://127.0.0.1:{port}"
    log = logs / f"proxy-{port}.log"
    with _process(command, log, env):
        assert wait_until(lambda: _serving(url, "/llm-ops/v1/health"), 60, 0.1), log.read_text()
        yield url
    assert "Traceback" not in log.read_text(), log.read_text()
