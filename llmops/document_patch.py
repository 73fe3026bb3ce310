"""Change the values of one manifest in its file's text, leaving everything else as written.

A promotion changes a few values of the target's endpoint (the model, runtime limits). Serializing
the merged manifest again would drop the file's comments and rewrite every quote; instead each
changed scalar is replaced where it is written, in the quoting style it had. Anything more than
changed values (a key added or removed, a scalar becoming a mapping) is left to the caller, and so
is any edit that would not read back as exactly the intended manifest.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from compiler.load.document import SourceDocument
from compiler.load.yaml_strict import parse_documents
from compiler.positions import Path
from compiler.printable import json_printable

_Edit = tuple[Path, Any]  # where, and the new value


def _changed_scalars(old: Any, new: Any, path: Path, edits: list[_Edit]) -> bool:
    """Collect the scalars that differ; False when the change is not only of scalar values."""
    if isinstance(old, dict) and isinstance(new, dict):
        if set(old) != set(new):
            return False
        return all(_changed_scalars(old[key], new[key], (*path, key), edits) for key in old)
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return False
        return all(
            _changed_scalars(a, b, (*path, index), edits)
            for index, (a, b) in enumerate(zip(old, new, strict=True))
        )
    if isinstance(old, dict | list) or isinstance(new, dict | list):
        return False
    if type(old) is not type(new) or old != new:
        edits.append((path, new))
    return True


def _reads_back_plain(text: str) -> bool:
    documents, problems = parse_documents("value.yaml", f"value: {text}\n")
    return not problems and len(documents) == 1 and documents[0].data == {"value": text}


def _written(value: Any, style: str) -> str:
    """`value` as a YAML scalar, quoted as the value it replaces was (`"`, `'` or plain)."""
    if not isinstance(value, str):
        return json.dumps(value)
    if style == "'" and "\n" not in value and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if style not in ('"', "'") and value.isprintable() and _reads_back_plain(value):
        return value
    # escaped as JSON escapes where the loader would refuse or misread the raw character (U+2028)
    return json_printable(json.dumps(value, ensure_ascii=False))


def _offsets(text: str) -> list[int]:
    """The offset where each line (1-based index - 1) starts."""
    starts = [0]
    for index, character in enumerate(text):
        if character == "\n":
            starts.append(index + 1)
    return starts


def patch_values(text: str, document: SourceDocument, new_data: Any) -> str | None:
    """The file `text` with `document`'s values changed to `new_data`'s, each written where and as
    the old one was; None when that is not possible or would not read back as `new_data`. A byte
    order mark opening the file stays; the positions, as the loader read them, are after it."""
    if text.startswith("\ufeff"):
        patched = _patch_values(text[1:], document, new_data)
        return None if patched is None else "\ufeff" + patched
    return _patch_values(text, document, new_data)


def _patch_values(text: str, document: SourceDocument, new_data: Any) -> str | None:
    edits: list[_Edit] = []
    if not _changed_scalars(document.data, new_data, (), edits):
        return None
    starts = _offsets(text)
    spans = []
    for path, value in edits:
        span = document.values.get(path)
        if span is None or span.end_line is None or span.end_column is None:
            return None
        start = starts[span.line - 1] + span.column - 1
        end = starts[span.end_line - 1] + span.end_column - 1
        spans.append((start, end, value))
    patched = text
    for start, end, value in sorted(spans, key=lambda item: item[0], reverse=True):
        old = patched[start:end]
        if "\n" in old.rstrip("\n"):
            return None  # a block scalar or a value spread over lines: not a one-place edit
        patched = patched[:start] + _written(value, old[:1]) + patched[end:]
    documents, problems = parse_documents(document.file, patched)
    if problems or not any(d.index == document.index and d.data == new_data for d in documents):
        return None
    return patched


class _DoubleQuoting(yaml.SafeDumper):
    """Quotes what needs quotes with `"`, as the bundled manifests do (PyYAML prefers `'`)."""

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def dump_double_quoted(data: dict[str, Any]) -> str:
    """One manifest, keys in the order given, strings that need quotes in double quotes."""
    return yaml.dump(
        data,
        Dumper=_DoubleQuoting,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )


def leading_comments(body: str) -> str:
    """The comment lines a document's text starts with (its description), each ending in a
    newline."""
    lines = []
    for line in body.splitlines(keepends=True):
        if not line.lstrip().startswith("#"):
            break
        lines.append(line if line.endswith("\n") else line + "\n")
    return "".join(lines)
