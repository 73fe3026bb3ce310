"""K009 measures the ConfigMaps render writes: it reports one exactly when what it counts is over
Kubernetes' 1 MiB, the rendered ConfigMap is then over too, and what it counts stays within a few
KiB of the rendered size (so a ConfigMap it lets through is over by at most that much)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.check.object_sizes import MAX_CONFIGMAP_BYTES
from compiler.render.estate import render_estate
from tests.helpers.estate import codes, copy_bundled_estate, validate, write_files

TRAINING = "environments/dev/training/customer-support-sft.yaml"
STRUCTURE_ALLOWANCE = 8 * 1024  # keys, indentation and llmops's own fields the check does not count
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


def counted(root: Path) -> int:
    """What the check counts for the proxy's ConfigMap."""
    from compiler.check.object_sizes import _proxy_parts

    return sum(size for _, _, size in _proxy_parts(validate(root, "dev").estate.environments[0]))


@pytest.mark.parametrize("size", [400_000, 1_030_000, 1_060_000, 1_200_000])
def test_the_proxy_configmap_is_refused_when_it_would_be_too_large(
    tmp_path: Path, size: int
) -> None:
    root = copy_bundled_estate(tmp_path)
    # two files: each stays under the 1 MiB manifest limit
    for name in ("handbook-a", "handbook-b"):
        text = "\n".join("    " + "x" * 99 for _ in range(size // 200))
        write_files(
            root, {f"environments/dev/prompts/{name}.yaml": TEMPLATE.format(name=name, text=text)}
        )
    reported = "K009" in codes(validate(root, "dev").diagnostics)
    rendered = configmap_bytes(root, "llmops-proxy-config")
    assert counted(root) <= rendered < counted(root) + STRUCTURE_ALLOWANCE
    assert reported == (counted(root) > MAX_CONFIGMAP_BYTES)
    if reported:
        assert rendered > MAX_CONFIGMAP_BYTES


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
