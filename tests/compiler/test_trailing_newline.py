"""A final newline is never part of a name or format: in Python, `$` matches just before a
final "\\n", so a validator written as `re.match("^...$")` lets `name\\n` through, and Kubernetes
(Go's `$` is the end of the text) refuses it at sync time. Every format of compiler/spec/formats.py
and every name check is fed values with a final newline (and other line breaks), and must refuse
them; in a manifest, the refusal points at the value's line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pydantic
import pytest
import yaml

from compiler.diagnostics import Severity
from compiler.spec import formats
from tests.helpers.estate import copy_bundled_estate, validate

# One valid value per format; the test below fails when a format is added without one.
VALID = {
    "DnsLabel": "abc",
    "DnsSubdomain": "a.example.com",
    "IngressHost": "dev.example.com",
    "ImageReference": "ghcr.io/llmops/trainer:0.1.0",
    "StorageUri": "s3://bucket/path/",
    "HttpUrl": "https://kubernetes.default.svc",
    "RepositoryUrl": "https://github.com/org/repo.git",
    "GitRevision": "main",
    "RepositoryPath": "deploy/dev",
    "ExtendedResourceName": "nvidia.com/gpu",
    "QualifiedName": "app.kubernetes.io/name",
    "LabelValue": "value",
    "RoleName": "llm-ops-user",
    "UserId": "alice",
}
LINE_ENDINGS = ["\n", "\r\n", "\r", "\n\n", "\x85", "\u2028"]


def _format_types() -> dict[str, Any]:
    """Every format of compiler/spec/formats.py: the Annotated types carrying a FormatName."""
    return {
        name: value
        for name, value in vars(formats).items()
        if get_origin(value) is Annotated
        and any(isinstance(meta, formats.FormatName) for meta in get_args(value)[1:])
    }


FORMATS = _format_types()


def test_every_format_has_a_valid_sample() -> None:
    assert set(FORMATS) == set(VALID)


# git accepts the non-ASCII line breaks in ref names, and file systems in paths
_UNICODE_BREAKS_ALLOWED = {("GitRevision", "\x85"), ("GitRevision", "\u2028")}
_UNICODE_BREAKS_ALLOWED |= {("RepositoryPath", "\u2028")}


@pytest.mark.parametrize("name", sorted(VALID))
@pytest.mark.parametrize("ending", LINE_ENDINGS, ids=repr)
def test_every_format_refuses_a_final_line_break(name: str, ending: str) -> None:
    if (name, ending) in _UNICODE_BREAKS_ALLOWED:
        return
    adapter = pydantic.TypeAdapter(FORMATS[name])
    assert adapter.validate_python(VALID[name]) == VALID[name]
    for value in (VALID[name] + ending, ending + VALID[name]):
        with pytest.raises(pydantic.ValidationError, match="must be"):
            adapter.validate_python(value)


NAME_CHECKS = {
    "is_dns_label": "abc",
    "is_dns_subdomain": "a.b",
    "is_qualified_name": "example.com/key",
    "is_label_value": "v",
    "is_role_name": "admin",
    "is_user_id": "alice",
}


@pytest.mark.parametrize("check", sorted(NAME_CHECKS))
@pytest.mark.parametrize("ending", LINE_ENDINGS, ids=repr)
def test_every_name_check_refuses_a_final_line_break(check: str, ending: str) -> None:
    function = getattr(formats, check)
    assert function(NAME_CHECKS[check])
    assert not function(NAME_CHECKS[check] + ending)


def test_the_target_naming_patterns_refuse_a_final_newline() -> None:
    from compiler.target import naming

    for pattern, value in [
        (naming.DNS1123_LABEL, "abc"),
        (naming.DNS1035_LABEL, "abc"),
        (naming.LABEL_NAME, "a.b_c"),
        (naming.DNS1123_SUBDOMAIN, "a.b"),
    ]:
        assert pattern.fullmatch(value) and not pattern.fullmatch(value + "\n")
        # written to hold however they are called
        assert not pattern.match(value + "\n") and not pattern.search(value + "\n")


# Text fields where a line break is the author's business (they reach no Kubernetes field whose
# grammar forbids it): descriptions, template variables, team names, and the original platform's
# free-form version labels of datasets and prompt templates (JSON-escaped wherever written).
FREE_TEXT = {"description", "company", "owner_team", "ownerTeam", "job_type", "notes", "reason"}
FREE_TEXT_IN = {("customer-support-dataset.yaml", "version"), ("support-templates.yaml", "version")}
_SCALAR_LINE = re.compile(r"(\s*(?:- )?([A-Za-z_][\w.-]*):\s)(\S.*)")


def _plain_scalars(root: Path) -> list[tuple[Path, int, str, str]]:
    """(file, 0-based line, key, value) of every plain `key: value` line of the estate."""
    found = []
    for path in sorted((root / "environments").rglob("*.yaml")):
        for index, line in enumerate(path.read_text(encoding="utf-8").split("\n")):
            match = _SCALAR_LINE.fullmatch(line)
            if not match or match.group(3).startswith(("|", ">", "[", "{", "&", "*", "#")):
                continue
            value = yaml.safe_load(match.group(3))
            free = match.group(2) in FREE_TEXT or (path.name, match.group(2)) in FREE_TEXT_IN
            if not free and isinstance(value, str | int | float):
                found.append((path, index, match.group(2), str(value)))
    return found


@pytest.mark.slow
def test_every_value_of_the_bundled_estate_refuses_a_final_newline_at_its_line(
    tmp_path: Path,
) -> None:
    """Each plain value of the bundled estate in turn, written as `"value\\n"`: validate reports an
    error on that line of that file."""
    root = copy_bundled_estate(tmp_path)
    scalars = _plain_scalars(root)
    assert len(scalars) > 100
    accepted: list[str] = []
    for path, index, key, value in scalars:
        original = path.read_text(encoding="utf-8")
        lines = original.split("\n")
        prefix = _SCALAR_LINE.fullmatch(lines[index]).group(1)  # type: ignore[union-attr]
        lines[index] = prefix + json.dumps(value + "\n")
        path.write_text("\n".join(lines), encoding="utf-8")
        try:
            errors = [
                d
                for d in validate(root).diagnostics
                if d.severity is Severity.ERROR
                and Path(d.span.file).name == path.name
                and d.span.line == index + 1
            ]
        finally:
            path.write_text(original, encoding="utf-8")
        if not errors:
            accepted.append(f"{path.relative_to(root)}:{index + 1}: {key}: {value!r} + newline")
    assert accepted == [], "\n".join(accepted)
