"""A regular (non-editable) install, as the Docker image makes one, carries the templates and the
CRDs.

The templates live in the top-level templates/ folder and the vendored upstream CRDs in
conformance/; pyproject.toml maps them into the package as `compiler.templates` and
`llmops.conformance.vendored`, and the code looks there first. Docker is not needed to check this:
the wheel is built from exactly the files the Dockerfile copies, and run unpacked. The Dockerfile
installs only from the locks.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops.conformance.sources import read_sources
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate

TEMPLATES = sorted(
    path.relative_to(PROJECT_ROOT / "templates").as_posix()
    for path in (PROJECT_ROOT / "templates").rglob("*")
    if path.is_file()
)


def pyproject() -> dict[str, Any]:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def test_every_package_folder_is_listed() -> None:
    """The package list is explicit (a mapped package cannot be found); a new folder must be
    added."""
    setuptools = pyproject()["tool"]["setuptools"]
    found = {
        ".".join(path.parent.relative_to(PROJECT_ROOT).parts)
        for top in ("compiler", "llmops")
        for path in (PROJECT_ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert set(setuptools["packages"]) == found | {
        "compiler.templates",
        "llmops.conformance.vendored",
    }


def test_templates_and_crds_are_package_data() -> None:
    setuptools = pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"] == {
        "compiler.templates": "templates",
        "llmops.conformance.vendored": "conformance",
    }
    assert setuptools["package-data"]["compiler.templates"] == ["**/*.j2"]
    assert TEMPLATES and all(name.endswith(".j2") for name in TEMPLATES)


def dockerfile_commands() -> list[str]:
    """Each shell command of the Dockerfile's RUN lines, continuation lines joined, split at
    `&&`."""
    text = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    runs = [
        line.strip().removeprefix("RUN ")
        for line in text.splitlines()
        if line.strip().startswith("RUN ")
    ]
    return [" ".join(command.split()) for run in runs for command in run.split("&&")]


def test_dockerfile_installs_only_from_the_locks() -> None:
    """Every `pip install` of the image is hash-checked from a lock file, or llmops itself without
    deps."""
    installs = [command for command in dockerfile_commands() if "pip install" in command]
    # the trainer's lock and llmops; the CLI image's build tools and mypyc, lock and llmops
    assert len(installs) == 5
    for command in installs:
        words = command.split()
        assert "--no-deps" in words, command
        assert "--require-hashes" in words or words[-2:] == ["--no-build-isolation", "."], command
    locked = {
        word for command in installs for word in command.split() if word.startswith("requirements/")
    }
    assert locked == {
        "requirements/build.txt",
        "requirements/image.txt",
        "requirements/native.txt",
        "requirements/trainer.txt",
    }
    assert all((PROJECT_ROOT / name).is_file() for name in locked)


def test_the_image_installs_every_runtime_package_and_the_compiled_proxy() -> None:
    """The build stage has mypy's own dependencies (typing-extensions among them): without
    --ignore-installed, pip would leave those out of /install, and the image without them. The
    proxy's hot path is compiled and put beside the installed sources, and the image checks it is
    used."""
    commands = dockerfile_commands()
    (runtime,) = [c for c in commands if "requirements/image.txt" in c]
    assert "--prefix=/install" in runtime and "--ignore-installed" in runtime.split()
    build = next(i for i, c in enumerate(commands) if "-m llmops.proxy.native_build" in c)
    (install,) = [
        i for i, c in enumerate(commands) if "--prefix=/install" in c and c.endswith(" .")
    ]
    # beside the installed sources (after the install), never packed into the wheel
    assert install < build, commands
    assert commands[build + 1].startswith("cp -r llmops/proxy/_compiled /install/"), commands
    assert any("native.in_use()" in c for c in commands[build:]), commands


def test_every_file_the_dockerfile_copies_exists() -> None:
    assert [name for name in dockerfile_sources() if not (PROJECT_ROOT / name).exists()] == []


def dockerfile_sources() -> list[str]:
    """What the Dockerfile's build stage copies from the context (`COPY src... dest`, no --from)."""
    sources = []
    for line in (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(word.startswith("--from") for word in words):
            sources.extend(word.rstrip("/") for word in words[1:-1])
    return sources


def test_dockerignore_lets_the_sources_in() -> None:
    lines = [
        line.strip()
        for line in (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    ]
    assert "*" in lines
    sources = dockerfile_sources()
    assert {"compiler", "llmops", "templates", "pyproject.toml"} <= set(sources), sources
    for source in sources:
        assert f"!{source}" in lines or f"!{source}/" in lines, source


def _build_wheel(source: Path, out: Path) -> Path:
    """`pip wheel` the project; without build isolation when this environment can build it
    itself."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-w",
        str(out),
    ]
    try:
        setuptools_version = tuple(
            int(part) for part in importlib.metadata.version("setuptools").split(".")[:2]
        )
        can_build = setuptools_version >= (70, 1) or (
            setuptools_version >= (68, 0) and importlib.util.find_spec("wheel") is not None
        )
    except (importlib.metadata.PackageNotFoundError, ValueError):
        can_build = False
    if can_build:
        command.append("--no-build-isolation")
    done = subprocess.run(
        [*command, str(source)], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("llmops-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("context")
    for name in dict.fromkeys(dockerfile_sources()):  # both images copy the sources
        path = PROJECT_ROOT / name
        if path.is_dir():
            shutil.copytree(
                path,
                source / name,
                # as .dockerignore leaves them out: a host's compiled proxy modules among them
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_compiled*"),
            )
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    return _build_wheel(source, tmp_path_factory.mktemp("dist"))


@pytest.mark.slow
def test_wheel_contains_the_templates(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(
            archive.read(name).decode()
            for name in names
            if name.endswith(".dist-info/entry_points.txt")
        )
    packaged = sorted(
        name.removeprefix("compiler/templates/")
        for name in names
        if name.startswith("compiler/templates/")
    )
    assert packaged == TEMPLATES
    assert "compiler/render/templating.py" in names
    assert "llmops = llmops.cli.launch:entrypoint" in entry_points
    assert not any(
        name.startswith(("templates/", "tests/", "environments/", "conformance/")) for name in names
    )


@pytest.mark.slow
def test_wheel_carries_every_vendored_crd_and_licence_but_not_the_samples(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = {
            name.removeprefix("llmops/conformance/vendored/")
            for name in archive.namelist()
            if name.startswith("llmops/conformance/vendored/")
        }
    vendored = {entry.path for project in read_sources() for entry in project.files}
    wanted = {
        path
        for path in vendored
        if path.startswith("crds/") and path.endswith((".yaml", "LICENSE"))
    }
    assert names == wanted | {"sources.json", "SOURCES.md"}
    assert any(path.endswith("LICENSE") for path in names)


@pytest.mark.slow
def test_unpacked_wheel_renders_without_the_source_checkout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    estate = copy_bundled_estate(tmp_path / "estate")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    # ahead of site-packages, where an editable install of this checkout may be
    env["PYTHONPATH"] = str(site)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import compiler.render.templating as t, llmops; print(t.TEMPLATES_DIR); "
            "print(llmops.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    templates_dir, llmops_file = probe.stdout.splitlines()
    assert Path(templates_dir) == site / "compiler" / "templates"
    assert Path(llmops_file).is_relative_to(site)
    done = subprocess.run(
        [sys.executable, "-m", "llmops.cli.main", "render", "--env", "dev", str(estate)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    kinds = {doc["kind"] for doc in yaml.safe_load_all(done.stdout) if doc}
    assert {"Namespace", "InferenceService", "Ingress", "Deployment"} <= kinds


@pytest.mark.slow
def test_unpacked_wheel_verifies_with_its_own_crds(wheel: Path, tmp_path: Path) -> None:
    """`llmops render --verify` from the wheel reads the CRDs inside it, not the checkout's
    conformance/."""
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    estate = copy_bundled_estate(tmp_path / "estate")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from llmops.conformance.sources import data_dir; print(data_dir())",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert Path(probe.stdout.strip()) == site / "llmops" / "conformance" / "vendored", probe.stderr
    done = subprocess.run(
        [sys.executable, "-m", "llmops.cli.main", "render", "--verify", str(estate)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "verified: the API server would accept all 27 objects" in done.stderr
