"""Re-download one vendored project's files at another upstream tag, and record where they came
from.

    python -m llmops.conformance.refresh kserve v0.21.0       # needs git and network access
    python -m llmops.conformance.refresh --table # only rewrite SOURCES.md from sources.json

The tag is fetched shallowly, without file contents (`--filter=blob:none`); each listed upstream
path is then read with `git cat-file`, so git itself vouches for every blob id written to
sources.json. The files keep their local names; a path the new tag no longer has stops the refresh
before anything is written. Afterwards run `make test`: the render tests tell whether llmops's
output still conforms.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import yaml

from llmops.conformance.sources import (
    SOURCES_FILE,
    TABLE_FILE,
    Project,
    VendoredFile,
    data_dir,
    read_sources,
    sources_text,
    table_text,
)


class RefreshError(Exception):
    """The refresh cannot go on; nothing has been written."""


def served_kinds(content: bytes) -> list[str]:
    """ "group/version Kind" for every served version of every CRD in a YAML file, in file order."""
    kinds: list[str] = []
    for document in yaml.load_all(content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
            continue
        spec = document.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind")
        kinds += [
            f"{spec.get('group')}/{version.get('name')} {kind}"
            for version in spec.get("versions") or []
            if version.get("served")
        ]
    return kinds


def _git(*args: str, cwd: Path | None = None) -> bytes:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RefreshError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def fetch_tag(repository: str, tag: str, into: Path) -> str:
    """A shallow, contentless clone of ``tag``; returns the tag's commit id."""
    _git(
        "clone",
        "--quiet",
        "--depth",
        "1",
        "--branch",
        tag,
        "--no-checkout",
        "--filter=blob:none",
        repository,
        str(into),
    )
    return _git("rev-parse", "HEAD^{commit}", cwd=into).decode().strip()


def read_upstream(clone: Path, path: str) -> tuple[str, bytes] | None:
    """(blob id, content) of ``path`` at the fetched tag, or None when the tag has no such file."""
    listed = _git("ls-tree", "HEAD", "--", path, cwd=clone).decode().split()
    if len(listed) < 3 or listed[1] != "blob":
        return None
    blob = listed[2]
    return blob, _git("cat-file", "blob", blob, cwd=clone)


def refresh(root: Path, name: str, tag: str, repository: str | None = None) -> list[str]:
    """Bring project ``name`` to ``tag``; returns the local paths whose content changed."""
    projects = read_sources(root)
    index = next((i for i, project in enumerate(projects) if project.name == name), None)
    if index is None:
        raise RefreshError(
            f"no project {name!r} in {SOURCES_FILE} (known: {', '.join(p.name for p in projects)})"
        )
    project = projects[index]
    with tempfile.TemporaryDirectory(prefix="llmops-refresh-") as scratch:
        clone = Path(scratch) / "upstream"
        commit = fetch_tag(repository or project.repository, tag, clone)
        fetched = {entry.path: read_upstream(clone, entry.upstream) for entry in project.files}
    missing = [entry.upstream for entry in project.files if fetched[entry.path] is None]
    if missing:
        raise RefreshError(
            f"{name} {tag} has no {', '.join(missing)}: update the upstream paths in {SOURCES_FILE}"
        )
    files: list[VendoredFile] = []
    changed: list[str] = []
    for entry in project.files:
        found = fetched[entry.path]
        assert found is not None
        blob, content = found
        target = root / entry.path
        if not target.is_file() or target.read_bytes() != content:
            changed.append(entry.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        kinds = (
            served_kinds(content)
            if entry.path.startswith("crds/") and entry.path.endswith(".yaml")
            else []
        )
        files.append(VendoredFile(entry.path, entry.upstream, blob, kinds))
    projects[index] = replace(project, tag=tag, commit=commit, files=files)
    write_records(root, projects)
    return changed


def write_records(root: Path, projects: list[Project]) -> None:
    (root / SOURCES_FILE).write_text(sources_text(projects), encoding="utf-8")
    (root / TABLE_FILE).write_text(table_text(projects), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llmops.conformance.refresh", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "project", nargs="?", help="a project name in sources.json (kserve, argo-cd, ...)"
    )
    parser.add_argument("tag", nargs="?", help="the upstream tag, e.g. v0.21.0")
    parser.add_argument("--repository", help="clone from here instead of the recorded repository")
    parser.add_argument(
        "--root",
        type=Path,
        default=data_dir(),
        help="the conformance folder (default: %(default)s)",
    )
    parser.add_argument(
        "--table", action="store_true", help="only regenerate SOURCES.md from sources.json"
    )
    args = parser.parse_args(argv)
    if args.table:
        write_records(args.root, read_sources(args.root))
        return 0
    if not args.project or not args.tag:
        parser.error("PROJECT and TAG are required (or --table)")
    try:
        changed = refresh(args.root, args.project, args.tag, args.repository)
    except RefreshError as error:
        print(f"refresh: error: {error}", file=sys.stderr)
        return 1
    print(
        f"{args.project} is at {args.tag}; {len(changed)} file(s) changed"
        + "".join(f"\n  {p}" for p in changed)
    )
    print("review the notes in sources.json, then run `make test`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
