"""One status snapshot: read every target through a reader and judge what comes back."""

from __future__ import annotations

from collections.abc import Callable

from llmops.status.llm_inference_service import llm_endpoint_status
from llmops.status.model import EnvironmentStatus, Lookup, ObjectRef, StatusReport
from llmops.status.targets import EnvironmentTarget
from llmops.status.verdict import application_status, endpoint_status, training_job_status

Reader = Callable[[ObjectRef], Lookup]
LLM_KIND = "LLMInferenceService"


def collect_status(targets: list[EnvironmentTarget], read: Reader) -> StatusReport:
    """**Parameters:** ``targets`` what the revision renders; ``read`` fetches one live object (the
    cluster client's `read`), raising when the cluster cannot answer. **Returns:** the report, in
    target order."""
    report = StatusReport()
    for target in targets:
        application = (
            application_status(target.application, read(target.application))
            if target.application is not None
            else None
        )
        report.environments.append(
            EnvironmentStatus(
                name=target.name,
                namespace=target.namespace,
                application=application,
                endpoints=[
                    (llm_endpoint_status if e.object.kind == LLM_KIND else endpoint_status)(
                        e, read(e.object)
                    )
                    for e in target.endpoints
                ],
                training_jobs=[
                    training_job_status(j, read(j.object)) for j in target.training_jobs
                ],
            )
        )
    return report
