"""A read-only Kubernetes API client from a kubeconfig (or the pod's service account), and object
reads.

The only module that imports the `kubernetes` package. Every failure of the client becomes a
`ClusterError` with one line saying what went wrong (exit code 2), never a traceback; a 404 is not
a failure but a `Lookup` saying what is missing. Objects are returned as the JSON the API server
sent (no model classes in between), so drift is judged against exactly what is stored.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import KubeConfigMerger

from compiler.errors import LlmopsError
from compiler.load.strict_json import JsonRefused, loads
from compiler.printable import shown_argument
from llmops.status.model import Lookup, ObjectRef

DEFAULT_KUBECONFIG = "~/.kube/config"
IN_CLUSTER_VARIABLE = "KUBERNETES_SERVICE_HOST"  # set in every pod
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 30.0
RETRIES = 1  # one retry of a failed connection, so an unreachable cluster fails in seconds
# Who serves each API group, to say what is not installed when the API server does not know a kind.
GROUP_OWNERS = {
    "serving.kserve.io": "KServe",
    "argoproj.io": "Argo CD",
    "trainer.kubeflow.org": "Kubeflow Trainer",
    "batch": "Kubernetes",
}
# What is read from the API server is bounded: objects are stored in etcd at 1.5 MiB at most, and
# none nests near 100 levels (managedFields mirrors the object's own depth plus a few).
MAX_OBJECT_BYTES = 8 * 1024 * 1024
# the longest an answer's body may take to arrive, whole (each read has READ_TIMEOUT_SECONDS too)
ANSWER_SECONDS = 30.0
BODY_PIECE_BYTES = 64 * 1024
MAX_OBJECT_DEPTH = 100
MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024
MAX_KUBECONFIG_DEPTH = 64
REQUIRED_PERMISSIONS = (
    "llmops status needs `get` on inferenceservices.serving.kserve.io, jobs.batch "
    "(or trainjobs.trainer.kubeflow.org) and applications.argoproj.io"
)


class ClusterError(LlmopsError):
    """The cluster cannot be read: no or bad kubeconfig, unknown context, unreachable, access
    refused."""


@dataclass
class Cluster:
    """A connected client. ``api`` is a `kubernetes.client.ApiClient`; ``server`` its address."""

    api: Any
    server: str

    def read(self, ref: ObjectRef) -> Lookup:
        """The live object, or a Lookup saying why there is none. Raises ClusterError otherwise.
        The whole read, from connecting to the answer's last byte, takes at most
        `CONNECT_TIMEOUT_SECONDS` plus `ANSWER_SECONDS` plus `READ_TIMEOUT_SECONDS`: a server
        dripping its head a byte at a time, or sending `100 Continue` for ever, is given up on."""
        outcome: list[Lookup | BaseException] = []

        def run() -> None:
            try:
                outcome.append(self._read(ref))
            except BaseException as error:  # handed to the caller's thread
                outcome.append(error)

        worker = threading.Thread(target=run, name="llmops-cluster-read", daemon=True)
        worker.start()
        worker.join(CONNECT_TIMEOUT_SECONDS + ANSWER_SECONDS + READ_TIMEOUT_SECONDS)
        if not outcome:  # the thread is left to the server's mercy; its reads are bounded
            raise ClusterError(
                f"the cluster at {self.server} did not answer the read of {ref} within "
                f"{CONNECT_TIMEOUT_SECONDS + ANSWER_SECONDS + READ_TIMEOUT_SECONDS:g} s"
            )
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _read(self, ref: ObjectRef) -> Lookup:
        """One GET through the client's connection pool (its TLS settings and credentials), its
        answer read by llmops with bounds whatever its status: the client library read an error's
        body whole (and decoded: a gzip bomb on a 404 too) before raising."""
        path = (
            f"/apis/{ref.group}/{ref.version}" if ref.group else f"/api/{ref.version}"
        ) + f"/namespaces/{quote(ref.namespace, safe='')}/{ref.plural}/{quote(ref.name, safe='')}"
        headers = {"Accept": "application/json", "User-Agent": "llmops-status"}
        self.api.update_params_for_auth(headers, [], ["BearerToken"], path, "GET", None)
        try:
            response = self.api.rest_client.pool_manager.request(
                "GET",
                str(self.api.configuration.host).rstrip("/") + path,
                headers=headers,
                preload_content=False,
                redirect=False,
                retries=urllib3.Retry(
                    total=RETRIES, connect=RETRIES, read=0, redirect=0, status=0, other=0
                ),
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS),
            )
        except urllib3.exceptions.HTTPError as error:
            raise ClusterError(
                f"cannot reach the cluster at {self.server}: {_why(error)}"
            ) from error
        body = self._bounded_body(ref, response)
        if 200 <= response.status <= 299:
            return Lookup(self._decode(ref, body))
        if response.status == 404:
            return Lookup(None, _not_found(ref, body))
        raise self._refused(ref, _Refusal(response.status, str(response.reason or ""), body))

    def _bounded_body(self, ref: ObjectRef, response: Any) -> bytes:
        """The answer's body, read as it arrives: at most `MAX_OBJECT_BYTES` (decoded) and within
        `ANSWER_SECONDS` in all. A body without end held all of it in memory (gigabytes in
        seconds), and one dripping a byte a second never tripped the timeout of each read."""
        deadline = time.monotonic() + ANSWER_SECONDS
        body = bytearray()
        try:
            while True:
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"the cluster at {self.server} did not finish answering the read of {ref} "
                        f"within {ANSWER_SECONDS:g} s ({len(body):,} bytes came)"
                    )
                chunk = response.read1(BODY_PIECE_BYTES)
                if not chunk:
                    return bytes(body)
                body += chunk
                if len(body) > MAX_OBJECT_BYTES:
                    raise ClusterError(
                        f"the cluster at {self.server} answered the read of {ref} with more than "
                        f"{MAX_OBJECT_BYTES:,} bytes; no Kubernetes object is that large"
                    )
        except urllib3.exceptions.HTTPError as error:
            raise ClusterError(
                f"cannot read the answer of the cluster at {self.server}: {_why(error)}"
            ) from error
        finally:
            response.close()

    def close(self) -> None:
        self.api.close()

    def _decode(self, ref: ObjectRef, data: bytes) -> dict[str, Any]:
        try:
            obj = loads(data, max_depth=MAX_OBJECT_DEPTH, max_bytes=MAX_OBJECT_BYTES)
        except JsonRefused as refused:
            raise ClusterError(
                f"the cluster at {self.server} answered the read of {ref} with something that is "
                f"not usable JSON: {refused}"
            ) from None
        if not isinstance(obj, dict):
            raise ClusterError(
                f"the cluster at {self.server} answered the read of {ref} with something that is "
                "not a Kubernetes object"
            )
        return obj

    def _refused(self, ref: ObjectRef, error: Any) -> ClusterError:
        message = _status_message(error.body)
        if error.status == 401:
            return ClusterError(
                f"the cluster at {self.server} rejected the credentials (401 Unauthorized)",
                hint="log in again, or refresh the token of this kubeconfig context",
            )
        if error.status == 403:
            return ClusterError(
                f"not allowed to read {ref} (403 Forbidden)" + (f": {message}" if message else ""),
                hint=REQUIRED_PERMISSIONS,
            )
        # the client's own failures (TLS) carry status 0 and the reason as text
        if not error.status:
            first_line = str(error.reason or "").strip().splitlines()
            return ClusterError(
                f"cannot talk to the cluster at {self.server}: {' '.join(first_line[:2])}"
            )
        return ClusterError(
            f"the cluster at {self.server} answered {error.status} {error.reason or ''} reading "
            f"{ref}".replace("  ", " ")
            + (f": {message}" if message else "")
        )


@dataclass
class _Refusal:
    """A failed answer as `Cluster._refused` reads it."""

    status: int
    reason: str
    body: bytes


def _status(body: Any) -> Any:
    """A Kubernetes Status body as JSON, or None when it is not one (or not usable JSON)."""
    if not isinstance(body, (bytes, str)) or not body:
        return None
    try:
        return loads(body, max_depth=MAX_OBJECT_DEPTH, max_bytes=MAX_OBJECT_BYTES)
    except JsonRefused:
        return None


def _status_message(body: Any) -> str:
    """The `message` of a Kubernetes Status body, if the body is one."""
    status = _status(body)
    return str(status.get("message", "")) if isinstance(status, dict) else ""


def _not_found(ref: ObjectRef, body: Any) -> str:
    """A missing object, or a kind the API server does not serve (its plain `404 page not
    found`)."""
    status = _status(body)
    details = status.get("details") if isinstance(status, dict) else None
    if isinstance(details, dict) and details.get("name") == ref.name:
        return f"{ref} not found"
    owner = GROUP_OWNERS.get(ref.group, ref.group)
    return (
        f"{ref} not found: the cluster does not serve {ref.plural}.{ref.group}/{ref.version} "
        f"(is {owner} installed?)"
    )


def _why(error: Exception) -> str:
    """urllib3's reason without the connection object it names first."""
    text = str(getattr(error, "reason", None) or error)
    return text.rsplit("): ", 1)[-1] if "): " in text else text


