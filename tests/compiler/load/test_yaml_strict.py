"""The strict loader: every YAML trap is a positioned diagnostic, and YAML 1.2 values are read
faithfully."""

from __future__ import annotations

import math

import pytest

from compiler.load.yaml_strict import MAX_NODES_PER_FILE, parse_documents


def load(text: str) -> tuple[list[object], list[tuple[str, int, int]]]:
    documents, diagnostics = parse_documents("f.yaml", text)
    return [d.data for d in documents], [(d.code, d.span.line, d.span.column) for d in diagnostics]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (
            "x: 2e-5",
            2e-5,
        ),  # the original platform's learning rate is a number (PyYAML makes it a string)
        ("x: 1.10", 1.1),
        ("x: 0o17", 15),
        ("x: 0x1F", 31),
        ("x: -3", -3),
        ("x: .inf", math.inf),
        ("x: 2025-01-15", "2025-01-15"),  # YAML 1.2 has no timestamps
        ("x: null", None),
        ("x: ~", None),
        ("x: True", True),
        ("x: '1.10'", "1.10"),
        ("x: !!str 1.5", "1.5"),
    ],
)
def test_scalars_follow_yaml_1_2(text: str, value: object) -> None:
    data, diagnostics = load(text)
    assert diagnostics == []
    assert data == [{"x": value}]


def test_duplicate_key_points_at_second_and_relates_first() -> None:
    documents, diagnostics = parse_documents("f.yaml", "a: 1\nb:\n  c: 1\n  c: 2\n")
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("Y002", 4, 3)]
    assert diagnostics[0].related[0].span.line == 3
    assert documents[0].data == {"a": 1, "b": {"c": 1}}  # nothing silently replaced


@pytest.mark.parametrize("word", ["yes", "No", "ON", "off"])
def test_yaml11_booleans_are_errors(word: str) -> None:
    data, diagnostics = load(f"enabled: {word}\n")
    assert diagnostics == [("Y009", 1, 10)]
    assert data == [{"enabled": word}]


def test_quoted_yaml11_boolean_is_fine() -> None:
    assert load('enabled: "yes"\n')[1] == []


@pytest.mark.parametrize("text", ["x: 0755", "x: 1_000", "x: 1:30", "x: 0b101"])
def test_yaml11_numbers_warn(text: str) -> None:
    assert [code for code, _, _ in load(text)[1]] == ["Y010"]


def test_tab_indentation_has_its_own_code() -> None:
    _, diagnostics = load("a:\n\tb: 1\n")
    assert diagnostics == [("Y003", 2, 1)]


def test_unknown_tags_are_refused() -> None:
    _, diagnostics = load("a: !!python/object:os.system ls\nb: !custom x\nc: !!binary aGk=\n")
    assert [code for code, _, _ in diagnostics] == ["Y004", "Y004", "Y004"]


@pytest.mark.parametrize(
    "text", ["a: !!timestamp 2001-12-14\n", "a: !!timestamp 2001-12-14 10:00:00\n"]
)
def test_a_written_tag_outside_the_core_schema_is_refused_even_where_yaml11_implies_it(
    text: str,
) -> None:
    """PyYAML reads a date: llmops would have read a string, silently."""
    _, diagnostics = load(text)
    assert [code for code, _, _ in diagnostics] == ["Y004"]


@pytest.mark.parametrize(
    ("text", "value"), [("a: !!str 5\n", "5"), ("a: !!int 5\n", 5), ("a: !!str x\n", "x")]
)
def test_core_schema_tags_are_taken(text: str, value: object) -> None:
    data, diagnostics = load(text)
    assert (data, diagnostics) == ([{"a": value}], [])


def test_merge_key_is_refused() -> None:
    _, diagnostics = load("base: &b {x: 1}\nother:\n  <<: *b\n")
    assert diagnostics == [("Y011", 3, 3)]


def test_alias_bomb_is_bounded() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for index in range(1, 9):
        previous, current = chr(96 + index), chr(97 + index)
        lines.append(f"{current}: &{current} [" + ", ".join([f"*{previous}"] * 10) + "]")
    data, diagnostics = load("\n".join(lines) + "\n")
    assert [code for code, _, _ in diagnostics] == ["Y005"]
    assert data == []
    assert MAX_NODES_PER_FILE < 10**9


def test_small_aliases_are_expanded() -> None:
    data, diagnostics = load("a: &x {k: v}\nb: *x\n")
    assert diagnostics == []
    assert data == [{"a": {"k": "v"}, "b": {"k": "v"}}]


def test_recursive_alias_is_refused() -> None:
    assert [code for code, _, _ in load("a: &a [1, *a]\n")[1]] == ["Y006"]


def test_deep_nesting_is_refused_without_crashing() -> None:
    _, diagnostics = load("x: " + "[" * 5000 + "]" * 5000 + "\n")
    assert [code for code, _, _ in diagnostics] == ["Y016"]


def test_non_string_keys_are_refused() -> None:
    _, diagnostics = load("1: a\ntrue: b\n? [x]\n: c\n")
    assert [code for code, _, _ in diagnostics] == ["Y013", "Y013", "Y013"]


def test_syntax_error_keeps_the_documents_before_it() -> None:
    data, diagnostics = load("a: 1\n---\nb: [\n")
    assert data == [{"a": 1}]
    assert [code for code, _, _ in diagnostics] == ["Y001"]


