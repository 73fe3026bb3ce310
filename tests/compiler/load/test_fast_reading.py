"""Most documents are read without recording positions (the loader's fast reading); whatever a file
holds, what a user sees must be exactly what the recording reader gives: the same values, and the
same diagnostics (duplicate keys, YAML 1.1 booleans and numbers, tags, aliases, nesting, the node
budget), at the same lines and columns."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.load import yaml_strict
from compiler.load.yaml_strict import parse_manifest_file

KEYS = ["name", "size", "a", "b", "yes", "on", "1", '"q"', "'s'", "!!str k", "<<", "x"]
SCALARS = [
    "text",
    "3",
    "2.5",
    "0x1F",
    "010",
    "1_000",
    "12:30",
    "yes",
    "No",
    "true",
    "~",
    "null",
    '"quoted"',
    "'single'",
    "!!int 7",
    "!!str 8",
    "!!bool maybe",
    "! bang",
    "!custom v",
    "&anchor value",
    "*anchor",
    "[1, two]",
    "{k: v}",
    "|\n    block",
    "-5",
    ".inf",
]


@st.composite
def mapping_text(draw: st.DrawFn, indent: int = 0, depth: int = 0) -> str:
    """A block mapping of a few entries, some nested, keys possibly repeated."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(KEYS))
        if depth < 2 and draw(st.integers(0, 3)) == 0:
            nested = draw(mapping_text(indent + 2, depth + 1))
            lines.append(f"{' ' * indent}{key}:\n{nested}")
        elif depth < 2 and draw(st.integers(0, 5)) == 0:
            items = draw(st.lists(st.sampled_from(SCALARS[:14]), min_size=1, max_size=3))
            lines.append(
                f"{' ' * indent}{key}:\n"
                + "".join(f"{' ' * (indent + 2)}- {item}\n" for item in items)
            )
        else:
            value = draw(st.sampled_from(SCALARS)).replace("\n", "\n" + " " * indent)
            lines.append(f"{' ' * indent}{key}: {value}\n")
    return "".join(lines)


def read(text: str, fast: bool) -> tuple[list[object], list[tuple[str, str, int, int, str | None]]]:
    """The documents' values and the diagnostics, with or without the fast reading."""
    if not fast:
        original = yaml_strict._FastReader.value

        def unclean(self: yaml_strict._FastReader, node: object, depth: int) -> object:
            raise yaml_strict._Unclean

        yaml_strict._FastReader.value = unclean  # type: ignore[assignment,method-assign]
    try:
        documents, diagnostics, _ = parse_manifest_file("f.yaml", text)
    finally:
        if not fast:
            yaml_strict._FastReader.value = original  # type: ignore[method-assign]
    return (
        [(document.index, document.data) for document in documents],
        [(d.code, d.message, d.span.line, d.span.column, d.hint) for d in diagnostics],
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(mapping_text(), min_size=1, max_size=3), st.booleans())
def test_fast_reading_gives_what_the_recording_reader_gives(
    documents: list[str], caches_cleared: bool
) -> None:
    text = "---\n".join(documents)
    if caches_cleared:  # the texts read before decide what is read without a call
        yaml_strict._PLAIN_VALUES.clear()
        yaml_strict._PLAIN_KEYS.clear()
    try:
        fast = read(text, fast=True)
    except RecursionError:  # pragma: no cover - not generated
        pytest.skip("too deep")
    assert fast == read(text, fast=False)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: text\na: 2\n",  # a key written twice among scalar values
        "a:\n  b: x\n  c: y\n  b: z\n",  # the same, one level down
        "a: &x text\nb: *x\n",  # an alias of a scalar
        "a: yes\nb: yes\n",  # a YAML 1.1 boolean twice: reported both times
        'a: "q"\nb: !!str "q"\nc: !!int "q"\n',
    ],
)
def test_what_the_recording_reader_reports_is_reported(text: str) -> None:
    assert read(text, fast=True) == read(text, fast=False)


def test_the_node_budget_counts_the_values_of_a_mapping() -> None:
    """A file of many small mappings is refused at the same budget either way."""
    budget = yaml_strict.MAX_NODES_PER_FILE
    entries = "".join(f"k{i}: v\n" for i in range(1000))
    documents = budget // 1000 + 1
    text = "---\n".join([entries] * documents)
    fast, recorded = read(text, fast=True), read(text, fast=False)
    assert fast == recorded
    assert "Y005" in [code for code, *_ in fast[1]]


def test_only_short_texts_are_remembered_by_the_reader() -> None:
    """A process that goes on (the warm server) reads many versions of its files: a long value or
    key that changes each time must not be kept, one version after another."""
    short, long = "replicas-two", "word " * 200 + "end"
    key = "k" * 300
    read(f"a: {short}\nb: {long}\n{key}: 1\n", fast=True)
    assert short in yaml_strict._PLAIN_VALUES
    assert long not in yaml_strict._PLAIN_VALUES
    assert key not in yaml_strict._PLAIN_KEYS
    assert read(f"b: {long}\n", fast=True) == read(f"b: {long}\n", fast=False)
