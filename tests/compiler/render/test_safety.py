"""The safety property of rendering: no string a user writes can add, remove or reshape a rendered
object.

Hostile text (newlines, `---`, quotes, `{{ }}`, YAML and JSON syntax, YAML 1.1 words, control and
line-separator characters, Korean, emoji) is injected into every free-text field of the bundled
estate's `dev` environment; the manifests are rewritten with a YAML dumper (so the input stays valid
YAML), validated, rendered and emitted. Then:
- the rendered objects are the same (apiVersion, kind, namespace, name) as the baseline's (training
  Job/ConfigMap names carry a content hash, which must be the hash in their annotation);
- the emitted stream reads back (YAML 1.1 and 1.2) as exactly the rendered objects;
- every injected string appears verbatim where it belongs (annotations, the proxy's configuration,
  the training configuration, the trainer command);
- Argo CD's own keys never appear, whatever a user writes;
- every object passes the shared conformance checker (built-in kinds required).

Names may only be identifiers: hostile names must be refused by `validate`, or render as valid
names. Fields Kubernetes or Argo CD check (revisions, paths, hosts, images...) are covered by
tests/compiler/render/test_formats.py.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from compiler.check.experiments import PLACEHOLDER
from compiler.diagnostics import Severity
from compiler.emit.yaml_text import emit_stream
from compiler.load.yaml_strict import parse_documents
from compiler.render.context import FORBIDDEN_KEYS, SOURCE_ANNOTATION, SYNC_WAVE
from compiler.render.estate import render_estate
from compiler.resolve.model_digest import model_digest
from compiler.spec.formats import is_user_id, is_version_label
from compiler.spec.hyperparameters import KNOWN_HYPERPARAMETERS
from compiler.spec.model import ModelManifest
from tests.helpers.conformance import assert_conformant
from tests.helpers.estate import copy_bundled_estate, validate
from tests.helpers.go_yaml import go_yaml_v2_reads_string, plain_strings
from tests.helpers.hostile import TEXT, dump_documents

ENV = "dev"
NOTE = "example.com/note"
ENDPOINT_FILE = "environments/dev/serving/example-model.yaml"
MODEL_FILE = "environments/_shared/catalog/example-base-model.yaml"
DATASET_FILE = "environments/_shared/catalog/customer-support-dataset.yaml"
PROMPTS_FILE = "environments/_shared/prompts/support-templates.yaml"
TRAINING_FILE = "environments/dev/training/customer-support-sft.yaml"
APPROVAL_FILE = "environments/dev/approvals/example-base-model-1-0-admin.yaml"
ENVIRONMENT_FILE = "environments/dev/environment.yaml"
HASHED_NAME = re.compile(r"^(?P<job>.+)-(?P<hash>[0-9a-f]{8})(?P<suffix>-config)?$")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_CLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Hostile:
    """One hostile string (or list) per free-text field."""

    endpoint_annotation: str
    job_annotation: str
    model_description: str
    model_annotation: str
    dataset_description: str
    approval_notes: str
    approved_by: str
    environment_annotation: str
    template_description: str
    template_text: str
    template_version: str
    variable_key: str
    variable_value: str
    experiment_notes: str
    hyperparameter_key: str
    hyperparameter_value: str
    command: list[str]
    allowed_role: str
    deployment_job_type: str
    owned_annotation: str  # written under keys the renderer owns or Argo CD owns: must lose


# A well-known hyperparameter (learning_rate...) must be a number in its range: not free text.
FREE_KEY = TEXT.filter(lambda key: key not in KNOWN_HYPERPARAMETERS)
# Roles and approver ids have formats (a role is one X-User-Roles entry, an id visible text): their
# hostile values are the YAML- and JSON-special characters those formats still allow.
ROLE = st.from_regex(r"[!-+\--~]{1,40}", fullmatch=True)
USER_ID = st.one_of(TEXT.filter(is_user_id), ROLE)
# A version is one line with no spaces or `@`, but may hold quotes, `#`, `{{` and `:`.
VERSION = st.one_of(
    TEXT.filter(is_version_label), st.from_regex(r"[0-9][!-?A-~]{0,40}", fullmatch=True)
)
HOSTILE = st.builds(
    Hostile,
    **{
        name: TEXT
        for name in Hostile.__dataclass_fields__
        if name
        not in ("command", "hyperparameter_key", "approved_by", "allowed_role", "template_version")
    },
    hyperparameter_key=FREE_KEY,
    approved_by=USER_ID,
    allowed_role=ROLE,
    template_version=VERSION,
    command=st.lists(TEXT, min_size=1, max_size=3),
)
NASTY = (
    "\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: injected\n# {{ company }} \"'\\ "
    "\u2028 한국어 😀"
)
NASTY_ROLE = "'\"#{{company}}&*!%@`:|>-[]"
NASTY_USER_ID = "- injected: {{ company }} # \"'\\ 한국어 😀"
NASTY_VERSION = "1'\"#{{company}}&*!%:|>-[]---"


def every_field(text: str, role: str, user_id: str, version: str = "1") -> Hostile:
    """One value in every free-text field, and the format-bound fields' own."""
    fields = {name: text for name in Hostile.__dataclass_fields__ if name != "command"}
    bound = {"allowed_role": role, "approved_by": user_id, "template_version": version}
    return Hostile(**{**fields, **bound}, command=[text])


