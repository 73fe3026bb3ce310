"""Property tests: whatever a manifest file contains, `validate` reports it and never crashes.

Two levels of damage to one file of the bundled estate: (a) its bytes (lines deleted, duplicated,
swapped, re-indented; YAML punctuation, control characters and invalid UTF-8 inserted; values and
keys replaced or removed), and (b) its parsed data (keys dropped, renamed or added, values of other
types), dumped back with yaml.safe_dump. Every diagnostic must then point at a real place with a
well-formed code and message; at the data level it must also point at the key or value it names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from compiler.diagnostics import Diagnostic
from compiler.positions import Path as DataPath
from compiler.positions import Span
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate, validate

CODE = re.compile(r"^[A-Z][0-9]{3}$")
MANIFESTS = sorted(
    path.relative_to(PROJECT_ROOT).as_posix()
    for path in (PROJECT_ROOT / "environments").rglob("*.y*ml")
)

# Byte fragments that each provoke a different part of YAML or of the loader.
FRAGMENTS: tuple[bytes, ...] = (
    b"\t",
    b":",
    b": ",
    b"-",
    b"- ",
    b"&a ",
    b"*a",
    b"&a [1, 2]",
    b"<<: *a",
    b"!!tag ",
    b"!!str ",
    b"!!int ",
    b"!!binary ",
    b"!custom ",
    b"! ",
    b"---",
    b"...",
    b"\n---\n",
    b'"',
    b"'",
    b"{",
    b"}",
    b"[",
    b"]",
    b"|",
    b">-",
    b"#",
    b"? ",
    b"%YAML 1.1\n",
    b"@",
    b"`",
    b",",
    b"\x00",
    b"\x01",
    b"\x07",
    b"\x1b",
    b"\x7f",
    b"\x0b",
    b"\x0c",
    b"\r",
    b"\r\n",
    b"\xc2\x85",
    b"\xe2\x80\xa8",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xfe",
    b"\xc3",
    b"\xed\xa0\x80",
    b"yes",
    b"No",
    b"on",
    b"0o17",
    b"017",
    b"0b101",
    b"1_000",
    b"12:30",
    b".inf",
    b".nan",
    b"~",
    b"null",
    b"9" * 40,
    b"\xf0\x9f\x98\x80",
    b"&a [*a]",
    b"&a {k: *a}",
    b"[" * 70,
    b"{a: " * 70,
    b"[" * 3000,
    b"- " * 80,
)
# Replacement values for `key: value` lines, of every type and some YAML traps.
SCALARS: tuple[bytes, ...] = (
    b"1",
    b"-3",
    b"0",
    b"1.5",
    b"1e400",
    b"true",
    b"false",
    b"null",
    b"~",
    b"",
    b"yes",
    b"off",
    b"[1, 2]",
    b"[]",
    b"{}",
    b"{a: 1}",
    b"''",
    b'"x"',
    b"0x1F",
    b"0o17",
    b"12:30",
    b".inf",
    b"&a [1]",
    b"*a",
    b"*b",
    b"!!int x",
    b"!!float 1",
    b"!!binary aGk=",
    b"!!python/object:os.system x",
    b"!x y",
    b"|\n  text",
    b"x" * 300,
    b'"\\x00"',
    b"'unterminated",
    b"[1, 2",
    b"{a: [}",
)


def number_of_lines(data: bytes) -> int:
    """Lines as the report counts them (str.splitlines), or newlines for undecodable bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.count(b"\n") + 1
    return max(len(text.splitlines()), 1)


