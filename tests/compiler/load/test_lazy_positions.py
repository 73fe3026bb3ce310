"""Documents without diagnostics are read without recording positions; asked for them later, they
must give exactly what the recording builder gives (diagnostic positions depend on it)."""

from __future__ import annotations

from typing import Any

import pytest
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


def test_positions_stopped_while_made_are_made_when_next_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C, or the warm server stopping a command whose client went away, may come while a
    file's positions are made. The server keeps the file's documents for its next commands: they
    must still give their positions then, not point every diagnostic at the file's first line."""
    clean = TEXT.replace("enabled: yes", "enabled: true")  # no diagnostic: positions on first use
    parsed, diagnostics = yaml_strict.parse_documents("f.yaml", clean)
    assert diagnostics == []
    documents = yaml_strict.documents_read_before(
        "f.yaml", clean, [(document.index, document.data) for document in parsed]
    )
    build = yaml_strict._DocumentBuilder.build
    calls = {"n": 0}

    def stopped_on_the_second(builder: yaml_strict._DocumentBuilder, root: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return build(builder, root)

    monkeypatch.setattr(yaml_strict._DocumentBuilder, "build", stopped_on_the_second)
    try:
        documents[0].span_of(("spec", "version"))
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the positions were made without the second document's")
    monkeypatch.setattr(yaml_strict._DocumentBuilder, "build", build)
    roots = list(yaml.compose_all(clean, Loader=yaml_strict._Loader))
    for document in documents:
        limits = [yaml_strict.MAX_NODES_PER_FILE, yaml_strict.MAX_ALIASED_TEXT]
        builder = yaml_strict._DocumentBuilder(document.file, document.index, limits, [])
        expected = builder.build(roots[document.index])
        for path in every_path(document.data):
            assert document.span_of(path) == expected.span_of(path), (document.index, path)
        assert document.span_of(("spec",)).line > 1
