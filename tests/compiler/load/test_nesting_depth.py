"""Deep nesting is Y016 whichever part stops it: our depth limit, or libyaml's own (0.2.5+, in
PyYAML 6.0.4 wheels), whose refusal surfaces as a YAML syntax error. PyYAML 6.0.3 and 6.0.4 must
give the same code."""

from __future__ import annotations

import pytest
import yaml

from compiler.load.yaml_strict import MAX_DEPTH, _syntax_diagnostic, parse_documents


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000], ids=["our-limit", "libyaml-limit"])
@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_y016(depth: int, style: str) -> None:
    if style == "flow":
        text = "x: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "".join("  " * level + "k:\n" for level in range(depth))
    _, diagnostics = parse_documents("f.yaml", text)
    assert [d.code for d in diagnostics] == ["Y016"]


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        # libyaml's wording since 0.2.5
        ("while parsing a flow node", "exceeded maximum nesting depth"),
        ("while parsing a block mapping", "exceeded maximum nesting depth"),
        # a plain syntax error stays Y001
        ("while scanning for the next token", "found unexpected end of stream"),
    ],
)
def test_libyaml_depth_refusal_maps_to_y016(context: str, problem: str) -> None:
    mark = yaml.Mark("f.yaml", 0, 0, 3, None, None)
    error = yaml.MarkedYAMLError(context, mark, problem, mark)
    diagnostic = _syntax_diagnostic("f.yaml", "x: [[[\n", error)
    assert diagnostic.code == ("Y016" if "nesting" in problem else "Y001")
