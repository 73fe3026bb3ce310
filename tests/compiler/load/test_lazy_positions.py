"""Documents without diagnostics are read without recording positions; asked for them later, they
must give exactly what the recording builder gives (diagnostic positions depend on it)."""

from __future__ import annotations

import yaml

from compiler.load import yaml_strict
from compiler.load.document import SourceDocument
from compiler.positions import Path, Span

TEXT = """\
# a file of several documents
apiVersion: llmops.io/v1
kind: Model
metadata:
  name: m
spec:
  version: "1.0"
  numbers: [1, 2.5, 0x1F, true, ~]
  nested:
    - name: a
      size: 3
    - "quoted": |
        block
        text
---
apiVersion: llmops.io/v1
kind: Model
metadata: {name: m2}
spec:
  enabled: yes
---
apiVersion: llmops.io/v1
kind: Model
spec: {a: &x [1, 2], b: *x}
---
plain: document
"""


def recorded(document: SourceDocument) -> SourceDocument:
    """The same document read by the recording builder."""
    roots = list(yaml.compose_all(TEXT, Loader=yaml_strict._Loader))
    builder = yaml_strict._DocumentBuilder(
        document.file,
        document.index,
        [yaml_strict.MAX_NODES_PER_FILE, yaml_strict.MAX_ALIASED_TEXT],
        [],
    )
    return builder.build(roots[document.index])


def every_path(data: object, path: Path = ()) -> list[Path]:
    paths = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            paths += every_path(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            paths += every_path(value, (*path, index))
    return paths


def test_lazy_positions_equal_recorded_positions() -> None:
    documents, diagnostics = yaml_strict.parse_documents("f.yaml", TEXT)
    assert [d.code for d in diagnostics] == ["Y009"]  # `yes` in the second document
    assert [d.index for d in documents] == [0, 1, 2, 3]
    for document in documents:
        expected = recorded(document)
        assert document.data == expected.data
        for path in [*every_path(document.data), ("spec", "missing"), ("nowhere", 0)]:
            for key in (False, True):
                span = document.span_of(path, key=key)
                assert isinstance(span, Span)
                assert span == expected.span_of(path, key=key)
        assert dict(document.values.items()) == dict(expected.values.items())
        assert dict(document.keys.items()) == dict(expected.keys.items())
        assert document.plain_scalars == expected.plain_scalars
        assert document == expected
    assert documents[0].plain_scalars[("spec", "numbers", 2)] == "0x1F"
    assert documents[0].span_of(("spec", "nested", 1, "quoted")).line == 12  # the `|`


def test_a_document_given_positions_keeps_them() -> None:
    span = Span("f.yaml", 2, 3)
    document = SourceDocument("f.yaml", 0, {"a": 1}, values={("a",): span})
    assert document.values[("a",)] is span and document.keys == {} and document.plain_scalars == {}
    assert document.span_of(("a", "b")) == span
