"""Property and exact-output tests of the deterministic YAML emitter (compiler/emit/yaml_text.py).

The emitter's promise: whatever strings an object holds, the YAML it writes reads back as exactly
that object in YAML 1.1 (PyYAML, as kubectl-era tooling reads it) and YAML 1.2 (our strict loader),
with no diagnostics; and a stream splits into exactly the documents it was given.

Decisions about the input domain:
- Lone surrogates (U+D800..U+DFFF) are left out of the round-trip properties: manifests are decoded
  as strict UTF-8 (a surrogate cannot occur in them) and Kubernetes objects are UTF-8 JSON. What the
  emitter does with one anyway is pinned by `test_lone_surrogates_are_escaped_never_written_raw`.
- Top-level documents are non-empty mappings, as every Kubernetes object is.
- The bugs these properties found (go-yaml v2 words, exponent floats, long keys, keys ending in a
  newline) are pinned as regression tests at the end.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from compiler.emit.yaml_text import emit_document, emit_stream, is_plain_safe, quote, scalar
from compiler.errors import UnrepresentableValue
from compiler.load.yaml_strict import parse_documents
from tests.helpers.go_yaml import go_yaml_v2_reads_string, plain_strings
from tests.helpers.hostile import TEXT

_CLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# YAML limits implicit (simple) keys to 1024 characters as written; an escaped character takes up to
# 10 (`\U0010ffff`), so 100 characters always fit. Longer keys: `test_keys_longer_than_1024_...`.
KEYS = TEXT.map(lambda key: key[:100])
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70), FLOATS, TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)
    ),
    max_leaves=25,
)
# Keys the emitter moves to the front (the Kubernetes envelope), mixed with any others.
ENVELOPE_KEYS = st.sampled_from(
    ("apiVersion", "kind", "metadata", "immutable", "spec", "data", "stringData", "type", "status")
)
DOCUMENTS = st.dictionaries(st.one_of(ENVELOPE_KEYS, KEYS), VALUES, min_size=1, max_size=6)


def assert_identical(got: Any, expected: Any, path: str = "") -> None:
    """Equal, with the same types everywhere (True is not 1, 1 is not 1.0) and the same sign of
    zero."""
    assert type(got) is type(expected), (
        f"{path or '<root>'}: {got!r} ({type(got).__name__}) != {expected!r}"
    )
    if isinstance(expected, dict):
        assert set(got) == set(expected), f"{path}: keys {sorted(got)!r} != {sorted(expected)!r}"
        for key, value in expected.items():
            assert_identical(got[key], value, f"{path}.{key!r}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), f"{path}: {len(got)} items != {len(expected)}"
        for index, (item, want) in enumerate(zip(got, expected, strict=True)):
            assert_identical(item, want, f"{path}[{index}]")
    elif isinstance(expected, float):
        assert got == expected and math.copysign(1, got) == math.copysign(1, expected), (
            f"{path}: {got!r}"
        )
    else:
        assert got == expected, f"{path}: {got!r} != {expected!r}"


def read_yaml11(text: str) -> list[Any]:
    """Both PyYAML readers: the pure-Python one and libyaml's (their readers differ in detail)."""
    pure = list(yaml.safe_load_all(text))
    assert_identical(list(yaml.load_all(text, Loader=_CLoader)), pure)
    return pure


def read_yaml12(text: str) -> list[Any]:
    documents, diagnostics = parse_documents("rendered.yaml", text)
    assert diagnostics == [], [f"{d.code} {d.message}" for d in diagnostics]
    return [document.data for document in documents]


# -- round trips
# ---------------------------------------------------------------------------------------


@given(DOCUMENTS)
@example(
    {
        "apiVersion": "v1",
        "data": {"a": "a\n", "b": " a\nb", "c": ["---\n...", {"k": "\u2028"}], "d": "x\n\n"},
    }
)
@example({"k": [[[]], [{}], {"": [None, True, 0, -0.0, "", "\n"]}]})
def test_document_reads_back_identically_in_yaml_1_1_and_1_2(document: dict[str, Any]) -> None:
    text = emit_document(document)
    assert text.endswith("\n")
    assert not text.startswith("---")
    assert_identical(read_yaml11(text), [document])
    assert_identical(read_yaml12(text), [document])


