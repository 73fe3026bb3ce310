"""`validate --env prod` judges prod's promotion policy against stg, which it resolves apart from
prod but with the run's cache: what both compute of a `_shared` manifest (a model's digest) is
computed once. Sharing it must not change a thing: these estates, with stg intact, missing, broken
or different, give the same diagnostics and the same rendered text as a run whose peers keep a
cache of their own."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import compiler.pipeline
from compiler.build import render_repository
from compiler.load.tree import DirectoryTree
from compiler.resolve.estate import ResolvedEstate, resolve_estate
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate

STG = "environments/stg"
STG_ENDPOINT = f"{STG}/serving/example-model.yaml"
STG_APPROVAL = f"{STG}/approvals/example-base-model-1-0-admin.yaml"
SHARED_MODEL = "environments/_shared/catalog/example-base-model.yaml"


def _edit(path: str, old: str, new: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        file = root / path
        text = file.read_text(encoding="utf-8")
        assert old in text, (path, old)
        file.write_text(text.replace(old, new, 1), encoding="utf-8")

    return change


def _write(path: str, text: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")

    return change


def _remove(path: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        target = root / path
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()

    return change


def _both(*changes: Callable[[Path], None]) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        for each in changes:
            each(root)

    return change


# stg's own copy of the shared model, one field different: another digest in stg
_STG_MODEL = (
    (Path(__file__).resolve().parents[2] / SHARED_MODEL)
    .read_text(encoding="utf-8")
    .replace('"ownerTeam": "ml-platform"', '"ownerTeam": "staging-team"')
)

# each estate, and the codes `validate --env prod` reports in it (so none of them is vacuous)
SCENARIOS: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "intact": (lambda root: None, []),
    "stg missing": (_remove(STG), ["P012"]),
    "stg without its endpoint": (_remove(STG_ENDPOINT), []),
    "stg without endpoint and approval": (
        _both(_remove(STG_ENDPOINT), _remove(STG_APPROVAL)),
        ["P012"],
    ),
    "stg approval rejected, no endpoint": (
        _both(_remove(STG_ENDPOINT), _edit(STG_APPROVAL, "status: approved", "status: rejected")),
        ["P012"],
    ),
    "stg approval unreadable, no endpoint": (
        _both(_remove(STG_ENDPOINT), _edit(STG_APPROVAL, "spec:", "spec: {\n")),
        [],
    ),
    "stg endpoint not valid": (_edit(STG_ENDPOINT, "minReplicas: 1", "minReplicas: many"), []),
    "stg endpoint unreadable": (_edit(STG_ENDPOINT, "spec:", "spec: [\n"), []),
    "stg approval unreadable": (_edit(STG_APPROVAL, "spec:", "spec: {\n"), []),
    "stg document without a kind": (
        _write(
            f"{STG}/serving/other.yaml",
            "apiVersion: llmops.io/v1\nmetadata: {name: x}\nspec: [\n",
        ),
        [],
    ),
    "stg settings unreadable": (_edit(f"{STG}/environment.yaml", "spec:", "spec: [\n"), []),
    "stg settings not valid": (
        _edit(f"{STG}/environment.yaml", "minApprovers: 1", "minApprovers: x"),
        [],
    ),
    "stg serves another version": (
        _edit(STG_ENDPOINT, "modelId: example-base-model@1.0", "modelId: example-base-model@9.9"),
        [],
    ),
    "stg serves another version, approves none": (
        _both(
            _edit(
                STG_ENDPOINT, "modelId: example-base-model@1.0", "modelId: example-base-model@9.9"
            ),
            _remove(STG_APPROVAL),
        ),
        ["P012"],
    ),
    "stg has its own model": (
        _write(f"{STG}/catalog/example-base-model.yaml", _STG_MODEL),
        ["P012"],
    ),
    "stg shares prod's namespace": (
        _edit(f"{STG}/environment.yaml", "namespace: llm-ops-stg", "namespace: llm-ops-prod"),
        ["K010"],
    ),
    "stg shares prod's host": (
        _edit(f"{STG}/environment.yaml", "host: stg.llm-ops.local", "host: llm-ops.example.com"),
        ["K011"],
    ),
    "shared model changed": (
        _edit(SHARED_MODEL, '"ownerTeam": "ml-platform"', '"ownerTeam": "x"'),
        ["P001", "P002", "P002"],
    ),
}


def _peers_apart(*arguments: Any, cache: dict[Any, Any] | None = None) -> ResolvedEstate:
    """`resolve_estate` as before peers shared the run's cache."""
    return resolve_estate(*arguments)


