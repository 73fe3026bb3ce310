"""Schema diagnostics: one mistake gives one diagnostic, at the key or value to change."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.check.schema import validate_document
from compiler.load.yaml_strict import parse_documents
from tests.helpers.estate import environment_settings

MODEL = """\
apiVersion: llmops.io/v1
kind: Model
metadata: {{name: m}}
spec:
  version: {version}
  type: base
  {storage_key}: s3://models/m/1/
"""


def diagnose(text: str) -> list[tuple[str, int, int, str | None]]:
    documents, problems = parse_documents("m.yaml", text)
    assert problems == []
    _, diagnostics = validate_document(documents[0])
    return [(d.code, d.span.line, d.span.column, d.hint) for d in diagnostics]


def test_misspelt_required_field_is_one_diagnostic() -> None:
    assert diagnose(MODEL.format(version='"1"', storage_key="storageURI")) == [
        ("S001", 7, 3, "did you mean `storageUri`? (it is required and missing)")
    ]


def test_unrelated_unknown_and_missing_fields_stay_two() -> None:
    text = MODEL.format(version='"1"', storage_key="weights")
    assert sorted(code for code, *_ in diagnose(text)) == ["S001", "S002"]


def test_number_for_a_string_suggests_the_quoted_source_text() -> None:
    assert diagnose(MODEL.format(version="1.10", storage_key="storageUri")) == [
        ("S003", 5, 12, 'quote it to keep it as written: "1.10"')
    ]


def test_parameter_count_accepts_the_original_platform_form_and_explains_a_bad_one() -> None:
    base = MODEL.format(version='"1"', storage_key="storageUri") + "  metadata:\n    parameters: "
    assert diagnose(base + "7B\n") == []
    assert diagnose(base + "7000000000\n") == []
    ((code, line, column, hint),) = diagnose(base + "banana\n")
    assert (code, line, column) == ("S005", 9, 17)
    assert hint is not None and "7B" in hint


ENDPOINT = """\
apiVersion: llmops.io/v1
kind: ServingEndpoint
metadata: {{name: e}}
spec:
  modelId: m@1
  route: /llm-ops/v1/serve/e
  deploymentSpec:
    resources:
      gpu_memory_gb: {value}
"""


def messages(text: str) -> list[tuple[str, int, str]]:
    documents, problems = parse_documents("e.yaml", text)
    assert problems == []
    _, diagnostics = validate_document(documents[0])
    return [(d.code, d.span.line, d.message) for d in diagnostics]


def test_a_union_of_number_types_gives_one_diagnostic_per_value() -> None:
    """`int | float` reported each branch (two S003 for `abc`, `must be > 0` for NaN): one mistake,
    one line."""
    assert messages(ENDPOINT.format(value="abc")) == [
        (
            "S003",
            9,
            'spec.deploymentSpec.resources.gpu_memory_gb must be a number, not the string "abc"',
        )
    ]
    assert messages(ENDPOINT.format(value=".nan")) == [
        (
            "S005",
            9,
            "spec.deploymentSpec.resources.gpu_memory_gb must be a finite number, not the number "
            "nan (written `.nan`)",
        )
    ]
    assert messages(ENDPOINT.format(value="4096")) == [
        (
            "S005",
            9,
            "spec.deploymentSpec.resources.gpu_memory_gb must be at most 1024, not the number 4096",
        )
    ]


def test_a_hyperparameter_is_reported_at_its_own_key() -> None:
    text = """\
apiVersion: llmops.io/v1
kind: TrainingJob
metadata: {name: t}
spec:
  modelId: m@1
  datasetId: d@v1
  jobType: finetune
  trainJobSpec:
    hyperparameters:
      note: anything
      seed: 99999999999999999999
      batch_size: 0
