"""`llmops explain`'s content: one endpoint's capacity inputs (with where each came from) and
arithmetic.

Built from the same `EndpointCapacity` the rules use, plus the diagnostics validation reported for
the endpoint, and rendered as text or as a JSON-ready mapping. Pure: the CLI only prints.
"""

from __future__ import annotations

from typing import Any

from compiler.capacity import topology
from compiler.capacity.adapters import PROJECTION_WIDTHS
from compiler.capacity.endpoint import RESOURCES, EndpointCapacity, endpoint_capacity
from compiler.capacity.facts import Fact, Origin, assumptions_of
from compiler.capacity.serving import (
    GIB,
    GPU_MEMORY_UTILIZATION,
    RUNTIME_OVERHEAD_GIB,
    WEIGHT_OVERHEAD,
    cpu_weights_bytes,
    gib,
    grouped,
    json_count,
    kib,
)
from compiler.diagnostics import Assumption, Category, Diagnostic, Severity
from compiler.positions import format_path
from compiler.printable import escape_controls
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.lineage import served_models
from compiler.resolve.lineage_report import lineage_report
from compiler.resolve.manifest import Manifest
from compiler.spec.serving import ServingEndpointSpec


def origin_json(origin: Origin) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if origin.manifest is not None:
        span = origin.manifest.document.span_of(origin.path)
        out.update(file=span.file, line=span.line, field=format_path(origin.path))
    if origin.note:
        out["note"] = origin.note
    if origin.reference:
        out["reference"] = origin.reference
    if origin.assumption is not None:
        out["assumed"] = True
    return out


def _input(name: str, fact: Fact[Any] | None, unit: str = "") -> dict[str, Any]:
    if fact is None:
        return {"name": name, "value": None, "source": {"note": "missing"}}
    value = (
        json_count(fact.value)
        if isinstance(fact.value, int) and not isinstance(fact.value, bool)
        else fact.value
    )
    return {"name": name, "value": value, "unit": unit, "source": origin_json(fact.origin)}


def _topology_inputs(capacity: EndpointCapacity) -> list[dict[str, Any]]:
    """Nodes per replica and the prefill replicas, when the endpoint asks for them."""
    endpoint = capacity.endpoint
    rows = []
    if capacity.nodes > 1:
        nodes = Origin(
            "one data-parallel rank per node holds the model: the arithmetic below is per node",
            endpoint,
            ("spec", "parallelism", "nodes"),
        )
        rows.append(_input("nodes per replica", Fact(capacity.nodes, nodes)))
    prefill = endpoint.spec.prefill
    if prefill is not None:
        gpus = topology.prefill_gpus_per_node(endpoint.spec)
        gpus_origin = (
            Origin("", endpoint, (*topology.PREFILL, "gpus"))
            if prefill.gpus is not None
            else Origin("no prefill.gpus: the endpoint's", endpoint, (*RESOURCES, "gpus"))
        )
        rows.append(_input("prefill GPUs per replica", Fact(gpus, gpus_origin)))
        replicas = Origin("", endpoint, (*topology.PREFILL, "minReplicas"))
        if "min_replicas" not in prefill.model_fields_set:
            replicas = Origin("no prefill.minReplicas: 1", endpoint, topology.PREFILL)
        rows.append(_input("prefill minReplicas", Fact(prefill.min_replicas, replicas)))
    if capacity.nodes > 1 or prefill is not None:
        rows.append(
            _input(
                "GPUs at minReplicas",
                Fact(
                    capacity.total_gpus,
                    Origin("replicas x nodes x GPUs per node, prefill replicas included"),
                ),
            )
        )
    return rows


