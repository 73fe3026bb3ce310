"""`llmops proxy` and `llmops chat` as a person runs them: a real proxy process configured from the
bundled estate (or from the rendered ConfigMap's proxy.json), a loopback model server, the chat
command against it; and every usage error as one clear line with exit code 2."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from aiohttp import web

import llmops.cli.main  # noqa: F401  (importing it sets a variable for pydantic, once)
from llmops.proxy.server import running_proxy
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate, run_cli, write_files
from tests.helpers.loopback import FakeModelServer, call, free_port, serving, wait_until
from tests.proxy.conftest import config_of, document, endpoint


@contextmanager
def proxy_process(
    *args: str, env: dict[str, str] | None = None, port: int = 0
) -> Iterator[tuple[str, list[str]]]:
    """`llmops proxy ARGS --port PORT` in its own process; yields its URL and, after the block, its
    stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "llmops.cli.main", "proxy", *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})},
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    if " on http://" not in first:
        process.kill()
        raise AssertionError(f"the proxy did not start: {first!r} {process.stderr.read()}")
    stderr: list[str] = []
    try:
        yield first.rsplit(" on ", 1)[1].strip(), stderr
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
        stderr.append(err)
        assert process.returncode == 0, err
    assert "Traceback" not in stderr[0]


@pytest.mark.slow
def test_proxy_from_the_estate_and_chat_against_it() -> None:
    with (
        serving(FakeModelServer()) as model,
        proxy_process(
            str(PROJECT_ROOT), "--env", "dev", "--backend", f"example-model={model.url}"
        ) as (url, _),
    ):
        answer = run_cli(
            "chat", "example-model", "--env", "dev", "Hello! Can you help me?", "--url", url
        )
        assert answer.exit_code == 0, answer.stderr
        assert answer.stdout.strip().endswith("user='Hello! Can you help me?'")
        streamed = run_cli(
            "chat", "example-model", "--env", "dev", "Hi", "--url", url + "/llm-ops/v1", "--stream"
        )
        assert streamed.exit_code == 0, streamed.stderr
        assert streamed.stdout == "w0 w1 w2 \n"
        raw = run_cli(
            "chat",
            "example-model",
            "--env",
            "dev",
            "Hi",
            "--url",
            url,
            "--json",
            "--max-tokens",
            "7",
        )
        assert json.loads(raw.stdout)["object"] == "chat.completion"
        assert model.requests[-1]["max_tokens"] == 7

        other_env = run_cli("chat", "example-model", "--env", "prod", "Hi", "--url", url)
        assert other_env.exit_code == 2
        assert "serves 'dev', not 'prod'" in other_env.stderr
        refused = run_cli(
            "chat", "example-model", "--env", "dev", "Hi", "--url", url, "--roles", "researcher"
        )
        assert refused.exit_code == 1
        assert refused.stderr.startswith(
            "llmops: error: HTTP 403: the role llm-ops-user is required "
            "(X-User-Roles: researcher); llm-ops-user is the default of the setting "
            "spec.proxy.requiredRole, which environments/dev/environment.yaml does not set."
        )
        model.mode = "error500"
        failed = run_cli("chat", "example-model", "--env", "dev", "Hi", "--url", url, "--stream")
        assert failed.exit_code == 1
        assert "answered HTTP 500" in failed.stderr
        model.mode = "cut"
        cut = run_cli("chat", "example-model", "--env", "dev", "Hi", "--url", url, "--stream")
        assert cut.exit_code == 1
        assert cut.stdout == "w0 w1 \n"  # what arrived before the cut
        assert "cut the connection in the middle of a stream" in cut.stderr


def _worker_pids(proxy_pid: int) -> list[int]:
    children = Path(f"/proc/{proxy_pid}/task/{proxy_pid}/children").read_text().split()
    return [int(child) for child in children]