"""
    # the first refused key
    assert [(code, line) for code, line, _ in messages(text)] == [("S005", 11)]
    assert "hyperparameters.seed must be an integer within ±2^53" in messages(text)[0][2]


def test_a_long_value_is_shortened_in_the_message() -> None:
    long_host = "a" * 5000 + "\\n"
    text = (
        "apiVersion: llmops.io/v1\nkind: Environment\nmetadata: {name: dev}\nspec:\n  ingress:\n"
        f'    host: "{long_host}"\n'
    )
    ((code, line, message),) = messages(text)
    assert (code, line) == ("S005", 6)
    assert len(message) < 400 and "(5,004 characters)" in message


class _CountedKeys(dict[str, int]):
    """A mapping that counts how often its keys are gone through."""

    passes = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        type(self).passes += 1
        return super().__iter__()


def test_many_unknown_keys_in_one_mapping_cost_one_pass_over_it() -> None:
    """Each unknown key looks up the key before it (where a dedented field may belong): done by
    going through the whole mapping once per key, 60,000 keys in a file under the size limit took
    a minute."""
    from compiler.check.schema import _Predecessors

    mapping = _CountedKeys({f"k{index}": index for index in range(3000)})
    predecessors = _Predecessors()
    found = [predecessors.before(mapping, f"k{index}") for index in range(3000)]
    assert found == [None, *(f"k{index}" for index in range(2999))]
    assert _CountedKeys.passes == 1
    keys = "".join(f"  k{index}: {index}\n" for index in range(3000))
    text = "apiVersion: llmops.io/v1\nkind: Model\nmetadata: {name: m}\nspec:\n" + keys
    diagnosed = diagnose(text)
    assert sum(1 for code, *_ in diagnosed if code == "S001") == 3000
    assert ("S001", 6, 3) in [entry[:3] for entry in diagnosed]  # `k1`, at its own key


@pytest.mark.parametrize(
    ("replicas", "gpu", "hints"),
    [
        ("two", "false", ["write the number 2"]),
        ('"3"', "false", ["write the number 3"]),
        ("1.0", "false", ["write 1, without a decimal point"]),
        ('"8_192"', "false", ["write the number 8192"]),  # YAML 1.1's digit grouping
        ('"8,192"', "false", ["write the number 8192"]),
        ("many", "false", ["write a whole number, such as 1"]),
        ('"' + "9" * 5000 + '"', "false", ["write a whole number, such as 1"]),  # no int()
        ("1", '"no"', ["write false, without quotes"]),
        ("1", "'Yes'", ["write true, without quotes"]),
        ("1", '"maybe"', ["write true or false, without quotes"]),
    ],
)
def test_a_value_of_the_wrong_type_gets_how_to_write_it(
    replicas: str, gpu: str, hints: list[str]
) -> None:
    text = ENDPOINT.format(value=80) + f"    use_gpu: {gpu}\n  minReplicas: {replicas}\n"
    found = diagnose(text + "  maxReplicas: 2\n")
    assert [hint for code, _, _, hint in found if code == "S003"] == hints


ENVIRONMENT = environment_settings("  gpu:\n    allowed: false\n    tolerations: {tolerations}\n")


def _messages(text: str) -> list[tuple[int, int, str]]:
    documents, problems = parse_documents("environment.yaml", text)
    assert problems == []
    _, diagnostics = validate_document(documents[0])
    return [(d.span.line, d.span.column, d.message) for d in diagnostics]


def test_a_mistake_an_alias_repeats_is_one_diagnostic_that_counts_the_places() -> None:
    """900 wrong keys in an anchored mapping repeated by 220 aliases made 198,000 diagnostics (13 s
    and 490 MB of them, for a 16 KB file); the text to change is one place each."""
    text = ENVIRONMENT.format(tolerations="[&t {operatr: x, efect: y}, *t, *t]")
    assert _messages(text) == [
        (
            12,
            23,
            "unknown field `operatr` in spec.gpu.tolerations[0] "
            "(and in 2 more places: an alias repeats it)",
        ),
        (
            12,
            35,
            "unknown field `efect` in spec.gpu.tolerations[0] "
            "(and in 2 more places: an alias repeats it)",
        ),
    ]


def test_the_same_mistake_written_twice_is_two_diagnostics() -> None:
    text = ENVIRONMENT.format(tolerations="[{operatr: x}, {operatr: x}]")
    assert [(line, column) for line, column, _ in _messages(text)] == [(12, 20), (12, 34)]
    assert not any("alias" in message for *_, message in _messages(text))


def test_a_validators_sentence_keeps_its_acronym_after_the_colon() -> None:
    """`CPU is counted in millicores` continues the message after a colon: lower-casing its first
    letter made `cPU`."""
    text = Path(__file__).parents[3] / "environments/dev/training/customer-support-sft.yaml"
    documents, problems = parse_documents(
        "t.yaml", text.read_text().replace("cpuCores: 4", "cpuCores: 1.0005")
    )
    assert problems == []
    _, diagnostics = validate_document(documents[0])
    (found,) = diagnostics
    assert ": CPU is counted in millicores" in found.message, found.message


def test_the_argo_cd_project_is_never_argo_cds_own_default() -> None:
    """The render writes the AppProject it names whole; named `default`, applying it narrowed the
    project every other Application in the cluster uses to this estate's repository."""
    settings = "  argocd:\n    repoURL: https://example.com/estate.git\n    project: {name}\n"
    (refused,) = diagnose(environment_settings(settings.format(name="default")))
    assert refused[:3] == ("S005", 12, 14)
    assert diagnose(environment_settings(settings.format(name="llm-platform"))) == []


def test_gateways_of_ones_own_need_their_url() -> None:
    """With gatewayRefs and the default gatewayUrl, the routes attached to one Gateway and the
    proxy sent every request to another (404)."""
    settings = (
        "  kserve:\n    llmInferenceService:\n      gatewayRefs:\n"
        "        - name: inference-gateway\n          namespace: gateways\n{url}"
    )
    (refused,) = diagnose(environment_settings(settings.format(url="")))
    assert refused[0] == "S005"
    url = "      gatewayUrl: http://inference-gateway.gateways.svc.cluster.local\n"
    assert diagnose(environment_settings(settings.format(url=url))) == []