def capacity_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics of the capacity rules (by category, as every code set is chosen)."""
    return [d for d in diagnostics if d.rule is not None and d.rule.category is Category.CAPACITY]


def _verdict(own: list[Diagnostic], capacity: EndpointCapacity) -> str:
    """Whether the endpoint starts, from its capacity diagnostics and its arithmetic."""
    if any(d.severity is Severity.ERROR for d in own):
        return "will not start"
    lowered = [d for d in own if d.rule is not None and d.rule.severity is Severity.ERROR]
    if lowered and _assumptions(capacity):
        return "may not start: a finding rests on what llmops assumed (see assumptions)"
    if lowered:
        return "may not start: the environment's rule settings report a finding below error"
    if _queues(capacity):
        return "starts; requests will queue"
    if any(d.rule is not None and d.rule.severity is Severity.INFO for d in own):
        return "not checked: facts are missing"
    return "fits"


def _queues(capacity: EndpointCapacity) -> bool:
    """More requests let through than full-length sequences fit at minReplicas."""
    serving, sequence = capacity.gpu, capacity.sequence_tokens
    deployment = capacity.endpoint.spec.deployment_spec
    if serving is None or sequence is None or deployment is None or deployment.runtime is None:
        return False
    per_replica = serving.sequences(sequence.value)
    wanted = deployment.runtime.max_concurrent_requests
    return per_replica > 0 and per_replica * capacity.min_replicas < wanted


def explain(capacity: EndpointCapacity, diagnostics: list[Diagnostic]) -> dict[str, Any]:
    """The explanation as plain data (the JSON output)."""
    facts = capacity.facts
    deployment = capacity.endpoint.spec.deployment_spec
    runtime = deployment.runtime if deployment is not None else None
    inputs = [
        _input("parameters", facts.parameters),
        _input("bytes per parameter", capacity.weight_bytes, "bytes"),
        _input("layers", facts.layers),
        _input("attention heads", facts.attention_heads),
        _input("KV heads", facts.kv_heads),
        _input("head size", facts.head_dim),
        _input("KV bytes per element", capacity.kv_bytes, "bytes"),
        _input("model context", facts.context_length, "tokens"),
        _input("GPUs per node" if capacity.nodes > 1 else "GPUs per replica", capacity.gpus),
    ]
    parallelism = capacity.endpoint.spec.parallelism
    if parallelism is not None and parallelism.data > 1:
        ranks = Origin(
            "each rank holds the model on its GPUs: the arithmetic below is per rank",
            capacity.endpoint,
            ("spec", "parallelism", "data"),
        )
        inputs.append(_input("data-parallel ranks", Fact(parallelism.data, ranks)))
    inputs += _topology_inputs(capacity)
    if capacity.on_gpu:
        inputs.append(_input("GPU memory", capacity.gpu_memory_gib, "GiB"))
    else:
        inputs.append(_input("replica memory", capacity.memory_bytes, "bytes"))
    inputs.append(_input("tokens per sequence", capacity.sequence_tokens, "tokens"))
    if runtime is not None:
        inputs.append(
            {
                "name": "max_concurrent_requests",
                "value": runtime.max_concurrent_requests,
                "source": origin_json(
                    Origin(
                        "",
                        capacity.endpoint,
                        ("spec", "deploymentSpec", "runtime", "max_concurrent_requests"),
                    )
                ),
            }
        )
    inputs.append(
        {
            "name": "minReplicas",
            "value": capacity.endpoint.spec.min_replicas,
            "source": origin_json(Origin("", capacity.endpoint, ("spec", "minReplicas"))),
        }
    )
    own = capacity_diagnostics(diagnostics)
    return {
        "endpoint": capacity.endpoint.name,
        "environment": capacity.env.name,
        "model": capacity.model.subject.removeprefix("Model/"),
        "constants": {
            "weight_overhead": WEIGHT_OVERHEAD,
            "gpu_memory_utilization": GPU_MEMORY_UTILIZATION,
            "runtime_overhead_gib": RUNTIME_OVERHEAD_GIB,
        },
        "inputs": inputs,
        "assumptions": [
            {"assumed": assumption.what, "state_it": assumption.state_it}
            for assumption in _assumptions(capacity)
        ],
        "missing": capacity.missing,
        "results": _results(capacity),
        "verdict": _verdict(own, capacity),
        "diagnostics": [
            {
                "code": d.code,
                "severity": d.severity.value,
                "message": d.message,
                "hint": d.hint,
                "file": d.span.file,
                "line": d.span.line,
            }
            for d in own
        ],
    }


def _assumptions(capacity: EndpointCapacity) -> tuple[Assumption, ...]:
    """What llmops assumed for this endpoint's numbers: an inferred preset, a default derived from
    it."""
    facts = capacity.facts
    return assumptions_of(
        facts.parameters,
        facts.layers,
        facts.attention_heads,
        facts.kv_heads,
        facts.head_dim,
        facts.context_length,
        capacity.memory_bytes,
        capacity.sequence_tokens,
    )


def _results(capacity: EndpointCapacity) -> dict[str, Any]:
    out = _gpu_results(capacity)
    prefill = capacity.prefill
    if prefill is not None and prefill.gpu_weights is not None:
        loaded = prefill.gpu_weights
        out.update(
            prefill_weights_bytes_per_gpu=loaded.weights_bytes_per_gpu,
            prefill_usable_bytes_per_gpu=loaded.usable_bytes_per_gpu,
        )
    if capacity.nodes > 1 or prefill is not None:
        out["gpus_at_min_replicas"] = capacity.total_gpus
    return out


def _gpu_results(capacity: EndpointCapacity) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sequence = capacity.sequence_tokens.value if capacity.sequence_tokens else None
    serving = capacity.gpu
    if serving is not None:
        out.update(
            weights_bytes=serving.weights_bytes,
            weights_bytes_per_gpu=serving.weights_bytes_per_gpu,
            kv_bytes_per_token=json_count(serving.kv_bytes_per_token),
            usable_bytes_per_gpu=serving.usable_bytes_per_gpu,
            kv_budget_bytes_per_gpu=serving.kv_budget_bytes_per_gpu,
            kv_tokens=serving.kv_tokens,
        )
        if sequence:
            per_replica = serving.sequences(sequence)
            out.update(
                sequence_tokens=json_count(sequence),
                sequences_per_replica=per_replica,
                sequences_at_min_replicas=json_count(per_replica * capacity.min_replicas),
            )
    elif capacity.gpu_weights is not None:
        loaded = capacity.gpu_weights
        out.update(
            weights_bytes=loaded.weights_bytes,
            weights_bytes_per_gpu=loaded.weights_bytes_per_gpu,
            usable_bytes_per_gpu=loaded.usable_bytes_per_gpu,
        )
    elif not capacity.on_gpu and capacity.facts.parameters is not None:
        weights = cpu_weights_bytes(capacity.facts.parameters.value, capacity.weight_bytes.value)
        out.update(
            weights_bytes=weights,
            kv_bytes_for_one_sequence=capacity.cpu_kv_bytes(),
            memory_bytes=capacity.memory_bytes.value if capacity.memory_bytes else None,
        )
    return out


def _value_text(row: dict[str, Any]) -> str:
    value = row["value"]
    if value is None:
        return "?"
    if row["name"] == "replica memory":
        return f"{value / GIB:g} GiB"
    if isinstance(value, int) and not isinstance(value, bool):
        text = grouped(value)
    else:
        text = f"{value:g}" if isinstance(value, float) else str(value)
    unit = row.get("unit", "")
    return f"{text} {unit}".rstrip() if unit in ("GiB", "bytes") else text


def _source_text(source: dict[str, Any]) -> str:
    """`file:line field (note)`, or the note alone for a value no manifest wrote."""
    if "file" not in source:
        return str(source.get("note", ""))
    text = f"{source['file']}:{source['line']} {source['field']}"
    return f"{text} ({source['note']})" if source.get("note") else text


def format_text(explanation: dict[str, Any], capacity: EndpointCapacity) -> str:
    lines = [
        f"ServingEndpoint/{explanation['endpoint']} in {explanation['environment']}, serving "
        f"Model/{explanation['model']}",
        "",
        "inputs",
    ]
    width = max(len(row["name"]) for row in explanation["inputs"])
    for row in explanation["inputs"]:
        lines.append(
            f"  {row['name']:<{width}}  {_value_text(row):>14}  {_source_text(row['source'])}"
        )
    for row in explanation["inputs"]:
        if row["source"].get("reference"):
            lines.append(f"  (preset values from {row['source']['reference']})")
            break
    if explanation["assumptions"]:
        lines += ["", "assumptions"]
        for assumption in explanation["assumptions"]:
            lines += [f"  {assumption['assumed']}", f"    to state it: {assumption['state_it']}"]
    lines += [
        "",
        "arithmetic",
        *_arithmetic_lines(capacity),
        "",
        f"verdict: {explanation['verdict']}",
    ]
    for diagnostic in explanation["diagnostics"]:
        lines.append(
            f"  {diagnostic['severity']}[{diagnostic['code']}] "
            f"{diagnostic['file']}:{diagnostic['line']}: {diagnostic['message']}"
        )
        if diagnostic["hint"]:
            lines.append(f"    hint: {diagnostic['hint']}")
    # one line each: a newline in a value or a file's name is shown as an escape, never starts
    # a line of its own
    return "\n".join(escape_controls(line) for line in lines) + "\n"


def _arithmetic_lines(capacity: EndpointCapacity) -> list[str]:
    return _replica_lines(capacity) + _topology_lines(capacity)


def _topology_lines(capacity: EndpointCapacity) -> list[str]:
    """The prefill replicas' weights per GPU, and the GPUs all replicas take."""
    lines = []
    prefill = capacity.prefill
    loaded = prefill.gpu_weights if prefill is not None else None
    if loaded is not None:
        split = f" / {loaded.gpus} GPUs" if loaded.gpus > 1 else ""
        fits = "fits" if loaded.weights_fit else "does not fit"
        lines.append(
            f"  prefill weights     {gib(loaded.weights_bytes)}{split} = "
            f"{gib(loaded.weights_bytes_per_gpu)} per GPU of "
            f"{gib(loaded.usable_bytes_per_gpu)} usable ({fits})"
        )
    spec = capacity.endpoint.spec
    if capacity.nodes > 1 or spec.prefill is not None:
        parts = (
            f"{_count(spec.min_replicas, 'replica')} x {_count(capacity.nodes, 'node')} x "
            f"{topology.gpus_per_node(spec)} GPUs"
        )
        if spec.prefill is not None:
            parts += (
                f" + {_count(spec.prefill.min_replicas, 'prefill replica')} x "
                f"{_count(topology.nodes(spec.prefill.parallelism), 'node')} x "
                f"{topology.prefill_gpus_per_node(spec)} GPUs"
            )
        lines.append(f"  GPUs                {parts} = {capacity.total_gpus} at minReplicas")
    return lines