# -- reading and writing manifests -----------------------------------------------------------------


def read_manifests(path: Path) -> list[dict[str, Any]]:
    documents, diagnostics = parse_documents(path.name, path.read_text(encoding="utf-8"))
    assert diagnostics == []
    return [document.data for document in documents]


def rewrite(root: Path, relative: str, edit: Callable[[list[dict[str, Any]]], None]) -> None:
    """Edit a manifest file's data and write it back; check the file reads back as exactly that
    data."""
    path = root / relative
    documents = read_manifests(path)
    edit(documents)
    path.write_text(dump_documents(documents), encoding="utf-8")
    assert read_manifests(path) == documents, "the test's dumper changed the data"


@contextmanager
def estate_copy(pristine: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="llmops-safety-") as directory:
        root = Path(directory) / "estate"
        shutil.copytree(pristine, root)
        yield root


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_bundled_estate(tmp_path_factory.mktemp("pristine"))


# -- rendering -------------------------------------------------------------------------------------


@dataclass
class Rendered:
    text: str
    objects: list[dict[str, Any]]

    def find(
        self, kind: str, name: str | None = None, *, label: tuple[str, str] | None = None
    ) -> dict[str, Any]:
        found = [
            o
            for o in self.objects
            if o["kind"] == kind
            and (name is None or o["metadata"]["name"] == name)
            and (label is None or o["metadata"].get("labels", {}).get(label[0]) == label[1])
        ]
        assert len(found) == 1, f"{len(found)} {kind} objects named {name!r} / labelled {label!r}"
        return found[0]


def render(root: Path) -> Rendered:
    result = validate(root, ENV)
    errors = [
        f"{d.span.file}:{d.span.line}: {d.code} {d.message}"
        for d in result.diagnostics
        if d.severity is Severity.ERROR
    ]
    assert errors == []
    groups = render_estate(result.estate).groups  # dev and its Argo CD Application
    objects = [obj for group in groups.values() for obj in group]
    return Rendered("".join(emit_stream(group) for group in groups.values()), objects)


def identities(objects: list[dict[str, Any]]) -> list[tuple[str, str, str | None, str]]:
    """Who the objects are; content-hashed training names stand for their job (checked
    separately)."""
    found = []
    for obj in objects:
        metadata = obj["metadata"]
        name = metadata["name"]
        if "llmops.io/training-job" in metadata.get("labels", {}):
            match = HASHED_NAME.match(name)
            assert match, name
            name = f"{match['job']}-<hash>{match['suffix'] or ''}"
        found.append((obj["apiVersion"], obj["kind"], metadata.get("namespace"), name))
    return found


def assert_reads_back(rendered: Rendered) -> None:
    """The emitted stream is exactly the rendered objects, to YAML 1.1 (both PyYAML readers) and
    1.2."""
    assert list(yaml.safe_load_all(rendered.text)) == rendered.objects
    assert list(yaml.load_all(rendered.text, Loader=_CLoader)) == rendered.objects
    documents, diagnostics = parse_documents("rendered.yaml", rendered.text)
    assert diagnostics == []
    assert [document.data for document in documents] == rendered.objects


def assert_no_argocd_keys(objects: list[dict[str, Any]]) -> None:
    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                assert key not in FORBIDDEN_KEYS, f"{path}.{key}"
                walk(child, f"{path}.{key}")
        elif isinstance(value, list):
            for index, child in enumerate(value):
                walk(child, f"{path}[{index}]")

    for obj in objects:
        walk(obj, f"{obj['kind']}/{obj['metadata']['name']}")