@given(st.lists(DOCUMENTS, min_size=1, max_size=5))
def test_stream_splits_into_exactly_the_documents(documents: list[dict[str, Any]]) -> None:
    text = emit_stream(documents)
    assert text.startswith("---\n")
    assert text == "".join(f"---\n{emit_document(document)}" for document in documents)
    assert_identical(read_yaml11(text), documents)
    assert_identical(read_yaml12(text), documents)


ENVELOPE = ("apiVersion", "kind", "metadata", "immutable", "spec", "data", "stringData", "type")


@given(DOCUMENTS)
def test_envelope_keys_come_first_then_the_rest_in_their_order(document: dict[str, Any]) -> None:
    text = emit_document(document)
    assert emit_document(document) == text
    root = yaml.compose(text)
    assert isinstance(root, yaml.MappingNode)
    written = [yaml.safe_load(yaml.serialize(key)) for key, _ in root.value]
    expected = [key for key in ENVELOPE if key in document] + [
        key for key in document if key not in ENVELOPE
    ]
    assert written == expected


@given(TEXT)
@example("a\nb")
@example("line one\nline two\n")
@example("한국어\n두 번째 줄\n")
def test_any_string_round_trips_as_a_mapping_value_a_key_and_a_list_item(text: str) -> None:
    key = text[:100]
    document = {"value": text, "nested": {"list": [text, {"key": text}]}, key: [text]}
    emitted = emit_document(document)
    assert_identical(read_yaml11(emitted), [document])
    assert_identical(read_yaml12(emitted), [document])


@given(TEXT)
def test_output_holds_only_characters_yaml_prints(text: str) -> None:
    """Everything outside printable ASCII/Unicode that YAML 1.1 could misread is escaped."""
    emitted = emit_document({"k": text, text[:100]: 1})
    assert not re.search(
        "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\r]", emitted
    ), emitted
    emitted.encode("utf-8")  # writable as a file


# -- the emitter's choices, exactly
# ------------------------------------------------------------------


def test_kubernetes_object_exact_output() -> None:
    obj = {
        "spec": {
            "replicas": 2,
            "paused": False,
            "selector": None,
            "empty": {},
            "none": [],
            "containers": [
                {
                    "name": "proxy",
                    "args": ["--port", "8000", "--host", "0.0.0.0"],
                    "env": [{"name": "A", "value": "yes"}],
                    "resources": {"limits": {"cpu": "1"}},
                }
            ],
        },
        "kind": "Deployment",
        "metadata": {
            "name": "llmops-proxy",
            "labels": {"app.kubernetes.io/name": "llmops-proxy"},
            "annotations": {"argocd.argoproj.io/sync-wave": "-1", "note": "a: b # c"},
        },
        "apiVersion": "apps/v1",
    }
    assert emit_document(obj) == (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        "  name: llmops-proxy\n"
        "  labels:\n"
        "    app.kubernetes.io/name: llmops-proxy\n"
        "  annotations:\n"
        '    argocd.argoproj.io/sync-wave: "-1"\n'
        '    note: "a: b # c"\n'
        "spec:\n"
        "  replicas: 2\n"
        "  paused: false\n"
        "  selector: null\n"
        "  empty: {}\n"
        "  none: []\n"
        "  containers:\n"
        "    - name: proxy\n"
        "      args:\n"
        '        - "--port"\n'
        '        - "8000"\n'
        '        - "--host"\n'
        "        - 0.0.0.0\n"
        "      env:\n"
        "        - name: A\n"
        '          value: "yes"\n'
        "      resources:\n"
        "        limits:\n"
        '          cpu: "1"\n'
    )


def test_multi_line_text_is_a_literal_block_when_it_reads_back_exactly() -> None:
    config = '{\n  "name": "support",\n  "template": "Hi {{ company }}\\n"\n}\n'
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {
            "proxy.json": config,
            "no-final-newline": "first\nsecond",
            "korean": "첫 줄\n둘째 줄\n",
            "markers": "a\n---\n...\n# not a comment\n- not a list\n",
        },
    }
    assert emit_document(obj) == (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: c\n"
        "data:\n"
        "  proxy.json: |\n"
        "    {\n"
        '      "name": "support",\n'
        '      "template": "Hi {{ company }}\\n"\n'
        "    }\n"
        "  no-final-newline: |-\n"
        "    first\n"
        "    second\n"
        "  korean: |\n"
        "    첫 줄\n"
        "    둘째 줄\n"
        "  markers: |\n"
        "    a\n"
        "    ---\n"
        "    ...\n"
        "    # not a comment\n"
        "    - not a list\n"
    )