def _replica_lines(capacity: EndpointCapacity) -> list[str]:
    weights = capacity.gpu_weights
    if capacity.missing and weights is not None:  # the weights are checked; the KV cache is not
        split = (
            f" / {weights.gpus} GPUs = {gib(weights.weights_bytes_per_gpu)} per GPU"
            if weights.gpus > 1
            else ""
        )
        return [
            f"  weights             {grouped(weights.parameters)} x {weights.weight_bytes:g} B x "
            f"{WEIGHT_OVERHEAD} = {gib(weights.weights_bytes)}{split}",
            f"  usable per GPU      {weights.gpu_memory_gib:g} GiB x {GPU_MEMORY_UTILIZATION} - "
            f"{RUNTIME_OVERHEAD_GIB:g} GiB runtime overhead = {gib(weights.usable_bytes_per_gpu)}",
            f"  KV cache            not computed: missing {', '.join(capacity.missing)}",
        ]
    if capacity.missing:
        return [f"  not computed: missing {', '.join(capacity.missing)}"]
    serving = capacity.gpu
    sequence = capacity.sequence_tokens.value if capacity.sequence_tokens else None
    context = capacity.facts.context_length.value if capacity.facts.context_length else None
    if serving is None:
        return _cpu_lines(capacity)
    inputs = serving.inputs
    split = (
        f" / {inputs.gpus} GPUs = {gib(serving.weights_bytes_per_gpu)} per GPU"
        if inputs.gpus > 1
        else ""
    )
    lora = capacity.adapters
    adapters = (
        f" + {gib(lora.total_bytes)} LoRA ({lora.slots} x rank {lora.rank} x {lora.layers} layers "
        f"x {PROJECTION_WIDTHS} x {lora.hidden_size} x {lora.bytes_per_element:g} B)"
        if lora is not None
        else ""
    )
    lines = [
        f"  weights             {grouped(inputs.parameters)} x {inputs.weight_bytes:g} B x "
        f"{WEIGHT_OVERHEAD}{adapters} = {gib(serving.weights_bytes)}{split}",
        f"  KV cache per token  2 x {inputs.layers} layers x {inputs.kv_heads} KV heads x "
        f"{inputs.head_dim} x {inputs.kv_bytes} B = {kib(serving.kv_bytes_per_token)}",
        f"  usable per GPU      {inputs.gpu_memory_gib:g} GiB x {GPU_MEMORY_UTILIZATION} - "
        f"{RUNTIME_OVERHEAD_GIB:g} GiB runtime overhead = {gib(serving.usable_bytes_per_gpu)}",
        f"  KV budget per GPU   {gib(serving.usable_bytes_per_gpu)} - "
        f"{gib(serving.weights_bytes_per_gpu)} weights = {gib(serving.kv_budget_bytes_per_gpu)}",
        f"  KV cache holds      {grouped(serving.kv_tokens)} tokens per replica",
    ]
    if sequence is not None:
        allowed = f" (the model allows {grouped(context)})" if context else ""
        lines.append(f"  max context         {grouped(sequence)} tokens per sequence{allowed}")
        per_replica = serving.sequences(sequence)
        lines.append(
            f"  sequences           {grouped(per_replica)} at full context per replica, "
            f"{grouped(per_replica * capacity.min_replicas)} at minReplicas {capacity.min_replicas}"
        )
    return lines


