"""A rule an environment may disable or lower never leaves llmops unable to render: the estate of
its failing fixture renders without an internal error. The categories whose errors the renderer
relies on (a document it could not read, a reference to nothing, a misplaced manifest) are locked
in every environment, so no setting can let them through."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.check.registry import ALL_RULES
from compiler.load.tree import DirectoryTree
from compiler.pipeline import validate_repository
from compiler.render.estate import render_estate
from compiler.spec.environment import ALWAYS_LOCKED_CATEGORIES
from tests.compiler.check.test_rule_fixtures import FIXTURES, materialize

WEAKENABLE = [rule.code for rule in ALL_RULES if rule.category not in ALWAYS_LOCKED_CATEGORIES]


@pytest.mark.parametrize("code", WEAKENABLE)
def test_the_failing_fixture_of_a_weakenable_rule_renders(code: str, tmp_path: Path) -> None:
    root = Path(materialize(FIXTURES / code / "bad", tmp_path)[0])
    result = validate_repository(DirectoryTree(root))
    rendered = render_estate(result.estate, include_argocd=True)
    assert rendered.groups
