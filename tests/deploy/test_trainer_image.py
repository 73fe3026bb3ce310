"""The `trainer` image, checked without Docker: what its Dockerfile target copies exists and passes
.dockerignore, it installs only from the hash-checked lock (PyTorch's CPU build from PyTorch's CPU
index), its entry point is the trainer's, and its documented name and tag are the renderer's default
training image.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from compiler.spec.environment import TrainingSettings
from tests.helpers.estate import PROJECT_ROOT

LOCK = PROJECT_ROOT / "requirements" / "trainer.txt"
TEST_LOCK = PROJECT_ROOT / "requirements" / "trainer-test.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$")


def stages() -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined, comments dropped)."""
    text = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [
        line
        for line in text.replace("\\\n", " ").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    found: dict[str, list[str]] = {}
    current = ""
    for line in lines:
        words = line.split()
        if words[0] == "FROM":
            current = (
                words[3] if len(words) > 3 and words[2].upper() == "AS" else f"stage-{len(found)}"
            )
            found[current] = []
        found[current].append(" ".join(words))
    return found


def pins(lock: Path) -> dict[str, str]:
    return {
        canonicalize_name(match.group(1)): match.group(2)
        for match in map(PIN.match, lock.read_text(encoding="utf-8").splitlines())
        if match
    }


def test_the_trainer_target_exists_and_the_default_build_is_still_the_llmops_image() -> None:
    names = list(stages())
    assert {"trainer-build", "trainer"} <= set(names)
    last = stages()[names[-1]]
    assert 'ENTRYPOINT ["llmops"]' in last  # `docker build .` keeps building the CLI image


def test_what_the_trainer_stages_copy_exists_and_is_in_the_build_context() -> None:
    ignore = [
        line.strip()
        for line in (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    ]
    build = stages()["trainer-build"]
    sources = [
        word.rstrip("/")
        for line in build
        if line.startswith("COPY ")
        for word in line.split()[1:-1]
    ]
    assert sources == [
        "requirements/trainer.txt",
        "pyproject.toml",
        "README.md",
        "compiler",
        "llmops",
        "templates",
    ]
    for source in sources:
        assert (PROJECT_ROOT / source).exists(), source
        assert f"!{source}" in ignore or f"!{source}/" in ignore, source


def test_the_trainer_installs_from_the_lock_only_with_the_cpu_torch() -> None:
    build = stages()["trainer-build"]
    installs = [line[line.index("pip install") :] for line in build if "pip install" in line]
    assert len(installs) == 2, installs
    locked, itself = installs
    assert "--require-hashes --no-deps" in locked and "-r requirements/trainer.txt" in locked
    assert '--extra-index-url "$TORCH_INDEX"' in locked
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in stages()["trainer-build"]
    assert itself.strip().endswith("--no-deps --no-build-isolation .")
    venv = re.search(r"python -m venv (\S+)", " ".join(build))
    assert venv is not None
    final = stages()["trainer"]
    assert f"COPY --from=trainer-build {venv.group(1)} {venv.group(1)}" in final
    assert any(f"PATH={venv.group(1)}/bin:$PATH" in line for line in final)


def test_the_entry_point_is_the_trainers() -> None:
    final = stages()["trainer"]
    assert 'ENTRYPOINT ["llmops-train"]' in final and final[-1] == 'ENTRYPOINT ["llmops-train"]'
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        scripts = tomllib.load(handle)["project"]["scripts"]
    assert scripts["llmops-train"] == "llmops.train.main:entrypoint"
    # `python -m llmops.train` is the same entry point: without a rendered Job it refuses, as
    # llmops-train would.
    done = subprocess.run(
        [sys.executable, "-m", "llmops.train"],
        env={"PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("llmops-train: error: LLMOPS_TRAINING_CONFIG is not set")


def test_the_documented_image_is_the_renderers_default() -> None:
    default = TrainingSettings().image
    assert default == "ghcr.io/llmops/trainer:0.1.0"
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    build = f"docker build --target trainer -t {default} ."
    assert f"#   {build}" in dockerfile and f"#   docker push {default}" in dockerfile
    assert build in readme and f"docker push {default}" in readme


def test_the_lock_pins_every_train_dependency_and_the_cpu_build() -> None:
    pinned = pins(LOCK)
    assert pinned["torch"] == "2.13.0+cpu"
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)["project"]
    for text in [*project["dependencies"], *project["optional-dependencies"]["train"]]:
        requirement = Requirement(text)
        version = pinned[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (text, version)
    for lock in (LOCK, TEST_LOCK):
        blocks = [
            block
            for block in re.split(r"\n(?=[a-z0-9])", lock.read_text(encoding="utf-8"))
            if block and not block.startswith("#")
        ]
        assert blocks and all("--hash=sha256:" in block for block in blocks), lock.name
    shared = set(pins(TEST_LOCK)) & set(pinned)
    # one environment, one version
    assert shared and all(pins(TEST_LOCK)[name] == pinned[name] for name in shared)


@pytest.mark.slow
def test_the_training_virtualenv_holds_exactly_the_locks() -> None:
    from tests.train.contract import ensure_train_venv

    python = ensure_train_venv()
    frozen = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    installed = {
        canonicalize_name(name): version
        for name, version in (line.split("==") for line in frozen.splitlines() if "==" in line)
    }
    installed.pop("pip")
    assert installed == pins(LOCK) | pins(TEST_LOCK)
