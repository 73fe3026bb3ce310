"""Every manifest kind, in one readable table."""

from __future__ import annotations

from compiler.records import record
from compiler.spec.approval import ApprovalManifest
from compiler.spec.base import Envelope
from compiler.spec.dataset import DatasetManifest
from compiler.spec.environment import EnvironmentManifest
from compiler.spec.model import ModelManifest
from compiler.spec.prompt import PromptExperimentManifest, PromptTemplateManifest
from compiler.spec.serving import ServingEndpointManifest
from compiler.spec.training import TrainingJobManifest


@record(eq=False, repr=False)
class KindInfo:
    """A manifest kind: its model, how its identity is formed, and a line about it."""

    kind: str
    model: type[Envelope]
    versioned: bool  # identity is name + spec.version (Model, Dataset) rather than name alone
    summary: str


KINDS: dict[str, KindInfo] = {
    info.kind: info
    for info in (
        KindInfo(
            "Environment",
            EnvironmentManifest,
            False,
            "Namespace, ingress, GPU, approval and KServe settings.",
        ),
        KindInfo(
            "Dataset",
            DatasetManifest,
            True,
            "A training dataset (the original platform's dataset create body).",
        ),
        KindInfo(
            "Model",
            ModelManifest,
            True,
            "A model version (the original platform's model create body).",
        ),
        KindInfo(
            "Approval",
            ApprovalManifest,
            False,
            "One person's approval of one model manifest for one environment.",
        ),
        KindInfo(
            "TrainingJob",
            TrainingJobManifest,
            False,
            "A fine-tuning job (the original platform's training job body).",
        ),
        KindInfo(
            "ServingEndpoint",
            ServingEndpointManifest,
            False,
            "A served model (the original platform's endpoint deploy body with DeploymentSpec).",
        ),
        KindInfo(
            "PromptTemplate", PromptTemplateManifest, False, "A system prompt for A/B experiments."
        ),
        KindInfo(
            "PromptExperiment",
            PromptExperimentManifest,
            False,
            "An A/B test of two templates (the original platform's experiment body and its "
            "conclusion).",
        ),
    )
}