def _config_problem(error: Exception) -> str:
    """What is wrong with a kubeconfig, on one line."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"not valid YAML (line {mark.line + 1}, column {mark.column + 1}: {error.problem})"
    text = " ".join(str(error).removeprefix("Invalid kube-config file. ").split())
    return text or type(error).__name__


def _kubeconfig_paths(kubeconfig: str | None) -> tuple[str, list[Path]]:
    """The kubeconfig setting (``--kubeconfig``, else KUBECONFIG, else ~/.kube/config) and its
    existing files."""
    setting = kubeconfig or os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    files = [Path(part).expanduser() for part in setting.split(os.pathsep) if part]
    return setting, [path for path in files if path.is_file()]


def _no_kubeconfig_file(setting: str) -> str:
    """Why --kubeconfig names no file to read: a path that is not there, or one that is there but
    is not a regular file (a directory, /dev/null, a FIFO)."""
    paths = [Path(part).expanduser() for part in setting.split(os.pathsep) if part]
    there = [path for path in paths if path.exists()]
    if there:
        return f"kubeconfig {there[0]} is not a regular file (a kubeconfig is a YAML file)"
    return f"kubeconfig {setting} does not exist"


def _bounded_kubeconfig(path: Path) -> str:
    """The kubeconfig's text, once it is known to be of a kubeconfig's size and nesting (YAML
    nested thousands of levels deep exhausts the recursion of the YAML readers)."""
    data = path.read_bytes()
    if len(data) > MAX_KUBECONFIG_BYTES:
        raise ClusterError(
            f"kubeconfig {path} is {len(data):,} bytes; a kubeconfig is far below "
            f"{MAX_KUBECONFIG_BYTES:,}"
        )
    text = data.decode("utf-8")
    depth = 0
    for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_KUBECONFIG_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise ClusterError(
                    f"kubeconfig {path}:{line}: nested more than {MAX_KUBECONFIG_DEPTH} levels "
                    "deep; it is not a kubeconfig"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return text


def _contexts(setting: str, files: list[Path]) -> tuple[list[str], str | None]:
    """The context names and the current context of the (merged) kubeconfig files."""
    # the client's own checks fail on other shapes with messages about Python types
    for path in files:
        if not isinstance(yaml.safe_load(_bounded_kubeconfig(path)), dict):
            raise ClusterError(
                f"kubeconfig {path} is not a kubeconfig",
                hint="expected a YAML mapping with clusters, contexts, users and current-context",
            )
    merged = KubeConfigMerger(setting).config
    value = merged.value if merged is not None else None
    if not isinstance(value, dict):
        raise ConfigException("no configuration found")
    names = [
        str(node.value.get("name"))
        for node in value.get("contexts") or []
        if isinstance(getattr(node, "value", None), dict)
    ]
    current = value.get("current-context")
    return names, str(current) if current else None


def connect(kubeconfig: str | None = None, context: str | None = None) -> Cluster:
    """**Parameters:** ``kubeconfig`` a path (or several, joined as in KUBECONFIG), default
    KUBECONFIG or ~/.kube/config; ``context`` default the current context. Inside a pod with no
    kubeconfig, the pod's service account is used. **Raises:** ClusterError when no usable
    configuration is found."""
    setting, files = _kubeconfig_paths(kubeconfig)
    configuration = client.Configuration()
    configuration.retries = RETRIES
    if not files:
        if kubeconfig is not None:
            raise ClusterError(_no_kubeconfig_file(kubeconfig))
        if os.environ.get(IN_CLUSTER_VARIABLE) and context is None:
            try:
                config.load_incluster_config(client_configuration=configuration)
            except ConfigException as error:
                raise ClusterError(f"cannot use the pod's service account: {error}") from error
            return Cluster(client.ApiClient(configuration), configuration.host)
        raise ClusterError(
            f"no kubeconfig at {setting}", hint="pass --kubeconfig PATH, or set KUBECONFIG"
        )
    try:
        names, current = _contexts(setting, files)
        if context is not None and context not in names:
            raise ClusterError(
                f"context `{shown_argument(context)}` is not in kubeconfig {setting}",
                hint=f"its contexts: {', '.join(names) or 'none'}",
            )
        if context is None and not current:
            raise ClusterError(
                f"kubeconfig {setting} sets no current-context", hint="pass --context NAME"
            )
        if context is None and current not in names:
            raise ClusterError(
                f"the current-context `{current}` of kubeconfig {setting} is not one of its "
                "contexts",
                hint=f"its contexts: {', '.join(names) or 'none'}; pass --context NAME",
            )
        api = config.new_client_from_config(
            config_file=setting,
            context=context,
            persist_config=False,
            client_configuration=configuration,
        )
    except ClusterError:
        raise
    except (
        ConfigException,
        yaml.YAMLError,
        OSError,
        TypeError,
        KeyError,
        AttributeError,
        ValueError,
    ) as error:
        raise ClusterError(f"cannot use kubeconfig {setting}: {_config_problem(error)}") from error
    return Cluster(api, str(api.configuration.host))