def _outcome(root: Path) -> tuple[object, ...]:
    result, output = render_repository(DirectoryTree(root), "prod", files=True, stream=True)
    return (result.diagnostics, result.suppressed, output)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_peers_sharing_the_cache_change_nothing(
    scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    change, expected = SCENARIOS[scenario]
    root = copy_bundled_estate(tmp_path / "estate")
    change(root)
    shared = _outcome(root)
    diagnostics = shared[0]
    assert isinstance(diagnostics, list)
    assert sorted(d.code for d in diagnostics) == expected
    monkeypatch.setattr(compiler.pipeline, "resolve_estate", _peers_apart)
    assert _outcome(root) == shared


def test_one_environment_sees_each_peer_s_digests_as_a_run_of_all_does(tmp_path: Path) -> None:
    """stg and prod serve a model trained by dev's job; prod requires stg. `--env prod` read stg
    without dev, so stg's digest of the model left out the job: P012 compared prod's digest with
    one stg never has, and a promotion that a run of every environment accepts could fail."""
    from compiler.pipeline import validate_repository
    from compiler.resolve.approvals import current_digest

    estate = tmp_path / "estate"
    shutil.copytree(PROJECT_ROOT / "examples" / "adapters", estate)
    shutil.copytree(PROJECT_ROOT / "examples" / "datasets", estate / "examples" / "datasets")
    environments = estate / "environments"
    dev_settings = (environments / "dev" / "environment.yaml").read_text(encoding="utf-8")
    for name in ("stg", "prod"):
        (environments / name / "serving").mkdir(parents=True)
        settings = dev_settings.replace("name: dev", f"name: {name}")
        settings = settings.replace("llm-ops-dev", f"llm-ops-{name}")
        if name == "prod":
            settings += "  promotion:\n    requires: stg\n"
        (environments / name / "environment.yaml").write_text(settings, encoding="utf-8")

    def digests(only: str | None) -> dict[tuple[str, str], str]:
        result = validate_repository(DirectoryTree(estate), only)
        seen = [env for root in result.estate.environments for env in (root, *root.peers.values())]
        return {
            (env.name, model.name): current_digest(env, model)
            for env in seen
            for model in env.of_kind("Model")
            if model.spec.trained_by is not None
        }

    everyone, prod_only = digests(None), digests("prod")
    assert ("stg", "support-sft") in prod_only and ("dev", "support-sft") in prod_only
    assert all(everyone[place] == digest for place, digest in prod_only.items())


def test_one_environment_reads_no_peer_of_a_peer_s_promotion_policy(tmp_path: Path) -> None:
    """prod requires stg, which requires dev: `--env prod` reads stg (P012), not dev, which
    nothing checked there reads (the bundled estate's chain, one environment more to load)."""
    from compiler.pipeline import validate_repository

    estate = copy_bundled_estate(tmp_path)
    settings = estate / "environments" / "stg" / "environment.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "promotion:" not in text
    settings.write_text(text + "  promotion:\n    requires: dev\n", encoding="utf-8")

    (prod,) = validate_repository(DirectoryTree(estate), "prod").estate.environments
    assert sorted(dict.keys(prod.peers)) == ["stg"]


def test_released_environments_are_freed_without_the_cyclic_collector(tmp_path: Path) -> None:
    """Environments refer to each other (peers), and what the run computed of them (an endpoint's
    capacity) refers back to them: a process that goes on after a command (the warm server)
    releases them, and reference counts alone free them; nothing else it keeps holds one."""
    import gc
    import weakref

    from compiler.pipeline import validate_repository
    from compiler.resolve.environment import release_environments

    estate = copy_bundled_estate(tmp_path / "estate")
    gc.collect()
    gc.disable()
    try:
        result = validate_repository(DirectoryTree(estate), "prod")  # stg joins as its peer
        environments = [weakref.ref(env) for env in result.estate.environments]
        peers = [weakref.ref(peer) for peer in result.estate.environments[0].peers.values()]
        assert len(environments) == 1 and peers
        del result
        assert any(ref() is not None for ref in environments + peers)  # held in cycles
        release_environments()
        assert all(ref() is None for ref in environments + peers)
    finally:
        gc.enable()
