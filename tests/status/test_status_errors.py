"""A cluster that cannot be read is exit code 2 with one clear line, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from tests.helpers.estate import CliResult, run_cli
from tests.helpers.kube_api import KubeApiServer
from tests.status.conftest import Rendered, deploy_healthy

pytestmark = pytest.mark.slow  # starts a server (in a thread)


def status(estate: Path, *extra: str) -> CliResult:
    return run_cli("status", str(estate), "--env", "dev", *extra)


def assert_one_line_error(result: CliResult, *expected: str) -> str:
    assert result.exit_code == 2, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    first, *rest = result.stderr.splitlines()
    assert first.startswith("llmops: error: "), result.stderr
    assert all(line.startswith("  hint: ") for line in rest) and len(rest) <= 1, result.stderr
    for text in expected:
        assert text in result.stderr, (text, result.stderr)
    return first


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_unreachable_cluster(estate: Path, tmp_path: Path) -> None:
    server = f"http://127.0.0.1:{closed_port()}"
    kubeconfig = KubeApiServer().write_kubeconfig(tmp_path / "kubeconfig", server=server)
    first = assert_one_line_error(status(estate, "--kubeconfig", str(kubeconfig)))
    assert first.startswith(f"llmops: error: cannot reach the cluster at {server}: ")
    assert first.endswith("Connection refused"), first


def test_wrong_token_is_401(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, tmp_path: Path
) -> None:
    deploy_healthy(cluster, rendered)
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig", token="expired-token")
    assert_one_line_error(
        status(estate, "--kubeconfig", str(kubeconfig)),
        f"the cluster at {cluster.url} rejected the credentials (401 Unauthorized)",
        "hint: log in again",
    )
    assert {auth for _, auth in cluster.requests} == {"Bearer expired-token"}


def test_forbidden_read_is_403_with_the_api_servers_message(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.forbidden.add(
        "/apis/serving.kserve.io/v1beta1/namespaces/llm-ops-dev/inferenceservices/example-model"
    )
    first = assert_one_line_error(
        status(estate, "--kubeconfig", str(kubeconfig)),
        "hint: llmops status needs `get` on inferenceservices.serving.kserve.io",
    )
    assert first == (
        "llmops: error: not allowed to read InferenceService llm-ops-dev/example-model "
        "(403 Forbidden): "
        'inferenceservices.serving.kserve.io "example-model" is forbidden: User '
        '"system:serviceaccount:ci:status-reader" cannot get resource "inferenceservices" '
        "in API group "
        '"serving.kserve.io" in the namespace "llm-ops-dev"'
    )


def test_server_error_names_the_object(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.failing["/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/llmops-dev"] = [500]
    first = assert_one_line_error(status(estate, "--kubeconfig", str(kubeconfig)))
    assert first == (
        f"llmops: error: the cluster at {cluster.url} answered 500 Internal Server Error reading "
        "Application argocd/llmops-dev: etcdserver: request timed out"
    )


def test_kubeconfig_that_does_not_exist(estate: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "kubeconfig"
    assert_one_line_error(
        status(estate, "--kubeconfig", str(missing)), f"kubeconfig {missing} does not exist"
    )


@pytest.mark.parametrize("kind", ["directory", "device"])
def test_kubeconfig_that_is_not_a_file(estate: Path, tmp_path: Path, kind: str) -> None:
    """A path that exists but holds no file is told apart from one that is not there."""
    path = Path("/dev/null") if kind == "device" else tmp_path
    assert_one_line_error(
        status(estate, "--kubeconfig", str(path)), f"kubeconfig {path} is not a regular file"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clusters: [\n  - name: a\n", "cannot use kubeconfig"),
        ("- just\n- a list\n", "is not a kubeconfig"),
        (
            "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
            "sets no current-context",
        ),
        (
            "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters: []\ncontexts: "
            "[]\nusers: []\n",
            "the current-context `gone` of kubeconfig",
        ),
        ("", "is not a kubeconfig"),
        (
            "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: "
            "{cluster: nope}\n",
            "cannot use kubeconfig",
        ),
    ],
)
def test_bad_kubeconfig(estate: Path, tmp_path: Path, text: str, expected: str) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text, encoding="utf-8")
    assert_one_line_error(status(estate, "--kubeconfig", str(kubeconfig)), expected)


def test_unknown_context_lists_the_known_ones(estate: Path, kubeconfig: Path) -> None:
    first = assert_one_line_error(
        status(estate, "--kubeconfig", str(kubeconfig), "--context", "prod-cluster"),
        "hint: its contexts: test-cluster",
    )
    assert first == f"llmops: error: context `prod-cluster` is not in kubeconfig {kubeconfig}"


def test_context_selects_the_cluster(
    estate: Path, rendered: Rendered, cluster: KubeApiServer, kubeconfig: Path
) -> None:
    """The current context points at nothing; `--context` picks the one that works."""
    deploy_healthy(cluster, rendered)
    config = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
    config["clusters"].append(
        {"name": "gone", "cluster": {"server": f"http://127.0.0.1:{closed_port()}"}}
    )
    config["contexts"].append(
        {"name": "gone", "context": {"cluster": "gone", "user": "status-reader"}}
    )
    config["current-context"] = "gone"
    kubeconfig.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert_one_line_error(
        status(estate, "--kubeconfig", str(kubeconfig)), "cannot reach the cluster"
    )
    result = status(estate, "--kubeconfig", str(kubeconfig), "--context", "test-cluster")
    assert result.exit_code == 0, result.stderr


def test_kubeconfig_from_the_environment(
    estate: Path,
    rendered: Rendered,
    cluster: KubeApiServer,
    kubeconfig: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    deploy_healthy(cluster, rendered)
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'absent'}:{kubeconfig}")
    result = status(estate)
    assert result.exit_code == 0, result.stderr
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert_one_line_error(
        status(estate), f"no kubeconfig at {tmp_path / 'absent'}", "hint: pass --kubeconfig PATH"
    )


@pytest.mark.parametrize(
    "argv", [("--interval", "0"), ("--interval", "-1"), ("--watch-count", "0"), ("-o", "yaml")]
)
def test_usage_errors(estate: Path, argv: tuple[str, ...]) -> None:
    result = status(estate, *argv)
    assert result.exit_code == 2
    assert "usage: llmops status" in result.stderr


DEEP = b"[" * 100_000 + b"]" * 100_000
ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/llm-ops-dev/inferenceservices/example-model"


@pytest.mark.parametrize(
    ("code", "body", "expected"),
    [
        (200, b'{"spec": ' + DEEP + b"}", "nested more than 100 levels deep"),
        (200, b'{"spec": {"replicas": ' + b"9" * 5000 + b"}}", "an integer of 5000 digits"),
        (200, b'{"spec": {"x": NaN}}', "`NaN` is not a JSON number"),
        (200, b'{"spec": {"x": 1e999}}', "too large for a double"),
        (500, b'{"message": ' + DEEP + b"}", "answered 500"),
        (404, b'{"details": ' + DEEP + b"}", None),
    ],
)
def test_hostile_json_from_the_api_server_is_one_line(
    estate: Path,
    rendered: Rendered,
    cluster: KubeApiServer,
    kubeconfig: Path,
    code: int,
    body: bytes,
    expected: str | None,
) -> None:
    deploy_healthy(cluster, rendered)
    cluster.raw[ISVC] = (code, body)
    result = status(estate, "--kubeconfig", str(kubeconfig))
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result
    if expected is None:  # a 404 whose body is not a Status: the object is reported missing
        assert result.exit_code in (0, 1), result
        return
    assert_one_line_error(result, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # deeper than PyYAML's recursion, shallower than libyaml's own bound (1,000 levels)
        ("clusters: " + "[" * 900 + "]" * 900 + "\n", "nested more than 64 levels deep"),
        ("a:\n" + "".join(" " * level + "- \n" for level in range(1, 900)), "more than 64"),
    ],
)
def test_deeply_nested_kubeconfig(estate: Path, tmp_path: Path, text: str, expected: str) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text, encoding="utf-8")
    assert_one_line_error(status(estate, "--kubeconfig", str(kubeconfig)), expected)


class _Answering:
    """An API server on 127.0.0.1 whose every answer misbehaves (``how``): a body without end
    (``endless``, with ``status``), one dripping a byte at a time (``drip``), a gzip body that
    decodes to gigabytes (``bomb``), a head dripping a byte at a time (``drip-head``), or
    `100 Continue` for ever (``continue``)."""

    def __init__(self, how: str, status: int = 200) -> None:
        import gzip
        import socketserver
        import threading

        stop = threading.Event()
        self.stop = stop
        bomb = gzip.compress(b"x" * (256 << 20), compresslevel=9) if how == "bomb" else b""

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                try:
                    self.rfile.readline()  # the request line; the rest is not read
                    out = self.wfile
                    if how == "drip-head":
                        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 10_000:
                            if stop.wait(0.2):
                                return
                            out.write(bytes([byte]))
                            out.flush()
                        return
                    if how == "continue":
                        while not stop.is_set():
                            out.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                            out.flush()
                            stop.wait(0.01)
                        return
                    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    if how == "bomb":
                        head += f"Content-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n\r\n"
                        out.write(head.encode() + bomb)
                        return
                    out.write(head.encode() + b"\r\n" + b'{"a": "')
                    while not stop.is_set():
                        out.write(b"x" * (1 << 20) if how == "endless" else b"x")
                        out.flush()
                        if how == "drip":
                            stop.wait(0.2)
                except OSError:
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("how", "code", "said"),
    [
        ("endless", 200, "more than 8,388,608 bytes"),
        ("endless", 404, "more than 8,388,608 bytes"),
        ("endless", 500, "more than 8,388,608 bytes"),
        ("bomb", 500, "more than 8,388,608 bytes"),
        ("drip", 200, "did not finish"),
        ("drip", 403, "did not finish"),
        ("drip-head", 200, "did not answer"),
        ("continue", 200, "did not answer"),
    ],
)
def test_an_answer_without_end_is_bounded_in_size_and_time(
    estate: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    code: int,
    said: str,
) -> None:
    """The body was read whole before its size was checked, an error's body whole by the client
    library (decoded: a gzip bomb too), and a head or body dripping a byte at a time never
    tripped the timeout of each read: gigabytes of memory, or no end."""
    import resource

    from llmops.cluster import client

    monkeypatch.setattr(client, "ANSWER_SECONDS", 2.0)
    monkeypatch.setattr(client, "READ_TIMEOUT_SECONDS", 2.0)
    server = _Answering(how, code)
    try:
        kubeconfig = KubeApiServer().write_kubeconfig(tmp_path / "kubeconfig", server=server.url)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert_one_line_error(status(estate, "--kubeconfig", str(kubeconfig)), said)
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        assert grown_kib < 200 * 1024, grown_kib
    finally:
        server.close()
