"""Where the vendored upstream files came from: `conformance/sources.json`, and SOURCES.md made from
it.

Every vendored file is an unmodified copy of one upstream file at a released tag. Its git blob id is
recorded, so anyone can confirm it is unmodified (`git hash-object FILE` prints the same id) and the
tests do. The JSON file is the single record; SOURCES.md is generated from it for people to read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCES_FILE = "sources.json"
TABLE_FILE = "SOURCES.md"


def data_dir() -> Path:
    """The vendored data: inside the package when installed from a wheel (pyproject.toml maps the
    top-level conformance/ folder to `llmops.conformance.vendored`), else conformance/ in the
    checkout."""
    here = Path(__file__).resolve()
    packaged, checkout = here.parent / "vendored", here.parents[2] / "conformance"
    return packaged if (packaged / SOURCES_FILE).is_file() else checkout


def git_blob_id(content: bytes) -> str:
    """The id git gives a file's content (`git hash-object`): SHA-1 of a `blob <size>` header and
    the bytes."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


@dataclass
class VendoredFile:
    """One unmodified upstream file. ``kinds`` lists what a CRD file serves ("group/version
    Kind")."""

    path: str  # relative to the data folder
    upstream: str  # the path inside the upstream repository
    blob: str
    kinds: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "upstream": self.upstream, "blob": self.blob}
        if self.kinds:
            out["kinds"] = list(self.kinds)
        return out


@dataclass
class Project:
    """One upstream repository at one tag, and the files copied from it."""

    name: str
    repository: str  # the clone URL
    tag: str
    commit: str
    license: str
    notes: list[str]
    files: list[VendoredFile]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "repository": self.repository,
            "tag": self.tag,
            "commit": self.commit,
            "license": self.license,
            "notes": list(self.notes),
            "files": [f.to_json() for f in self.files],
        }


def _project(raw: dict[str, Any]) -> Project:
    files = [
        VendoredFile(f["path"], f["upstream"], f["blob"], list(f.get("kinds", [])))
        for f in raw["files"]
    ]
    return Project(
        raw["name"],
        raw["repository"],
        raw["tag"],
        raw["commit"],
        raw["license"],
        list(raw.get("notes", [])),
        files,
    )


def read_sources(root: Path | None = None) -> list[Project]:
    raw = json.loads(((root or data_dir()) / SOURCES_FILE).read_text(encoding="utf-8"))
    return [_project(entry) for entry in raw["projects"]]


def sources_text(projects: list[Project]) -> str:
    return (
        json.dumps({"projects": [p.to_json() for p in projects]}, indent=2, ensure_ascii=False)
        + "\n"
    )


def _web_url(repository: str) -> str:
    return repository.removesuffix(".git")


def table_text(projects: list[Project]) -> str:
    """SOURCES.md: the provenance table people read, generated from sources.json."""
    lines = [
        "# Sources of the conformance data",
        "",
        f"Generated from `{SOURCES_FILE}` by `python -m llmops.conformance.refresh --table`; do "
        "not edit.",
        "",
        "Every file here except this one and `sources.json` is an **unmodified copy** of a file "
        "from a public",
        "upstream repository at a released tag (clusters run releases). The git blob id lets "
        "anyone confirm it:",
        "`git hash-object FILE` prints the same id (a test checks every file). Each project's "
        "`LICENSE` is",
        "copied beside its files. Only data was copied: CRD YAML, example manifests, the license "
        "texts, and",
        "Argo CD's built-in InferenceService health check (tests compare llmops's own check with "
        "it).",
        "",
        "Refresh a project to another tag (needs git and network access):",
        "`python -m llmops.conformance.refresh PROJECT TAG`, then `make test`.",
    ]
    for project in projects:
        lines += [
            "",
            f"## {project.name} — {_web_url(project.repository)}",
            "",
            f"- Tag **{project.tag}**, commit `{project.commit}`.",
            f"- License: {project.license}.",
        ]
        lines += [f"- {note}" for note in project.notes]
        lines += [
            "",
            "| Local file | Upstream path | Git blob | Serves |",
            "| --- | --- | --- | --- |",
        ]
        for entry in project.files:
            kinds = "; ".join(entry.kinds)
            lines.append(f"| `{entry.path}` | `{entry.upstream}` | `{entry.blob}` | {kinds} |")
    return "\n".join(lines) + "\n"


def kind_index(projects: list[Project]) -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> the CRD file (relative to the data folder) that serves it."""
    return {
        (served.split(" ")[0], served.split(" ")[1]): entry.path
        for project in projects
        for entry in project.files
        for served in entry.kinds
    }