def test_several_documents_and_empty_ones() -> None:
    data, diagnostics = load("---\na: 1\n---\n---\nb: 2\n...\n")
    assert diagnostics == []
    assert data == [{"a": 1}, {"b": 2}]


def test_non_mapping_document_is_refused() -> None:
    assert load("- a\n- b\n")[1] == [("Y014", 1, 1)]


def test_every_value_and_key_keeps_its_position() -> None:
    documents, _ = parse_documents("f.yaml", "spec:\n  list:\n    - name: a\n      size: 3\n")
    document = documents[0]
    assert document.span_of(("spec", "list", 0, "size")).line == 4
    assert document.span_of(("spec", "list", 0, "size")).column == 13
    assert document.span_of(("spec", "list", 0, "size"), key=True).column == 7
    # nearest written ancestor: spec
    assert document.span_of(("spec", "missing", "deeper")).line == 1
    assert document.plain_scalars[("spec", "list", 0, "size")] == "3"


@pytest.mark.parametrize(
    ("text", "line", "column", "codepoint"),
    [
        ("kind: Model\nmetadata:\n  name: x\x00y\n", 3, 10, "U+0000"),
        (
            "a: éé\nb: x\x07\n",
            2,
            5,
            "U+0007",
        ),  # the parser counts bytes; positions count characters
        ("a: \x1b[31m\n", 1, 4, "U+001B"),
    ],
)
def test_control_characters_point_at_themselves(
    text: str, line: int, column: int, codepoint: str
) -> None:
    _, diagnostics = parse_documents("f.yaml", text)
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("Y001", line, column)]
    assert codepoint in diagnostics[0].message
    assert "\n" not in diagnostics[0].message


def test_a_huge_file_without_aliases_is_bounded_with_a_fitting_hint() -> None:
    _, diagnostics = parse_documents(
        "f.yaml", "values: [" + ", ".join(["1"] * (MAX_NODES_PER_FILE + 10)) + "]\n"
    )
    assert [d.code for d in diagnostics] == ["Y005"]
    assert diagnostics[0].hint is not None and "alias" not in diagnostics[0].hint


@pytest.mark.parametrize("character", ["\x85", "\u2028", "\u2029"])
@pytest.mark.parametrize(
    ("written", "column"),
    [('b: "A{c}B"\n', 6), ("b: A{c}B\n", 5), ("b: AB  # note{c}\n", 14)],
)
def test_a_break_yaml_11_and_12_disagree_on_is_refused_where_it_is(
    character: str, written: str, column: int
) -> None:
    """libyaml (YAML 1.1) folds a NEL in a quoted string into a space and counts lines past all
    three: read silently, the value and every later line number would be wrong."""
    data, diagnostics = load("a: 1\n" + written.format(c=character) + "c: 2\n")
    assert data == []  # nothing read that might differ from what the file says
    assert diagnostics == [("Y001", 2, column)]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_the_break_is_placed_where_an_editor_shows_it_whatever_the_line_ends(end: str) -> None:
    text = end.join(["# c", "a: 1", "b: x\u2028y", ""])
    assert load(text)[1] == [("Y001", 3, 5)]


@pytest.mark.parametrize(
    ("key", "code"),
    [("!!timestamp 2001-12-14", "Y004"), ("!!binary aGVsbG8=", "Y004"), ("!!int 5", "Y013")],
)
def test_a_tag_written_on_a_key_is_judged_as_on_a_value(key: str, code: str) -> None:
    """PyYAML makes those keys a date, the bytes `hello` and the number 5."""
    data, diagnostics = load(f"a:\n  {key}: x\n")
    assert (data, diagnostics) == ([{"a": {}}], [(code, 2, 3)])


@pytest.mark.parametrize("key", ["!!str <<", "!!str yes"])
def test_a_key_tagged_as_a_string_is_that_string(key: str) -> None:
    """Not a merge key, not a YAML 1.1 boolean: the tag says a string, for PyYAML too."""
    written = key.removeprefix("!!str ")
    assert load(f"a:\n  {key}: x\n") == ([{"a": {written: "x"}}], [])


def test_text_repeated_through_aliases_is_bounded() -> None:
    """An alias counts as one value: 4,000 aliases of a 500,000-character string (a 555 KB file)
    made 2 GB of text. What aliases repeat is bounded per file, and said where."""
    from compiler.load.yaml_strict import MAX_ALIASED_TEXT

    anchored = "A" * 100_000
    aliases = "".join(f"    v{index}: *s\n" for index in range(1, 200))
    text = (
        "apiVersion: llmops.io/v1\nkind: PromptTemplate\nmetadata:\n  name: t\nspec:\n"
        f'  version: "1"\n  variables:\n    v0: &s {anchored}\n{aliases}'
    )
    documents, diagnostics = parse_documents("t.yaml", text)
    assert [d.code for d in diagnostics] == ["Y005"]
    assert f"more than {MAX_ALIASED_TEXT >> 20} MiB of text" in diagnostics[0].message
    assert diagnostics[0].span.line > 8  # at an alias, not the anchor
    small = text.replace(anchored, "A" * 1_000)  # 200 KB repeated: read as written
    documents, diagnostics = parse_documents("t.yaml", small)
    assert diagnostics == [] and documents[0].data["spec"]["variables"]["v199"] == "A" * 1_000
