"""Verdicts for the overview: `llmops status`'s own code (targets, reads, verdicts), run against the
cluster the proxy can read (KUBECONFIG, else ~/.kube/config, else the pod's service account).

Reading 1,000 objects takes longer than a page may, so the cluster is read in a worker thread, at
most once per ``max_age`` seconds, and a page waits for a fresh reading at most ``wait`` seconds;
until one arrives, or when the cluster cannot be read, every verdict is "not checked" with why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import field

from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.estate import ResolvedEstate
from llmops.status.model import StatusReport
from llmops.status.targets import EnvironmentTarget, canary_row_name, environment_target

NOT_CHECKED = "not checked"
log = logging.getLogger("llmops.proxy")


@record
class Verdicts:
    """One reading: (environment, endpoint) -> (verdict, reason); environment -> Argo CD's
    (verdict, sync, health); or why there is none."""

    endpoints: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    training_jobs: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    applications: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    not_checked: str | None = None
    read_at: float = 0.0

    def endpoint(self, env: str, name: str) -> tuple[str, str]:
        if self.not_checked is not None:
            return NOT_CHECKED, self.not_checked
        return self.endpoints.get((env, name), (NOT_CHECKED, "not rendered in this revision"))

    def canary(self, env: str, name: str) -> tuple[str, str]:
        """The endpoint's canary's own verdict: `llmops status`'s `<endpoint> (canary)` row."""
        return self.endpoint(env, canary_row_name(name))

    def training_job(self, env: str, name: str) -> tuple[str, str]:
        """The job's state (Pending, Running, Succeeded, ...) and why."""
        if self.not_checked is not None:
            return NOT_CHECKED, self.not_checked
        return self.training_jobs.get((env, name), (NOT_CHECKED, "not rendered in this revision"))


def _from_report(report: StatusReport) -> Verdicts:
    verdicts = Verdicts(read_at=time.time())
    for env in report.environments:
        for endpoint in env.endpoints:
            verdicts.endpoints[(env.name, endpoint.name)] = (
                endpoint.verdict.value,
                endpoint.reason,
            )
        for job in env.training_jobs:
            verdicts.training_jobs[(env.name, job.name)] = (job.state, job.reason)
        if env.application is not None:
            app = env.application
            verdicts.applications[env.name] = (app.verdict.value, app.sync or "", app.health or "")
    return verdicts


def read_cluster(targets: Callable[[], list[EnvironmentTarget]]) -> Verdicts:
    """One reading of the cluster, or why it could not be read (never raises for a cluster
    problem). ``targets`` is asked for only once the cluster answers: working them out takes
    seconds for thousands of endpoints."""
    try:
        from llmops.cluster.client import ClusterError, connect
    except ModuleNotFoundError as error:
        return Verdicts(
            not_checked=f"the {error.name} package is not installed", read_at=time.time()
        )
    from llmops.status.collect import collect_status

    try:
        cluster = connect(None, None)
        try:
            return _from_report(collect_status(targets(), cluster.read))
        finally:
            cluster.close()
    except ClusterError as error:
        why = error.message.rstrip(".")
        return Verdicts(not_checked=f"the cluster cannot be read: {why}", read_at=time.time())


class _Targets:
    """What the revision renders, worked out on the first reading (rendering 3,000 endpoints takes
    seconds) and kept: the estate does not change while the proxy runs."""

    def __init__(self, environments: list[ResolvedEnvironment]) -> None:
        self._environments = environments
        self._targets: list[EnvironmentTarget] | None = None

    def get(self) -> list[EnvironmentTarget]:
        if self._targets is None:
            self._targets = [environment_target(env) for env in self._environments]
        return self._targets


def _safe_read(targets: _Targets) -> Verdicts:
    """A bug while reading shows as "not checked" with its name (and one log line), never as a
    broken page."""
    try:
        return read_cluster(targets.get)
    except Exception as error:
        log.error("reading the cluster failed: %s: %s", type(error).__name__, error)
        return Verdicts(
            not_checked=f"reading the cluster failed ({type(error).__name__}; see the proxy's log)",
            read_at=time.time(),
        )


class ClusterVerdicts:
    """The latest reading, refreshed in the background when older than ``max_age``."""

    def __init__(
        self, estate: ResolvedEstate | None, checkable: set[str], max_age: float = 15.0
    ) -> None:
        self._targets = _Targets(
            [e for e in estate.environments if e.name in checkable] if estate is not None else []
        )
        self._latest: Verdicts | None = None
        self._reading: asyncio.Task[Verdicts] | None = None
        self.max_age = max_age
        self.unavailable = (
            None
            if estate is not None
            else "this proxy was started from proxy.json, without the manifests to compare"
        )

    async def current(self, wait: float = 1.0) -> Verdicts:
        """The latest reading; one older than ``max_age`` is shown while a new one is read. Only
        before the first reading does a page wait (``wait`` seconds at most)."""
        if self.unavailable is not None:
            return Verdicts(not_checked=self.unavailable)
        latest = self._latest
        if latest is None or time.time() - latest.read_at > self.max_age:
            if self._reading is None or self._reading.done():
                self._reading = asyncio.ensure_future(asyncio.to_thread(_safe_read, self._targets))
                self._reading.add_done_callback(self._keep)
            if latest is None:
                try:
                    return await asyncio.wait_for(asyncio.shield(self._reading), wait)
                except TimeoutError:
                    pass
        if latest is None:
            return Verdicts(not_checked="the cluster is being read; reload in a moment")
        return latest

    def _keep(self, task: asyncio.Task[Verdicts]) -> None:
        if not task.cancelled() and task.exception() is None:
            self._latest = task.result()