def assert_well_formed(diagnostic: Diagnostic, root: Path) -> None:
    """A diagnostic a user (or an editor integration) can follow: a real file, line and column."""
    spans: list[tuple[str, Span]] = [("span", diagnostic.span)]
    spans += [(f"related {related.message!r}", related.span) for related in diagnostic.related]
    for what, span in spans:
        path = root / span.file
        assert path.exists(), f"{what} of {diagnostic} names a file that does not exist"
        lines = number_of_lines(path.read_bytes()) if path.is_file() else 1
        assert 1 <= span.line <= lines + 1, (
            f"{what} line {span.line} outside 1..{lines + 1}: {diagnostic}"
        )
        assert span.column >= 1, f"{what} column {span.column}: {diagnostic}"
    assert CODE.match(diagnostic.code), diagnostic
    assert diagnostic.message.strip(), diagnostic


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One private copy for the whole module; each example restores the file it damaged."""
    return copy_bundled_estate(tmp_path_factory.mktemp("estate"))


# -- (a) damaged bytes
# ---------------------------------------------------------------------------------


@st.composite
def byte_mutation(draw: st.DrawFn, lines: list[bytes]) -> list[bytes]:
    """Apply one random edit to a file's lines (split on b"\\n")."""
    lines = list(lines)
    index = draw(st.integers(0, max(len(lines) - 1, 0)))
    line = lines[index] if lines else b""
    kind = draw(
        st.sampled_from(
            ("delete", "duplicate", "swap", "insert", "indent", "value", "drop_key", "truncate")
        )
    )
    if kind == "truncate":
        data = b"\n".join(lines)
        lines = data[: draw(st.integers(0, len(data)))].split(b"\n")
    elif kind == "delete" and lines:
        del lines[index]
    elif kind == "duplicate" and lines:
        lines.insert(index, line)
    elif kind == "swap" and lines:
        other = draw(st.integers(0, len(lines) - 1))
        lines[index], lines[other] = lines[other], lines[index]
    elif kind == "insert":
        fragment = draw(
            st.one_of(
                st.sampled_from(FRAGMENTS),
                st.binary(min_size=1, max_size=4),
                st.text(min_size=1, max_size=6).map(lambda text: text.encode("utf-8")),
            )
        )
        column = draw(st.integers(0, len(line)))
        lines[index : index + 1] = [line[:column] + fragment + line[column:]]
    elif kind == "indent":
        body = line.lstrip(b" ")
        indent = draw(st.sampled_from((b"", b" ", b"   ", b"      ", b"\t", b"  \t", b"\t  ")))
        lines[index : index + 1] = [indent + body]
    elif kind == "value" and b":" in line:
        key = line.split(b":", 1)[0]
        lines[index] = (
            key + b": " + draw(st.one_of(st.sampled_from(SCALARS), st.binary(max_size=8)))
        )
    elif kind == "drop_key" and lines:
        depth = len(line) - len(line.lstrip(b" "))
        end = index + 1
        while end < len(lines) and (
            not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip(b" ")) > depth
        ):
            end += 1
        del lines[index:end]
    return lines


@given(data=st.data(), file=st.sampled_from(MANIFESTS))
def test_damaged_bytes_never_crash_and_diagnostics_point_at_real_places(
    estate: Path, data: st.DataObject, file: str
) -> None:
    path = estate / file
    original = path.read_bytes()
    lines = original.split(b"\n")
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        lines = data.draw(byte_mutation(lines), label="edit")
    damaged = b"\n".join(lines)
    try:
        path.write_bytes(damaged)
        result = validate(estate)  # must not raise, whatever the bytes
        for diagnostic in result.diagnostics:
            assert_well_formed(diagnostic, estate)
    finally:
        path.write_bytes(original)


# -- (b) damaged data
# ----------------------------------------------------------------------------------

SIMPLE_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)
)
ANY_VALUE = st.recursive(
    SIMPLE_VALUES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3),
    ),
    max_leaves=6,
)
LIKELY_KEYS = (
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "spec",
    "version",
    "modelId",
    "useGpu",
    "resources",
    "gpus",
    "minReplicas",
    "maxReplicas",
    "files",
    "type",
    "approval",
    "roles",
    "unknownField",
)


