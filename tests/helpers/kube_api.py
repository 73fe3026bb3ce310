"""A Kubernetes API server stand-in on 127.0.0.1, for driving the real `kubernetes` client end to
end.

It answers GETs at the real object paths (`/apis/<group>/<version>/namespaces/<ns>/<plural>/<name>`)
the way kube-apiserver does: the stored object as JSON; a `Status` object for a missing one
(404 NotFound), for a wrong bearer token (401) and for a path it is told to refuse (403); and the
plain-text `404 page not found` for an API group it does not serve (a CRD that is not installed).
An object may be given as a sequence of versions, served one per GET (the last one repeats), so a
`--watch` test sees the cluster change between polls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

PLURALS = {
    "InferenceService": "inferenceservices",
    "Job": "jobs",
    "TrainJob": "trainjobs",
    "Application": "applications",
    "Deployment": "deployments",
    "ConfigMap": "configmaps",
}
TOKEN = "llmops-status-test-token"


def object_path(api_version: str, kind: str, namespace: str, name: str) -> str:
    group, _, version = api_version.rpartition("/")
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    return f"{base}/namespaces/{namespace}/{PLURALS[kind]}/{name}"


def path_of(obj: dict[str, Any]) -> str:
    metadata = obj["metadata"]
    return object_path(obj["apiVersion"], obj["kind"], metadata["namespace"], metadata["name"])


def status_object(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A metav1.Status as kube-apiserver writes it for a failed request."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


class KubeApiServer:
    """Start with `running()`; put objects with `put`; read what was asked in `requests`."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.objects: dict[str, list[dict[str, Any]]] = {}
        self.forbidden: set[str] = set()
        # path -> per GET in turn: an error code to answer, or 0 to serve
        self.failing: dict[str, list[int]] = {}
        self.unserved_groups: set[str] = set()
        # path -> (status, body) answered as they are, JSON or not
        self.raw: dict[str, tuple[int, bytes]] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Authorization header)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def put(self, *versions: dict[str, Any]) -> str:
        """Store an object (several: served in turn, one per GET). Returns its path."""
        path = path_of(versions[0])
        with self._lock:
            self.objects[path] = [json.loads(json.dumps(v)) for v in versions]
        return path

    def remove(self, obj: dict[str, Any]) -> None:
        with self._lock:
            self.objects.pop(path_of(obj), None)

    def gets(self, path: str) -> int:
        return sum(1 for asked, _ in self.requests if asked == path)

    def write_kubeconfig(
        self,
        path: Path,
        *,
        token: str | None = None,
        context: str = "test-cluster",
        server: str | None = None,
    ) -> Path:
        """A kubeconfig with one cluster, user and context (current), as `kubectl config` writes
        it."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "test", "cluster": {"server": server or self.url}}],
            "users": [{"name": "status-reader", "user": {"token": token or self.token}}],
            "contexts": [
                {"name": context, "context": {"cluster": "test", "user": "status-reader"}}
            ],
            "current-context": context,
            "preferences": {},
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    @contextmanager
    def running(self) -> Iterator[KubeApiServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, path: str, authorization: str | None) -> tuple[int, str, bytes]:
        with self._lock:
            self.requests.append((path, authorization))
            if authorization != f"Bearer {self.token}":
                return _json(401, status_object(401, "Unauthorized", "Unauthorized"))
            if path in self.raw:
                return self.raw[path][0], "application/json", self.raw[path][1]
            parts = path.strip("/").split("/")
            group = parts[1] if len(parts) > 1 and parts[0] == "apis" else ""
            if group in self.unserved_groups or len(parts) != 7 or parts[3] != "namespaces":
                return 404, "text/plain; charset=utf-8", b"404 page not found\n"
            plural, name, namespace = parts[5], parts[6], parts[4]
            details = {"name": name, "group": group, "kind": plural}
            resource = f"{plural}.{group}" if group else plural
            if path in self.forbidden:
                message = (
                    f'{resource} "{name}" is forbidden: User '
                    f'"system:serviceaccount:ci:status-reader" cannot get resource "{plural}" in '
                    f'API group "{group}" in the namespace "{namespace}"'
                )
                return _json(403, status_object(403, "Forbidden", message, details))
            failures = self.failing.get(path)
            code = failures.pop(0) if failures else 0
            if code:
                return _json(
                    code, status_object(code, "InternalError", "etcdserver: request timed out")
                )
            versions = self.objects.get(path)
            if not versions:
                return _json(
                    404, status_object(404, "NotFound", f'{resource} "{name}" not found', details)
                )
            return _json(200, versions.pop(0) if len(versions) > 1 else versions[0])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                code, content_type, body = api._answer(
                    self.path.split("?", 1)[0], self.headers.get("Authorization")
                )
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _json(code: int, body: dict[str, Any]) -> tuple[int, str, bytes]:
    return code, "application/json", json.dumps(body).encode("utf-8")