@pytest.mark.slow
def test_workers_share_the_port_and_metrics_add_up() -> None:
    """With --workers 2, two processes answer on one port, each connection goes to either, and
    /metrics (whichever worker answers it) counts the requests of both; SIGTERM stops them all."""
    import urllib.request

    with (
        serving(FakeModelServer()) as model,
        proxy_process(
            str(PROJECT_ROOT),
            "--env",
            "dev",
            "--backend",
            f"example-model={model.url}",
            "--workers",
            "2",
            port=free_port(),
        ) as (url, _),
    ):
        parent = next(
            pid
            for task in Path("/proc/self/task").iterdir()
            for pid in map(int, (task / "children").read_text().split())
            if "--workers" in _cmdline(pid)
        )
        assert len(_worker_pids(parent)) == 2
        body = json.dumps({"messages": [{"role": "user", "content": "Hi"}]}).encode()
        for _ in range(20):  # a new connection each, spread by the kernel over the workers
            request = urllib.request.Request(
                f"{url}/llm-ops/v1/serve/example-model/chat",
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-User-Id": "u1",
                    "X-User-Roles": "llm-ops-user",
                },
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200
        for _ in range(6):
            with urllib.request.urlopen(f"{url}/metrics", timeout=10) as scraped:
                text = scraped.read().decode()
            assert (
                'llmops_proxy_requests_total{api="chat",code="200",endpoint="example-model"} 20.0'
                in text
            ), text
    assert len(model.requests) == 20


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_announced_url_of_an_ipv6_loopback_proxy_can_be_opened(workers: str) -> None:
    """`--host ::1` prints http://[::1]:PORT (brackets, as URLs write an IPv6 address), which a
    browser or urllib can open; `http://::1:PORT` is no URL."""
    import urllib.request

    args = (str(PROJECT_ROOT), "--env", "dev", "--host", "::1", "--workers", workers)
    with proxy_process(*args, port=free_port()) as (url, _):
        assert url.startswith("http://[::1]:"), url
        with urllib.request.urlopen(f"{url}/llm-ops/v1/health", timeout=10) as answer:
            assert answer.status == 200


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


@pytest.mark.slow
def test_proxy_from_the_rendered_configmap(tmp_path: Path) -> None:
    rendered = run_cli("render", str(PROJECT_ROOT), "--env", "dev", "-o", str(tmp_path / "out"))
    assert rendered.exit_code == 0, rendered.stderr
    config_map = yaml.safe_load(
        (tmp_path / "out/dev/v1_configmap_llmops-proxy-config.yaml").read_text()
    )
    proxy_json = tmp_path / "proxy.json"
    proxy_json.write_text(config_map["data"]["proxy.json"], encoding="utf-8")
    with (
        serving(FakeModelServer()) as model,
        proxy_process(
            "--config", str(proxy_json), env={"LLMOPS_PROXY_BACKEND_EXAMPLE_MODEL": model.url}
        ) as (url, _),
    ):
        answer = run_cli("chat", "example-model", "--env", "dev", "Hi", "--url", url)
        assert answer.exit_code == 0, answer.stderr
    assert model.requests[0]["model"] == "example-model"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("proxy", str(PROJECT_ROOT)), "say which environment to serve: --env ENV"),
        (("proxy", str(PROJECT_ROOT), "--env", "qa"), "qa"),
        (
            ("proxy", str(PROJECT_ROOT), "--env", "dev", "--backend", "nope=http://127.0.0.1:1"),
            "--backend names `nope`, which is not an endpoint of dev",
        ),
        (("proxy", "--config", "/nonexistent/proxy.json"), "/nonexistent/proxy.json: no such file"),
        (
            ("proxy", str(PROJECT_ROOT), "--env", "prod"),
            "prod requires a bearer token (Secret 'llmops-proxy-token'), "
            "but LLMOPS_PROXY_TOKEN is not set",
        ),
        (("proxy", str(PROJECT_ROOT), "--env", "dev", "--timeout", "-1"), "must be more than 0"),
        (
            ("proxy", str(PROJECT_ROOT), "--env", "dev", "--stream-idle-timeout", "nan"),
            "must be more than 0",
        ),
        (
            ("proxy", str(PROJECT_ROOT), "--env", "dev", "--max-connections", "0"),
            "expected a whole number of at least 1",
        ),
        (
            ("proxy", str(PROJECT_ROOT), "--env", "dev", "--workers", "2", "--port", "0"),
            "--workers share one port: give it with --port",
        ),
        (
            ("proxy", str(PROJECT_ROOT), "--env", "dev", "--workers", "100000", "--port", "1"),
            "at most 32, got '100000'",
        ),
        (("proxy", str(PROJECT_ROOT), "--env", "dev", "--workers", "0"), "at least 1"),
        # read by int() as 2: a count on a command line is ASCII digits alone
        *(
            (("proxy", str(PROJECT_ROOT), "--env", "dev", "--workers", odd), "at least 1")
            for odd in (" 2", "+2", "\u0662", "2_0")
        ),
        # a port past 65535 wrapped round (70000 served on 4464), -1 was an internal error
        *(
            (
                ("proxy", str(PROJECT_ROOT), "--env", "dev", "--workers", workers, "--port", port),
                "expected a port from 0 to 65535",
            )
            for workers in ("1", "2")
            for port in ("70000", "-1", "65536")
        ),
    ],
)
def test_usage_errors(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str) -> None:
    monkeypatch.delenv("LLMOPS_PROXY_TOKEN", raising=False)
    environment = dict(os.environ)
    result = run_cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert dict(os.environ) == environment  # a refused command leaves its caller as it was