def all_paths(value: Any, path: DataPath = ()) -> list[DataPath]:
    """Every path in a document, parents before children."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += all_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += all_paths(child, (*path, index))
    return found


def lookup(value: Any, path: DataPath) -> tuple[bool, Any]:
    for segment in path:
        in_mapping = isinstance(value, dict) and isinstance(segment, str) and segment in value
        in_list = isinstance(value, list) and isinstance(segment, int) and 0 <= segment < len(value)
        if not (in_mapping or in_list):
            return False, None
        value = value[segment]
    return True, value


def replace_at(document: Any, path: DataPath, new: Any) -> Any:
    if not path:
        return new
    _, parent = lookup(document, path[:-1])
    parent[path[-1]] = new
    return document


@st.composite
def data_mutation(draw: st.DrawFn, document: Any) -> Any:
    """One structural edit: drop, rename or add a key, or give a value another type."""
    path = draw(st.sampled_from(all_paths(document)))
    _, target = lookup(document, path)
    kind = draw(st.sampled_from(("drop", "rename", "add", "retype")))
    if kind == "drop" and path:
        _, parent = lookup(document, path[:-1])
        del parent[path[-1]]
    elif kind == "rename" and path and isinstance(path[-1], str):
        _, parent = lookup(document, path[:-1])
        new_key = draw(
            st.one_of(
                st.sampled_from(LIKELY_KEYS),
                st.text(min_size=1, max_size=10),
                st.just(path[-1] + "s"),
                st.just(path[-1].lower()),
            )
        )
        renamed = {
            (new_key if key == path[-1] else key): value
            for key, value in parent.items()
            if key != new_key or key == path[-1]
        }
        parent.clear()
        parent.update(renamed)
    elif kind == "add" and isinstance(target, dict):
        target[draw(st.one_of(st.sampled_from(LIKELY_KEYS), st.text(min_size=1, max_size=10)))] = (
            draw(ANY_VALUE)
        )
    else:
        document = replace_at(
            document, path, draw(ANY_VALUE.filter(lambda v: type(v) is not type(target)))
        )
    return document


def dump(documents: list[Any]) -> str:
    return yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True, width=10**6)


def renderings(value: Any) -> list[str]:
    """Texts that may stand for ``value`` on the line where it starts (as safe_dump wrote it)."""
    if isinstance(value, dict):
        found = [text for key in value for text in renderings(key)]
        return found or ["{}"]
    if isinstance(value, list):
        found = [text for item in value for text in renderings(item)]
        return found or ["[]"]
    texts = [str(value)] if isinstance(value, str) else []
    dumped = yaml.safe_dump(value, width=10**6).removesuffix("\n...\n").strip()
    texts += [line.strip() for line in dumped.splitlines() if line.strip()]
    return [text for text in texts if text] or [dumped]


def document_at(text: str, line: int) -> int:
    """Index of the document that holds 1-based ``line``: the last one starting at or before it."""
    starts = [root.start_mark.line + 1 for root in yaml.compose_all(text, Loader=yaml.SafeLoader)]
    return max((index for index, start in enumerate(starts) if start <= line), default=0)


def assert_points_at_its_path(
    diagnostic: Diagnostic, texts: dict[str, str], data: dict[str, list[Any]]
) -> None:
    """A diagnostic naming an existing path sits on a line showing that key or value."""
    file = diagnostic.span.file
    if not diagnostic.path or file not in data:
        return
    documents = data[file]
    index = document_at(texts[file], diagnostic.span.line)
    if index >= len(documents):
        return
    exists, value = lookup(documents[index], diagnostic.path)
    if not exists:
        return
    line = texts[file].split("\n")[diagnostic.span.line - 1]
    candidates = [
        text
        for segment in diagnostic.path
        if isinstance(segment, str)
        for text in renderings(segment)
    ]
    candidates += renderings(value)
    assert any(candidate in line for candidate in candidates), (
        f"{diagnostic.code} at {file}:{diagnostic.span.line} names {diagnostic.path} but the line "
        f"is {line!r}"
    )


@given(data=st.data(), file=st.sampled_from(MANIFESTS))
def test_damaged_data_diagnostics_point_at_the_named_key_or_value(
    estate: Path, data: st.DataObject, file: str
) -> None:
    path = estate / file
    original = path.read_bytes()
    texts = {name: (estate / name).read_text(encoding="utf-8") for name in MANIFESTS}
    parsed = {name: list(yaml.safe_load_all(text)) for name, text in texts.items()}
    documents = [document for document in parsed[file] if document is not None]
    index = data.draw(st.integers(0, len(documents) - 1), label="document")
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        documents[index] = data.draw(data_mutation(documents[index]), label="edit")
    texts[file] = dump(documents)
    parsed[file] = documents
    try:
        path.write_text(texts[file], encoding="utf-8")
        result = validate(estate)
        for diagnostic in result.diagnostics:
            assert_well_formed(diagnostic, estate)
            assert_points_at_its_path(diagnostic, texts, parsed)
    finally:
        path.write_bytes(original)


def test_the_estate_copy_is_clean(estate: Path) -> None:
    """The properties above start from a clean estate, so every diagnostic comes from the damage."""
    assert validate(estate).diagnostics == []