def test_literal_block_keeps_empty_lines_and_deeper_indentation() -> None:
    assert emit_document({"k": ["a\n\n  b\n"]}) == "k:\n  - |\n    a\n\n      b\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" leading space\nx", '" leading space\\nx"'),
        ("\nleading newline", '"\\nleading newline"'),
        ("two final newlines\n\n", '"two final newlines\\n\\n"'),
        ("trailing space \nx", '"trailing space \\nx"'),
        ("x\ntrailing space ", '"x\\ntrailing space "'),
        ("tab\tinside\nx", '"tab\\tinside\\nx"'),
        ("carriage\r\nreturn", '"carriage\\r\\nreturn"'),
        ("line\u2028separator\nx", '"line\\u2028separator\\nx"'),
        ("next\x85line\nx", '"next\\u0085line\\nx"'),
        ("bom\ufeff\nx", '"bom\\ufeff\\nx"'),
        ("bell\x07\nx", '"bell\\u0007\\nx"'),
    ],
)
def test_multi_line_text_that_a_block_cannot_hold_is_double_quoted(
    text: str, expected: str
) -> None:
    assert emit_document({"k": text}) == f"k: {expected}\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-7, "-7"),
        (2**70, str(2**70)),
        (0.5, "0.5"),
        (-0.0, "-0.0"),
        (1.5e300, "1.5e+300"),
        ("plain", "plain"),
        ("llm-ops-dev", "llm-ops-dev"),
        ("nvidia.com/gpu", "nvidia.com/gpu"),
        ("8Gi", "8Gi"),
        ("", '""'),
        (" ", '" "'),
        ("a b", '"a b"'),
        ("8000", '"8000"'),
        ("-1", '"-1"'),
        ("1.0", '"1.0"'),
        ("yes", '"yes"'),
        ("No", '"No"'),
        ("on", '"on"'),
        ("OFF", '"OFF"'),
        ("~", '"~"'),
        ("null", '"null"'),
        ("True", '"True"'),
        ("0755", '"0755"'),
        ("1_000", '"1_000"'),
        ("1:30", '"1:30"'),
        ("0x1f", '"0x1f"'),
        ("0o17", '"0o17"'),
        ("0b101", '"0b101"'),
        (".inf", '".inf"'),
        (".nan", '".nan"'),
        ("-0", '"-0"'),
        ("1e3", '"1e3"'),
        ("2025-01-15", '"2025-01-15"'),
        ("---", '"---"'),
        ("...", '"..."'),
        ("#", '"#"'),
        ("- a", '"- a"'),
        ("a: b", '"a: b"'),
        ("&a", '"&a"'),
        ("*a", '"*a"'),
        ("!tag", '"!tag"'),
        ("%", '"%"'),
        ("@", '"@"'),
        ("`", '"`"'),
        ("{{ x }}", '"{{ x }}"'),
        ("<<", '"<<"'),
        ("a.", '"a."'),
        ("a-", '"a-"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("한국어", '"한국어"'),
        ("😀", '"😀"'),
        ("\u2028", '"\\u2028"'),
        ("\x85", '"\\u0085"'),
        ("\ufeff", '"\\ufeff"'),
        ("\x00", '"\\u0000"'),
        ("\x7f", '"\\u007f"'),
        ("\U0010ffff", '"\U0010ffff"'),
        ("\ufffe", '"\\ufffe"'),
    ],
)
def test_scalar_exact(value: Any, expected: str) -> None:
    assert scalar(value) == expected
    assert_identical(read_yaml11(f"k: {expected}\n"), [{"k": value}])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(value: float) -> None:
    with pytest.raises(UnrepresentableValue, match="cannot be written into a Kubernetes object"):
        emit_document({"k": value})
    with pytest.raises(UnrepresentableValue):
        emit_stream([{"a": {"b": [1, {"c": value}]}}])