@pytest.fixture(scope="module")
def baseline(pristine: Path) -> Rendered:
    rendered = render(pristine)
    assert_conformant(rendered.text)
    return rendered


# -- injecting
# ---------------------------------------------------------------------------------------


def inject(root: Path, hostile: Hostile) -> dict[str, Any]:
    """Write the hostile strings into the estate; return what each rendered place must then hold."""
    owned = {
        SYNC_WAVE: hostile.owned_annotation,
        SOURCE_ANNOTATION: hostile.owned_annotation,
        **{key: hostile.owned_annotation for key in FORBIDDEN_KEYS},
    }
    forbidden_labels = {
        key: "llmops" for key in FORBIDDEN_KEYS if "/" in key and "argocd" not in key
    }

    def annotate(document: dict[str, Any], value: str) -> None:
        document["metadata"]["annotations"] = {**owned, NOTE: value}
        document["metadata"]["labels"] = dict(forbidden_labels)

    def endpoint(documents: list[dict[str, Any]]) -> None:
        annotate(documents[0], hostile.endpoint_annotation)
        documents[0]["spec"]["deploymentSpec"]["job_type"] = hostile.deployment_job_type
        documents[0]["spec"]["allowedRoles"] = [hostile.allowed_role]

    hyperparameters: dict[str, Any] = {}

    def training(documents: list[dict[str, Any]]) -> None:
        annotate(documents[0], hostile.job_annotation)
        spec = documents[0]["spec"]
        spec["command"] = list(hostile.command)
        hyper = spec["trainJobSpec"]["hyperparameters"]
        hyper["note"] = hostile.hyperparameter_value
        hyper[hostile.hyperparameter_key] = hostile.hyperparameter_value
        hyperparameters.update(hyper)

    model_holder: list[dict[str, Any]] = []

    def model(documents: list[dict[str, Any]]) -> None:
        annotate(documents[0], hostile.model_annotation)
        documents[0]["spec"]["metadata"]["description"] = hostile.model_description
        model_holder.append(documents[0])

    def dataset(documents: list[dict[str, Any]]) -> None:
        annotate(documents[0], hostile.model_annotation)
        documents[0]["spec"]["description"] = hostile.dataset_description

    variables = {"company": hostile.variable_value, hostile.variable_key: hostile.variable_value}
    # every placeholder the hostile template uses is declared (X003), with a hostile default
    variables.update(
        {name: hostile.variable_value for name in PLACEHOLDER.findall(hostile.template_text)}
    )

    def prompts(documents: list[dict[str, Any]]) -> None:
        concise, _, experiment = documents
        annotate(concise, hostile.template_description)
        concise["spec"].update(
            description=hostile.template_description,
            template=hostile.template_text,
            version=hostile.template_version,
            variables=dict(variables),
        )
        annotate(experiment, hostile.experiment_notes)
        experiment["spec"]["notes"] = hostile.experiment_notes

    def environment(documents: list[dict[str, Any]]) -> None:
        annotate(documents[0], hostile.environment_annotation)

    rewrite(root, ENDPOINT_FILE, endpoint)
    rewrite(root, TRAINING_FILE, training)
    rewrite(root, MODEL_FILE, model)
    rewrite(root, DATASET_FILE, dataset)
    rewrite(root, PROMPTS_FILE, prompts)
    rewrite(root, ENVIRONMENT_FILE, environment)
    digest = model_digest(ModelManifest.model_validate(model_holder[0]))

    def approval(documents: list[dict[str, Any]]) -> None:
        annotate(documents[0], hostile.approval_notes)
        documents[0]["spec"].update(
            notes=hostile.approval_notes, approvedBy=hostile.approved_by, modelDigest=digest
        )

    rewrite(root, APPROVAL_FILE, approval)
    return {"hyperparameters": hyperparameters, "variables": variables}


