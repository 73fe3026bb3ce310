"""The pods of an LLMInferenceService beyond one single-node replica: the worker pods of a replica
over several nodes, and the prefill and decode pods of a prefill/decode split.

Multi-node: KServe runs a replica as a LeaderWorkerSet of data / dataLocal pods, the `template`
leader and the `worker`s, and injects `LWS_LEADER_ADDRESS` and `LWS_WORKER_INDEX` into their
containers. vLLM runs data-parallel over them, one rank per node (as KServe's
`kserve-config-llm-worker-data-parallel` preset does): every pod names the leader as its
data-parallel address and its own index as its first rank; workers run `--headless`. Kubernetes
expands `$(VAR)` in `args` from the container's environment, so no shell is needed.

Prefill/decode: KServe's decode preset puts its routing sidecar on the pod's port 8000 and expects
vLLM on 8001; the prefill pods serve on 8000. Both sides exchange KV caches with vLLM's
NixlConnector (`--kv-transfer-config`, as KServe's prefill/decode samples configure it) over the
pod IP (`VLLM_NIXL_SIDE_CHANNEL_HOST`).
"""

from __future__ import annotations

import json
from typing import Any

from compiler.capacity.topology import nodes
from compiler.records import record
from compiler.resolve.manifest import Manifest
from compiler.spec.serving import ServingEndpointSpec

VLLM_PORT = 8000  # the preset's container port, which its InferencePool targets
DECODE_VLLM_PORT = 8001  # behind the decode preset's routing sidecar, which listens on 8000
DATA_PARALLEL_RPC_PORT = 5555  # the default of KServe's data-parallel presets (dataRPCPort)
LEADER_ADDRESS = "$(LWS_LEADER_ADDRESS)"
WORKER_INDEX = "$(LWS_WORKER_INDEX)"
KV_TRANSFER_CONFIG = {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
NIXL_SIDE_CHANNEL_HOST = "VLLM_NIXL_SIDE_CHANNEL_HOST"


@record
class Pod:
    """Which pod of the LLMInferenceService a container is for."""

    worker: bool = False  # a multi-node replica's non-leader pod
    decode: bool = False  # the endpoint's own pods when prefill runs apart (behind the sidecar)
    kv_transfer: bool = False  # a side of a prefill/decode split


LEADER = Pod()


def vllm_port(pod: Pod) -> int:
    return DECODE_VLLM_PORT if pod.decode else VLLM_PORT


def multi_node_args(endpoint: Manifest[ServingEndpointSpec], pod: Pod) -> list[str]:
    """The data-parallel wiring of a replica over several nodes (nothing on one node). E011 keeps
    one rank per node there, so a pod's first rank is its LeaderWorkerSet index."""
    parallelism = endpoint.spec.parallelism
    if nodes(parallelism) < 2:
        return []
    local = parallelism.data if parallelism is not None else 1
    args = [
        f"--data-parallel-size-local={local}",
        f"--data-parallel-address={LEADER_ADDRESS}",
        f"--data-parallel-rpc-port={DATA_PARALLEL_RPC_PORT}",
        f"--data-parallel-start-rank={WORKER_INDEX if pod.worker else 0}",
    ]
    if pod.worker:
        args.append("--headless")  # the leader's API server takes every request
    return args


def kv_transfer_args(pod: Pod) -> list[str]:
    if not pod.kv_transfer:
        return []
    return [f"--kv-transfer-config={json.dumps(KV_TRANSFER_CONFIG, separators=(',', ':'))}"]


def kv_transfer_env() -> list[dict[str, Any]]:
    """The address the NixlConnector's side channel announces: the pod's own IP."""
    return [
        {
            "name": NIXL_SIDE_CHANNEL_HOST,
            "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
        }
    ]
