"""K009 measures the ConfigMaps render writes: the proxy's exactly (its proxy.json, as render writes
it), a training job's from its hyperparameters, and whole near the limit; it reports one exactly
when the rendered ConfigMap is over Kubernetes' 1 MiB."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.check.object_sizes import MAX_CONFIGMAP_BYTES
from compiler.render.estate import render_estate
from tests.helpers.estate import codes, copy_bundled_estate, validate, write_files

TRAINING = "environments/dev/training/customer-support-sft.yaml"
TEMPLATE = """\
apiVersion: llmops.io/v1
kind: PromptTemplate
metadata:
  name: {name}
spec:
  template: |
{text}
"""


def configmap_bytes(root: Path, name_prefix: str) -> int:
    """The rendered ConfigMap's data, in bytes (render needs resolved manifests, not a clean
    validation)."""
    objects = render_estate(validate(root, "dev").estate).groups["dev"]
    (configmap,) = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith(name_prefix)
    ]
    return sum(len(value.encode()) for value in configmap["data"].values())


def proxy_k009(root: Path) -> list[str]:
    return [
        f"{d.span.file}:{d.span.line}"
        for d in validate(root, "dev").diagnostics
        if d.code == "K009" and "proxy" in d.message
    ]


def _put(root: Path, file: str, anchor: str, text: str) -> None:
    path = root / file
    content = path.read_text(encoding="utf-8")
    assert anchor in content
    path.write_text(content.replace(anchor, text, 1), encoding="utf-8")


DATASET = "environments/_shared/catalog/customer-support-dataset.yaml"
MODEL = "environments/_shared/catalog/example-base-model.yaml"
# Each writes a long string into one thing the proxy's ConfigMap carries: where, and the line K009
# points at.
CONTRIBUTORS = {
    "template": (
        "environments/dev/prompts/handbook.yaml",
        None,
        lambda n: TEMPLATE.format(name="handbook", text="    " + "x" * n),
        6,
    ),
    "dataset description": (
        DATASET,
        "  files:",
        lambda n: f"  description: {'d' * n}\n  files:",
        13,
    ),
    "job hyperparameter": (
        TRAINING,
        "      num_epochs: 1",
        lambda n: f"      num_epochs: 1\n      notes: {'n' * n}",
        18,  # its trainJobSpec
    ),
    "model description": (
        MODEL,
        '"Example base model"',
        lambda n: '"' + "m" * n + '"',
        15,  # its metadata
    ),
}


@pytest.mark.parametrize("what", sorted(CONTRIBUTORS))
@pytest.mark.parametrize("length", [900_000, 1_038_000, 1_041_000, 1_046_000])
def test_k009_reports_the_proxy_configmap_exactly_when_the_render_is_over(
    tmp_path: Path, what: str, length: int
) -> None:
    """The check measured templates, notes and roles only: a 950 KB dataset description plus a
    200 KB hyperparameter passed, and `render --verify` approved a ConfigMap Kubernetes refuses."""
    root = copy_bundled_estate(tmp_path)
    file, anchor, text, line = CONTRIBUTORS[what]
    if anchor is None:
        write_files(root, {file: text(length)})
    else:
        _put(root, file, anchor, text(length))
    rendered = configmap_bytes(root, "llmops-proxy-config")
    found = proxy_k009(root)
    assert bool(found) == (rendered > MAX_CONFIGMAP_BYTES), (rendered, found)
    if found:
        assert found == [f"{file}:{line}"]


def test_many_small_endpoints_over_the_limit_are_k009(tmp_path: Path) -> None:
    """1,700 endpoints of ordinary size made a 1.1 MB proxy.json that validated."""
    root = copy_bundled_estate(tmp_path)
    endpoint = (root / "environments/dev/serving/example-model.yaml").read_text(encoding="utf-8")
    files = {}
    for number in range(1_700):
        name = f"chat-{number:04d}"
        files[f"environments/dev/serving/{name}.yaml"] = endpoint.replace(
            "example-model", name
        ).replace("example-base-model-1.0", "example-base-model@1.0")
    write_files(root, files)
    rendered = configmap_bytes(root, "llmops-proxy-config")
    assert rendered > MAX_CONFIGMAP_BYTES
    assert len(proxy_k009(root)) == 1


@pytest.mark.parametrize(("entries", "too_large"), [(10, False), (6_000, False), (9_000, True)])
def test_a_training_configmap_is_refused_when_its_hyperparameters_do_not_fit(
    tmp_path: Path, entries: int, too_large: bool
) -> None:
    root = copy_bundled_estate(tmp_path)
    path = root / TRAINING
    extra = "".join(f"      note_{number}: {'n' * 40}\n" for number in range(entries))
    text = path.read_text(encoding="utf-8").replace(
        "      num_epochs: 1\n", f"      num_epochs: 1\n{extra}", 1
    )
    path.write_text(text, encoding="utf-8")
    found = [d for d in validate(root, "dev").diagnostics if d.code == "K009"]
    rendered = configmap_bytes(root, "customer-support-sft-")
    assert (rendered > MAX_CONFIGMAP_BYTES) == too_large
    assert bool(found) == too_large
    if found:
        # the hyperparameters mapping
        assert (found[0].span.file, found[0].span.line) == (TRAINING, 27)


def test_a_trainjob_carries_its_configuration_once(tmp_path: Path) -> None:
    """With `training.backend: trainjob` there is no ConfigMap: the configuration is one environment
    variable."""
    root = copy_bundled_estate(tmp_path)
    environment = root / "environments/dev/environment.yaml"
    environment.write_text(
        environment.read_text(encoding="utf-8") + "  training:\n    backend: trainjob\n",
        encoding="utf-8",
    )
    path = root / TRAINING
    extra = "".join(f"      note_{number}: {'n' * 40}\n" for number in range(9_000))
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "      num_epochs: 1\n", f"      num_epochs: 1\n{extra}"
        ),
        encoding="utf-8",
    )
    assert "K009" not in codes(validate(root, "dev").diagnostics)


@pytest.mark.parametrize(
    "hyperparameters",
    [
        {},
        {"lr": 0.0001, "epochs": 3, "warmup": None, "packing": True, "tags": []},
        {"nested": {"deep": [1, 2.5, {"x": "ünïcode ✓"}], "empty": {}}, "big": 10**40},
        {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")},
        {"text": 'quotes " and \\ and \n newlines and \u2028'},
    ],
)
def test_a_training_configuration_is_measured_as_the_standard_library_writes_it(
    hyperparameters: dict[str, object],
) -> None:
    from compiler.check.object_sizes import _indented_json_size, _json_size

    for value in (hyperparameters, {"hyperparameters": hyperparameters}):
        assert _indented_json_size(value) == _json_size(value, indent=2)


def test_k009_names_the_bytes_the_heaviest_manifest_adds_to_proxy_json(tmp_path: Path) -> None:
    """ "about N from here" is what the manifest's entry adds to the rendered proxy.json: removing
    the manifest takes N bytes away, and the separator before its entry."""
    root = copy_bundled_estate(tmp_path)
    handbook = "environments/dev/prompts/handbook.yaml"  # the heaviest: 600 KB
    write_files(
        root,
        {
            handbook: TEMPLATE.format(name="handbook", text="    " + "x" * 600_000),
            "environments/dev/prompts/guide.yaml": TEMPLATE.format(
                name="guide", text="    " + "y" * 500_000
            ),
        },
    )
    (message,) = [d.message for d in validate(root, "dev").diagnostics if d.code == "K009"]
    with_it = configmap_bytes(root, "llmops-proxy-config")
    (root / handbook).unlink()
    without_it = configmap_bytes(root, "llmops-proxy-config")
    added = int(message.split("about ")[1].split(" from here")[0].replace(",", ""))
    assert with_it - without_it == added + len(",\n    ")


@pytest.mark.parametrize("past_the_limit", [-1, 0, 1, 2])
def test_a_training_configmap_is_measured_whole_near_the_limit(
    tmp_path: Path, past_the_limit: int
) -> None:
    """K009 counted only the hyperparameters: a ConfigMap whose hyperparameters fitted, with
    job.json's names and URIs over the limit (by up to a few KB), validated and was refused."""

    def rendered_with(note: int) -> tuple[int, list[str]]:
        root = copy_bundled_estate(tmp_path / str(note))
        _put(
            root,
            TRAINING,
            "      num_epochs: 1\n",
            f"      num_epochs: 1\n      notes: {'n' * note}\n",
        )
        found = [d.message for d in validate(root, "dev").diagnostics if d.code == "K009"]
        return configmap_bytes(root, "customer-support-sft-"), found

    small, _ = rendered_with(10)
    rest = small - 2 * 10  # everything but the note, which the ConfigMap holds twice
    note = (MAX_CONFIGMAP_BYTES - rest) // 2 + past_the_limit
    rendered, found = rendered_with(note)
    assert rendered - MAX_CONFIGMAP_BYTES in (2 * past_the_limit - 1, 2 * past_the_limit)
    assert bool(found) == (rendered > MAX_CONFIGMAP_BYTES), (rendered, found)
    if found:
        assert f"would hold {rendered:,} bytes" in found[0]