def check_injected(
    rendered: Rendered, baseline: Rendered, hostile: Hostile, expected: dict[str, Any]
) -> None:
    assert identities(rendered.objects) == identities(baseline.objects)
    assert_reads_back(rendered)
    assert_no_argocd_keys(rendered.objects)

    # annotations: the user's value verbatim; keys the renderer owns keep the renderer's value
    sources = {ENDPOINT_FILE: ("InferenceService", "Ingress"), TRAINING_FILE: ("Job", "ConfigMap")}
    values = {ENDPOINT_FILE: hostile.endpoint_annotation, TRAINING_FILE: hostile.job_annotation}
    by_identity = dict(zip(identities(baseline.objects), baseline.objects, strict=True))
    for obj, identity in zip(rendered.objects, identities(rendered.objects), strict=True):
        annotations = obj["metadata"].get("annotations", {})
        source = annotations.get(SOURCE_ANNOTATION)
        before = by_identity[identity]["metadata"].get("annotations", {})
        assert annotations.get(SYNC_WAVE) == before.get(SYNC_WAVE)
        assert source == before.get(SOURCE_ANNOTATION)
        if source in sources:
            assert obj["kind"] in sources[source]
            assert annotations[NOTE] == values[source]
        else:
            assert NOTE not in annotations, (
                f"{obj['kind']}/{obj['metadata']['name']} got a user annotation"
            )

    # training: the content hash names the objects; the configuration holds the hyperparameters
    # verbatim
    job = rendered.find("Job")
    digest = job["metadata"]["annotations"]["llmops.io/content-sha256"]
    assert job["metadata"]["name"] == f"customer-support-sft-{digest[:8]}"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == hostile.command
    config = rendered.find("ConfigMap", f"customer-support-sft-{digest[:8]}-config")
    assert json.loads(config["data"]["job.json"])["hyperparameters"] == expected["hyperparameters"]
    assert json.loads(config["data"]["hyperparameters.json"]) == expected["hyperparameters"]

    # the proxy's configuration: templates, variables, notes and roles verbatim
    proxy = json.loads(rendered.find("ConfigMap", "llmops-proxy-config")["data"]["proxy.json"])
    templates = {template["name"]: template for template in proxy["templates"]}
    assert templates["support-concise"] == {
        "name": "support-concise",
        "version": hostile.template_version,
        "template": hostile.template_text,
        "variables": expected["variables"],
    }
    assert [experiment["notes"] for experiment in proxy["experiments"]] == [
        hostile.experiment_notes
    ]
    assert [endpoint["allowedRoles"] for endpoint in proxy["endpoints"]] == [[hostile.allowed_role]]

    assert_conformant(rendered.text)


# -- the properties --------------------------------------------------------------------------------


def test_baseline_is_conformant_and_rewriting_the_manifests_changes_nothing(
    pristine: Path, baseline: Rendered
) -> None:
    with estate_copy(pristine) as root:
        for path in sorted((root / "environments").rglob("*.yaml")):
            rewrite(root, path.relative_to(root).as_posix(), lambda documents: None)
        assert render(root).text == baseline.text


@given(HOSTILE)
@example(every_field(NASTY, NASTY_ROLE, NASTY_USER_ID, NASTY_VERSION))
@example(every_field("", "y", "y"))
@example(dataclasses.replace(every_field("y", "y", "y"), command=["n"]))
def test_hostile_free_text_never_reshapes_the_rendered_objects(
    pristine: Path, baseline: Rendered, hostile: Hostile
) -> None:
    with estate_copy(pristine) as root:
        expected = inject(root, hostile)
        check_injected(render(root), baseline, hostile, expected)


# -- what Go tooling reads
# ---------------------------------------------------------------------------


def test_every_plain_scalar_of_the_bundled_render_is_a_string_to_go_yaml_v2(
    baseline: Rendered,
) -> None:
    """kubectl and Argo CD read manifests with go-yaml v2 (through sigs.k8s.io/yaml)."""
    assert [
        text for text in plain_strings(baseline.text) if not go_yaml_v2_reads_string(text)
    ] == []


@pytest.mark.parametrize(
    "metadata",
    [{"annotations": {NOTE: "y"}}, {"labels": {"canary": "N"}}, {"annotations": {NOTE: "0X1F"}}],
    ids=["annotation-y", "label-N", "0X1F"],
)
def test_user_metadata_renders_as_strings_to_go_yaml_v2(
    pristine: Path, metadata: dict[str, Any]
) -> None:
    with estate_copy(pristine) as root:
        rewrite(root, ENDPOINT_FILE, lambda documents: documents[0]["metadata"].update(metadata))
        rendered = render(root)
        assert [
            text for text in plain_strings(rendered.text) if not go_yaml_v2_reads_string(text)
        ] == []


