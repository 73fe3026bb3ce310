"""Numbers and typed tags in the loader: an integer too long to convert (Python refuses beyond 4,300
digits, and converting costs time quadratic in the length) is a positioned Y018 wherever it is
written, never a crash; a !!int/!!float/!!bool/!!null tag either gives a value of its type or is a
positioned Y019, never a string."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.load.scalars import MAX_INTEGER_LENGTH, resolve_plain_scalar
from compiler.load.yaml_strict import parse_documents
from tests.helpers.estate import copy_bundled_estate, run_cli

ENDPOINT = "environments/dev/serving/example-model.yaml"


def load(text: str) -> tuple[list[object], list[tuple[str, int, int]]]:
    documents, diagnostics = parse_documents("f.yaml", text)
    return [d.data for d in documents], [(d.code, d.span.line, d.span.column) for d in diagnostics]


def integer_literal(digits: str, form: str) -> str:
    return {
        "decimal": digits,
        "negative": f"-{digits}",
        "hex": f"0x{digits}",
        "octal": f"0o{digits}",
    }[form]


@pytest.mark.parametrize("form", ["decimal", "negative", "hex", "octal"])
@pytest.mark.parametrize("place", ["value", "nested", "item", "flow", "key"])
def test_a_5000_digit_integer_is_a_positioned_diagnostic_anywhere(form: str, place: str) -> None:
    number = integer_literal("7" * 5000, form)
    text = {
        "value": f"a: 1\nb: {number}\n",
        "nested": f"a: 1\nb:\n  c: {number}\n",
        "item": f"a: 1\nb:\n  - {number}\n",
        "flow": f"a: 1\nb: [1, {number}]\n",
        "key": f"a: 1\nb:\n  ? {number}\n  : x\n",
    }[place]
    _, diagnostics = load(text)
    assert len(diagnostics) == 1
    code, line, _ = diagnostics[0]
    assert (code, line) == (
        "Y013" if place == "key" else "Y018",
        3 if place in ("nested", "item", "key") else 2,
    )


@given(
    st.integers(1, 6000),
    st.sampled_from(["decimal", "negative", "hex", "octal"]),
    st.sampled_from(["7", "1234567", "10"]),
)
def test_integers_up_to_the_limit_are_read_and_longer_ones_reported(
    length: int, form: str, pattern: str
) -> None:
    digits = (pattern * (length // len(pattern) + 1))[:length]
    literal = integer_literal(digits, form)
    data, diagnostics = load(f"x: {literal}\n")
    if len(literal) <= MAX_INTEGER_LENGTH:
        base = {"hex": 16, "octal": 8}.get(form, 10)
        assert diagnostics == []
        assert data == [{"x": (-1 if form == "negative" else 1) * int(digits, base)}]
    else:
        assert diagnostics == [("Y018", 1, 4)]
        assert data == []  # the document is not read further


def test_resolving_any_plain_scalar_never_raises() -> None:
    for text in (
        "9" * 5000,
        "-" + "9" * 5000,
        "0x" + "f" * 5000,
        "0o" + "7" * 5000,
        "9" * 5000 + ".5",
        "1e99999",
    ):
        resolve_plain_scalar(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x: !!int 12", 12),
        ('x: !!int "12"', 12),
        ("x: !!int 0x1f", 31),
        ("x: !!int -3", -3),
        ("x: !!float 1", 1.0),
        ('x: !!float "2e-5"', 2e-5),
        ("x: !!float .inf", math.inf),
        ("x: !!bool true", True),
        ("x: !!bool 'false'", False),
        ("x: !!null ~", None),
        ("x: !!null", None),
        ("x: !!str 12", "12"),
    ],
)
def test_a_tag_that_agrees_with_its_value_gives_a_value_of_its_type(
    text: str, value: object
) -> None:
    data, diagnostics = load(text)
    assert diagnostics == []
    assert data == [{"x": value}]
    assert type(data[0]["x"]) is type(value)  # type: ignore[index]


@pytest.mark.parametrize(
    "text",
    [
        "x: !!int abc",
        "x: !!int 1.5",
        "x: !!int ''",
        'x: !!int "0x"',
        "x: !!float abc",
        "x: !!float 0x1f",
        "x: !!bool yes",
        "x: !!bool 1",
        "x: !!null x",
        "x: !!null 0",
        "x: [!!int abc]",
        "x: {y: !!float z}",
    ],
)
def test_a_tag_that_contradicts_its_value_is_y018(text: str) -> None:
    _, diagnostics = load(text)
    assert [code for code, _, _ in diagnostics] == ["Y019"]


SCALAR_TEXT = st.one_of(
    st.text(st.sampled_from("0123456789abcdefxo+-._eEinfaNtrueFALSl~ "), max_size=12),
    st.sampled_from(["", "~", "null", "true", "False", ".nan", "-.Inf", "0o17", "0x1F", "1e3"]),
)
TAG_TYPES = {"!!int": (int,), "!!float": (float,), "!!bool": (bool,), "!!null": (type(None),)}


@given(st.sampled_from(sorted(TAG_TYPES)), SCALAR_TEXT, st.booleans())
def test_any_typed_tag_gives_its_type_or_a_diagnostic(tag: str, text: str, quoted: bool) -> None:
    written = '"' + text + '"' if quoted else text
    data, diagnostics = load(f"x: {tag} {written}\n")
    codes = [code for code, _, _ in diagnostics]
    if codes:
        assert set(codes) <= {"Y019", "Y001"}, codes  # Y001: the text is not even a YAML scalar
    else:
        value = data[0]["x"]  # type: ignore[index]
        assert type(value) in TAG_TYPES[tag], (tag, text, value)


def test_the_issue_example_is_one_loader_diagnostic_and_no_schema_echo(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    path = root / ENDPOINT
    path.write_text(
        path.read_text(encoding="utf-8").replace("maxReplicas: 3", "maxReplicas: !!int abc"),
        encoding="utf-8",
    )
    result = run_cli("validate", str(root), "--env", "dev", "--format", "json")
    assert result.exit_code == 1
    assert '"code": "Y019"' in result.stdout
    assert '"code": "S003"' not in result.stdout  # one mistake, one diagnostic


@pytest.mark.parametrize("literal", ["9" * 5000, "0x" + "f" * 5000, "-" + "1" * 4301])
@pytest.mark.parametrize("command", ["validate", "render"])
def test_huge_integers_in_a_manifest_exit_1_with_y017_never_3(
    tmp_path: Path, literal: str, command: str
) -> None:
    root = copy_bundled_estate(tmp_path)
    path = root / ENDPOINT
    path.write_text(
        path.read_text(encoding="utf-8").replace("maxReplicas: 3", f"maxReplicas: {literal}"),
        encoding="utf-8",
    )
    result = run_cli(command, str(root), "--env", "dev")
    assert result.exit_code == 1, result.stderr
    report = result.stdout + result.stderr
    assert f"{ENDPOINT}:11:16: error[Y018]" in report