@pytest.mark.slow
def test_workers_leave_the_calling_process_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`llmops proxy --workers 2` run in this process (as a script or a test may run it): the
    workers share their metrics, and afterwards this process has its environment, its signal
    handlers and a single-process prometheus_client again, and no metrics directory is left. (The
    workers' setting once stayed in the caller's environment: every later proxy in the process, and
    every proxy it started, failed on each metric.)"""
    # a temporary directory of this test's own: another proxy on the machine (a benchmark, a
    # parallel test run) creates and removes its metrics directories in the shared one
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    environment = dict(os.environ)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    seen: dict[str, object] = {}

    def use_then_stop() -> None:
        try:
            if wait_until(lambda: _answers(f"{url}/llm-ops/v1/health"), timeout=60, interval=0.1):
                seen["environment while serving"] = dict(os.environ)
                seen["temporary while serving"] = [path.name for path in tmp_path.iterdir()]
                for _ in range(4):  # a connection each: either worker may answer
                    call("POST", f"{url}/llm-ops/v1/serve/nope/chat", {"messages": []}, USER)
                seen["metrics"] = [call("GET", f"{url}/metrics") for _ in range(4)]
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # as Kubernetes stops the pod

    helper = threading.Thread(target=use_then_stop)
    helper.start()
    result = run_cli(
        "proxy", str(PROJECT_ROOT), "--env", "dev", "--workers", "2", "--port", str(port)
    )
    helper.join()
    assert result.exit_code == 0, result.stderr
    assert seen["environment while serving"] == environment
    for scraped in seen["metrics"]:  # type: ignore[attr-defined]
        assert 'code="404",endpoint="(unknown)"} 4.0' in scraped.body.decode(), scraped
    assert dict(os.environ) == environment
    assert {signum: signal.getsignal(signum) for signum in handlers} == handlers
    temporary = seen["temporary while serving"]
    assert isinstance(temporary, list) and len(temporary) == 1, temporary
    assert temporary[0].startswith("llmops-proxy-metrics-")  # the workers' shared metrics
    assert list(tmp_path.iterdir()) == []  # and it is gone
    with running_proxy(config_of(document(endpoint("chat", "http://127.0.0.1:1")))) as later:
        call("POST", f"{later}/llm-ops/v1/serve/nope/chat", {"messages": []}, USER)
        alone = call("GET", f"{later}/metrics")
    assert alone.status == 200
    assert 'code="404",endpoint="(unknown)"} 1.0' in alone.body.decode()


USER = {"X-User-Id": "u1", "X-User-Roles": "llm-ops-user"}


def _answers(url: str) -> bool:
    try:
        return call("GET", url, timeout=2).status == 200
    except OSError:
        return False


def test_estate_with_errors_is_not_served(tmp_path: Path) -> None:
    copy_bundled_estate(tmp_path)
    write_files(
        tmp_path, {"environments/dev/broken.yaml": "apiVersion: llmops.io/v1\nkind: Nope\n"}
    )
    result = run_cli("proxy", str(tmp_path), "--env", "dev")
    assert result.exit_code == 1
    assert "S006" in result.stderr


def test_port_in_use_is_a_usage_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "proxy",
            str(PROJECT_ROOT),
            "--env",
            "dev",
            "--port",
            str(port),
            "--backend",
            "example-model=http://127.0.0.1:1",
        )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"llmops: error: cannot listen on 127.0.0.1:{port}")


def test_chat_without_a_proxy() -> None:
    port = free_port()
    result = run_cli(
        "chat", "example-model", "--env", "dev", "Hi", "--url", f"http://127.0.0.1:{port}"
    )
    assert result.exit_code == 2
    assert f"cannot reach the proxy at http://127.0.0.1:{port}/llm-ops/v1/health" in result.stderr


@dataclass
class GarbledProxy(FakeModelServer):
    """Something at the proxy's address that answers the chat command with what is not the proxy's
    JSON."""

    events: bytes = b""

    def app(self) -> web.Application:
        async def health(request: web.Request) -> web.Response:
            return web.json_response({"status": "success", "data": {"environment": "dev"}})

        async def stream(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            await response.write(self.events)
            await response.write_eof()
            return response

        async def whole(request: web.Request) -> web.Response:
            return web.Response(text="<html>a login page</html>", content_type="text/html")

        app = web.Application()
        app.router.add_get("/llm-ops/v1/health", health)
        app.router.add_post("/llm-ops/v1/serve/{name}/v1/chat/completions", stream)
        app.router.add_post("/llm-ops/v1/serve/{name}/chat", whole)
        return app


@pytest.mark.parametrize(
    ("events", "stream", "message"),
    [
        (b"data: {not json\n\n", True, "the stream carried an event that is not JSON: {not json"),
        (
            b'data: {"choices": [{"delta": {"content": "Hel"}}]}\n\n',
            True,
            "the stream ended without data: [DONE]",
        ),
        (b"", False, "the answer is not JSON: <html>a login page</html>"),
    ],
)
def test_chat_reports_an_answer_it_cannot_read(events: bytes, stream: bool, message: str) -> None:
    with serving(GarbledProxy(events=events)) as garbled:
        result = run_cli(
            "chat",
            "example-model",
            "--env",
            "dev",
            "Hi",
            "--url",
            garbled.url,
            *(["--stream"] if stream else []),
        )
    assert result.exit_code == 1, result.stderr
    assert message in result.stderr


def test_the_command_allows_as_many_workers_as_environment_yaml_does() -> None:
    """A worker count a rendered Deployment can pass is one the command takes, and no more."""
    from compiler.spec.environment import ProxySettings
    from llmops.cli.proxy import MAX_WORKERS

    bounds = ProxySettings.model_json_schema()["properties"]["workers"]
    assert (bounds["minimum"], bounds["maximum"]) == (1, MAX_WORKERS)


@pytest.mark.slow
def test_a_worker_the_system_refuses_stops_the_ones_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the process limit refuses the second worker, the first is stopped and waited for
    (no process left serving the port), and the error says what happened, not 'cannot listen'."""
    real_fork = os.fork
    started: list[int] = []

    def fork_once() -> int:
        if started:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        pid = real_fork()
        if pid:
            started.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork_once)
    port = free_port()
    result = run_cli(
        "proxy", str(PROJECT_ROOT), "--env", "dev", "--workers", "2", "--port", str(port)
    )
    assert result.exit_code == 2, result.stderr
    assert "cannot start 2 workers (started 1): Resource temporarily unavailable" in result.stderr
    assert "give fewer --workers" in result.stderr
    assert len(started) == 1
    with pytest.raises(ChildProcessError):  # already waited for: not a zombie, not running
        os.waitpid(started[0], os.WNOHANG)
    with socket.socket() as probe:  # nobody serves the port
        assert probe.connect_ex(("127.0.0.1", port)) != 0