# -- names: identifiers only
# ------------------------------------------------------------------------

NAMES = st.one_of(
    TEXT,
    st.from_regex(r"\A[a-z][a-z0-9-]{0,20}\Z"),
    st.sampled_from(
        [
            "example-model",
            "Example-Model",
            "example_model",
            "-x",
            "x-",
            "a" * 64,
            "x.y",
            "x y",
            "x\ny",
            "\nx",
        ]
    ),
)


def _rename_endpoint(root: Path, name: str) -> None:
    def edit(documents: list[dict[str, Any]]) -> None:
        documents[0]["metadata"]["name"] = name
        documents[0]["spec"]["route"] = f"/llm-ops/v1/serve/{name}"

    rewrite(root, ENDPOINT_FILE, edit)


def _rename_job(root: Path, name: str) -> None:
    rewrite(root, TRAINING_FILE, lambda documents: documents[0]["metadata"].update(name=name))


def _names_are_valid(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        name = obj["metadata"]["name"]
        assert DNS1123_SUBDOMAIN.fullmatch(name) and len(name) <= 253, repr(name)
        for key, value in obj["metadata"].get("labels", {}).items():
            assert re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?", value), (key, value)


@given(
    NAMES.filter(lambda name: not name.endswith("\n")),
    st.sampled_from([_rename_endpoint, _rename_job]),
)
def test_a_hostile_name_is_refused_or_renders_as_a_valid_name(
    pristine: Path, name: str, rename: Callable[[Path, str], None]
) -> None:
    """Names ending in a newline are left out here: `test_names_ending_in_a_newline_are_refused`."""
    with estate_copy(pristine) as root:
        rename(root, name)
        result = validate(root, ENV)
        if any(d.severity is Severity.ERROR for d in result.diagnostics):
            return
        groups = render_estate(result.estate).groups
        objects = [obj for group in groups.values() for obj in group]
        _names_are_valid(objects)
        rendered = Rendered("".join(emit_stream(group) for group in groups.values()), objects)
        assert_reads_back(rendered)
        assert_conformant(rendered.text)


@pytest.mark.parametrize(
    "rename", [_rename_endpoint, _rename_job], ids=["endpoint", "training-job"]
)
def test_names_ending_in_a_newline_are_refused(
    pristine: Path, rename: Callable[[Path, str], None]
) -> None:
    with estate_copy(pristine) as root:
        rename(root, "example-model\n" if rename is _rename_endpoint else "customer-support-sft\n")
        result = validate(root, ENV)
        assert "K001" in [d.code for d in result.diagnostics]


@pytest.mark.parametrize("field", ["label-key", "label-value", "annotation-key"])
def test_labels_and_annotation_keys_ending_in_a_newline_are_refused_or_render_safely(
    pristine: Path, field: str
) -> None:
    metadata = {
        "label-key": {"labels": {"team\n": "ml"}},
        "label-value": {"labels": {"team": "ml\n"}},
        "annotation-key": {"annotations": {"note\n": "x"}},
    }[field]
    with estate_copy(pristine) as root:
        rewrite(root, ENDPOINT_FILE, lambda documents: documents[0]["metadata"].update(metadata))
        result = validate(root, ENV)
        if any(d.severity is Severity.ERROR for d in result.diagnostics):
            assert "K006" in [d.code for d in result.diagnostics]
            return
        groups = render_estate(result.estate).groups
        objects = [obj for group in groups.values() for obj in group]
        rendered = Rendered("".join(emit_stream(group) for group in groups.values()), objects)
        assert_reads_back(rendered)
        _names_are_valid(objects)


def test_a_node_selector_key_is_refused_or_renders_safely(pristine: Path) -> None:
    selector = {"example.com/" + "k" * 1100: "true"}
    with estate_copy(pristine) as root:
        rewrite(
            root,
            "environments/stg/environment.yaml",
            lambda documents: documents[0]["spec"]["gpu"].update(nodeSelector=selector),
        )
        result = validate(root, "stg")
        if any(d.severity is Severity.ERROR for d in result.diagnostics):
            return
        groups = render_estate(result.estate).groups
        objects = [obj for group in groups.values() for obj in group]
        assert_reads_back(
            Rendered("".join(emit_stream(group) for group in groups.values()), objects)
        )