def test_other_types_are_refused() -> None:
    with pytest.raises(TypeError):
        emit_document({"k": b"bytes"})
    with pytest.raises(TypeError):
        emit_document({"k": (1, 2)})


def test_keys_are_quoted_like_values() -> None:
    document = {
        "": 1,
        "yes": 2,
        "1": 3,
        "null": 4,
        "a: b": 5,
        "- x": 6,
        "<<": 7,
        "multi\nline": 8,
        "ok": 9,
    }
    assert emit_document(document) == (
        '"": 1\n"yes": 2\n"1": 3\n"null": 4\n"a: b": 5\n"- x": 6\n"<<": 7\n"multi\\nline": 8\nok: '
        "9\n"
    )
    assert_identical(read_yaml11(emit_document(document)), [document])
    assert_identical(read_yaml12(emit_document(document)), [document])


def test_lone_surrogates_are_escaped_never_written_raw() -> None:
    """Unreachable from UTF-8 manifests; still, the output must be writable as UTF-8."""
    text = emit_document({"k": "a\ud800b"})
    assert text == 'k: "a\\ud800b"\n'
    text.encode("utf-8")


def test_quote_reads_back_as_the_same_text() -> None:
    for text in ("a", 'say "hi"', "tab\t", "한국어", "😀"):
        assert yaml.safe_load(quote(text)) == text


# -- regressions: bugs these properties found (since fixed) ---------------------------------------

# go-yaml v2 (sigs.k8s.io/yaml's YAMLToJSON, which kubectl and Argo CD use) resolves these plain
# scalars to booleans and numbers, unlike PyYAML's YAML 1.1 resolver: `y`/`n` are booleans in the
# YAML
# 1.1 spec, and Go's strconv.ParseInt(s, 0, 64) accepts upper-case base prefixes; underscores are
# dropped before numbers are parsed. The emitter's docstring promises plain only when "kubectl and
# Go tooling" read the same string.
GO_YAML_V2_NON_STRINGS = ("y", "Y", "n", "N", "0B1", "0X1F", "0O17", "1_e3", "1e3_")


@pytest.mark.parametrize(
    "word",
    [
        "yes",
        "on",
        "off",
        "NO",
        "true",
        "null",
        "~",
        "0x1f",
        "0o17",
        "0b1",
        "1_000",
        "0755",
        "1e3",
        "1.0",
        ".inf",
        "2025-01-15",
        "-0",
    ],
)
def test_go_yaml_v2_special_words_that_pyyaml_also_knows_are_quoted(word: str) -> None:
    assert not go_yaml_v2_reads_string(word)
    assert not is_plain_safe(word)


@given(TEXT)
@example("y")
def test_every_plain_scalar_is_a_string_to_go_yaml_v2(text: str) -> None:
    key = text[:100] or "k"
    emitted = emit_document({"label": text, key: [text]})
    for plain in plain_strings(emitted):
        assert go_yaml_v2_reads_string(plain) or plain in ("label", "k"), (
            f"{plain!r} is written plain"
        )


@pytest.mark.parametrize("word", GO_YAML_V2_NON_STRINGS)
def test_go_yaml_v2_non_strings_are_quoted(word: str) -> None:
    assert scalar(word).startswith('"')


@pytest.mark.parametrize("value", [1e-05, 1e16, 5e-324, 1e22, -2e-07])
def test_floats_with_an_exponent_read_back_as_floats_in_yaml_1_1(value: float) -> None:
    assert_identical(read_yaml11(emit_document({"k": value})), [{"k": value}])


@pytest.mark.parametrize(
    "key", ["k" * 1100, "\x01" * 200], ids=["1100-letters", "200-control-characters"]
)
def test_keys_longer_than_1024_characters_as_written_read_back(key: str) -> None:
    document = {key: "v"}
    assert_identical(read_yaml11(emit_document(document)), [document])
    assert_identical(read_yaml12(emit_document(document)), [document])


@pytest.mark.parametrize("key", ["a\n", "team\n", "0.0.0.0\n", "nvidia.com/gpu\n"])
def test_keys_ending_in_a_newline_are_quoted(key: str) -> None:
    assert not is_plain_safe(key)
    document = {"labels": {key: "v", "other": "w"}}
    assert_identical(read_yaml11(emit_document(document)), [document])
