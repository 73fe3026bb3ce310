"""Names of rendered Kubernetes objects, shared by the renderer and the name checks.

Keeping them in one place means `validate` measures exactly the names `render` will create.
"""

from __future__ import annotations

import re

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?\Z")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z")
DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z"
)
MAX_LABEL = 63
MAX_SUBDOMAIN = 253
CONTENT_HASH_LENGTH = 8
PROXY_NAME = "llmops-proxy"


def ingress_host(configured: str | None, environment: str) -> str:
    """The host an environment's Ingresses serve: its `ingress.host`, else `<env>.llm-ops.local`."""
    return configured or f"{environment}.llm-ops.local"


def inference_service_name(endpoint: str) -> str:
    return endpoint


# KServe's Hugging Face server mounts the OpenAI routes here
KSERVE_OPENAI_PREFIX = "/openai/v1"


def served_model_name(endpoint: str) -> str:
    """The name the model server answers to (KServe's runtime uses the InferenceService name
    too)."""
    return inference_service_name(endpoint)


def predictor_url(endpoint: str, namespace: str) -> str:
    """The predictor Service KServe creates in raw mode (port 80 -> the model server's 8080)."""
    return f"http://{predictor_name(endpoint)}.{namespace}.svc.cluster.local"


def predictor_name(endpoint: str) -> str:
    """KServe names the predictor Deployment and Service `<isvc>-predictor` in Standard mode."""
    return f"{inference_service_name(endpoint)}-predictor"


def kserve_host_label(endpoint: str, namespace: str) -> str:
    """KServe's default domain template makes `<isvc>-<namespace>` the first DNS label of the
    host."""
    return f"{inference_service_name(endpoint)}-{namespace}"


def ingress_name(endpoint: str) -> str:
    """Our Ingress; KServe's own Ingress takes the InferenceService name, so ours must differ."""
    return f"{endpoint}-llmops"


def training_job_name(job: str, content_hash: str) -> str:
    """A Job's pod template is immutable, so the name carries a hash of its content."""
    return f"{job}-{content_hash[:CONTENT_HASH_LENGTH]}"


# Kubeflow Trainer runs a TrainJob as a JobSet of its own name, whose replicated job `node` (the
# torch runtimes') makes pods `<jobset>-node-<job index>-<pod index>-<5 random>`; JobSet's webhook
# refuses the JobSet unless the longest such name is a DNS-1035 label (one node: indices 0)
TRAINJOB_POD_SUFFIX = "-node-0-0-abcde"


def trainjob_pod_name(job: str) -> str:
    """The longest pod name of a one-node TrainJob, as JobSet's webhook checks it."""
    return training_job_name(job, "0" * CONTENT_HASH_LENGTH) + TRAINJOB_POD_SUFFIX


def derived_label_names(
    kind: str, name: str, namespace: str, training_backend: str = "job"
) -> list[tuple[str, str]]:
    """(what, name) pairs of derived names that must fit in one DNS label (63 characters)."""
    if kind == "ServingEndpoint":
        return [
            ("KServe predictor name", predictor_name(name)),
            ("KServe host label (<name>-<namespace>)", kserve_host_label(name, namespace)),
        ]
    if kind == "TrainingJob" and training_backend == "trainjob":
        return [
            ("TrainJob's pod name (JobSet: <job>-<hash>-node-0-0-<5>)", trainjob_pod_name(name))
        ]
    if kind == "TrainingJob":
        return [
            (
                "training Job name (with content hash)",
                training_job_name(name, "0" * CONTENT_HASH_LENGTH),
            )
        ]
    return []