def _cpu_lines(capacity: EndpointCapacity) -> list[str]:
    parameters = capacity.facts.parameters
    if parameters is None:
        return ["  not computed: missing parameters"]
    weights = cpu_weights_bytes(parameters.value, capacity.weight_bytes.value)
    cache = capacity.cpu_kv_bytes()
    memory = capacity.memory_bytes.value if capacity.memory_bytes else 0.0
    lines = [
        f"  weights (CPU)       {grouped(parameters.value)} x {capacity.weight_bytes.value:g} B x "
        f"{WEIGHT_OVERHEAD} = {gib(weights)}"
    ]
    if cache:
        lines.append(f"  KV cache            {gib(cache)} for one full sequence")
    lines.append(f"  replica memory      {gib(memory)} ({gib(memory - weights - cache)} left)")
    return lines


def is_error(explanation: dict[str, Any]) -> bool:
    return any(d["severity"] == Severity.ERROR.value for d in explanation["diagnostics"])


def explain_endpoint(
    env: ResolvedEnvironment, served: Manifest[ServingEndpointSpec], diagnostics: list[Diagnostic]
) -> tuple[dict[str, Any], EndpointCapacity] | None:
    """What `llmops explain` prints (the console shows it too): the arithmetic with the endpoint's
    own diagnostics, and the lineage of trained models; None when its model does not resolve."""
    capacity = endpoint_capacity(env, served)
    if capacity is None:
        return None
    model = capacity.model.subject
    mine = [
        d
        for d in diagnostics
        if (d.subject or "").startswith(f"{served.subject} (")
        # C001 on the model names its endpoint
        or f"{served.subject} on GPUs in `{env.name}`" in d.message
        # the model's own capacity findings bear on this arithmetic (C011: its parameters
        # contradict the preset whose layers it uses)
        or (d.code.startswith("C") and (d.subject or "").startswith(f"{model} ("))
    ]
    explanation = explain(capacity, mine)
    lineages = [
        lineage_report(env, model, diagnostics)
        for model in served_models(env, served)
        if model.spec.base_model is not None or model.spec.trained_by is not None
    ]
    if lineages:  # only trained models have a lineage worth a section
        explanation["lineage"] = lineages
    return explanation, capacity


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
