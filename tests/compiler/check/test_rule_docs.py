"""Every rule is documented in the fixed sections, and its examples are real: the wrong one is an
excerpt of the rule's failing fixture holding the place the rule reports, the right one an excerpt
of its passing fixture, where the rule is gone."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from compiler.check.registry import ALL_RULES, RULES_BY_CODE
from compiler.check.rule_docs import (
    ELISION,
    Example,
    ExamplePart,
    RuleDoc,
    RuleDocError,
    parse_rule_doc,
    rule_markdown,
    rule_text,
)
from tests.compiler.check.test_rule_fixtures import FIXTURES, materialize
from tests.helpers.estate import run_cli

CODES = [rule.code for rule in ALL_RULES]
COMMANDS = frozenset({"git", "readlink", "ls"})  # what an example may run in the estate
SHORTEST_PROSE = 80  # characters: a section, not a placeholder


def doc_of(code: str) -> RuleDoc:
    return parse_rule_doc(RULES_BY_CODE[code].explanation)


def line_matches(pattern: str, line: str) -> bool:
    """`...` inside a pattern line stands for any text."""
    pieces = pattern.rstrip().split(ELISION)
    return re.fullmatch(".*".join(map(re.escape, pieces)), line.rstrip()) is not None


def find_excerpt(pattern: tuple[str, ...], lines: list[str], whole: bool) -> tuple[int, int] | None:
    """The first and last line (1-based) the pattern covers; a pattern line `...` stands for any
    number of lines. ``whole``: the pattern must cover every line (a command's output)."""

    def match(p: int, at: int) -> int | None:
        if p == len(pattern):
            return at if not whole or at == len(lines) else None
        if pattern[p].strip() == ELISION:
            for skip in range(at, len(lines) + 1):
                end = match(p + 1, skip)
                if end is not None:
                    return end
            return None
        if at < len(lines) and line_matches(pattern[p], lines[at]):
            return match(p + 1, at + 1)
        return None

    for start in [0] if whole else range(len(lines)):
        end = match(0, start)
        if end is not None:
            return start + 1, max(end, start + 1)
    return None


def read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # an example of a file that is not UTF-8 shows its Latin-1 text
        text = data.decode("latin-1")
    return text.splitlines()


def run_command(root: Path, command: str) -> list[str]:
    argv = shlex.split(command)
    assert argv[0] in COMMANDS, f"an example may run {sorted(COMMANDS)}, not {argv[0]}"
    done = subprocess.run(
        argv,
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
        check=False,
    )
    output = done.stdout + done.stderr
    return output.rstrip("\n").split("\n") if output else []


def check_example(example: Example, root: Path, side: str) -> dict[str, tuple[int, int]]:
    """Every part of the example is in the estate at ``root``; the lines each file part covers."""
    covered: dict[str, tuple[int, int]] = {}
    for part in example.parts:
        if part.kind == "file":
            path = root / part.head
            assert path.exists(), f"{side}: {part.head} is not in the fixture"
            found = find_excerpt(part.lines, read_lines(path), whole=False)
            assert found is not None, f"{side}: these lines are not in {part.head}:\n" + "\n".join(
                part.lines
            )
            covered[part.head] = found
        else:
            output = run_command(root, part.head)
            assert find_excerpt(part.lines, output, whole=True) is not None, (
                f"{side}: `{part.head}` prints\n" + "\n".join(output)
            )
    return covered


def located(
    entry: dict[str, object], covered: dict[str, tuple[int, int]], parts: tuple[ExamplePart, ...]
) -> bool:
    file, line = entry["file"], entry["line"]
    assert isinstance(file, str) and isinstance(line, int)
    if file in covered:
        first, last = covered[file]
        return first <= line <= last
    return any(part.kind == "command" and file in part.head for part in parts)


def reported(args: tuple[str, ...]) -> list[dict[str, object]]:
    result = run_cli("validate", *args, "--format", "json")
    diagnostics: list[dict[str, object]] = json.loads(result.stdout)["diagnostics"]
    return diagnostics


@pytest.mark.parametrize("code", CODES)
def test_every_rule_has_every_section(code: str) -> None:
    doc = doc_of(code)
    assert len(doc.what) >= SHORTEST_PROSE and len(doc.why) >= SHORTEST_PROSE
    assert doc.what != doc.why
    assert doc.wrong.parts != doc.right.parts


@pytest.mark.parametrize("code", CODES)
def test_the_wrong_example_is_what_the_rule_reports(code: str, tmp_path: Path) -> None:
    example = doc_of(code).wrong
    args = materialize(FIXTURES / code / "bad", tmp_path)
    covered = check_example(example, Path(args[0]), "Wrong")
    found = [entry for entry in reported(args) if entry["code"] == code]
    assert found, f"{code} is not reported on its wrong example"
    assert any(located(entry, covered, example.parts) for entry in found), (
        f"the wrong example does not show where {code} is reported: "
        + ", ".join(f"{e['file']}:{e['line']}" for e in found)
    )


@pytest.mark.parametrize("code", CODES)
def test_the_right_example_is_clean_of_the_rule(code: str, tmp_path: Path) -> None:
    example = doc_of(code).right
    args = materialize(FIXTURES / code / "good", tmp_path)
    check_example(example, Path(args[0]), "Right")
    assert code not in [entry["code"] for entry in reported(args)]


@pytest.mark.parametrize("code", CODES)
def test_every_rule_shows_its_sections_as_text_and_markdown(code: str) -> None:
    rule = RULES_BY_CODE[code]
    text, markdown = rule_text(rule), rule_markdown(rule)
    for title in ("What it checks", "Why it matters", "Wrong:", "Right:"):
        assert title in text
    for title in ("**What it checks.**", "**Why it matters.**", "**Wrong:**", "**Right:**"):
        assert title in markdown
    assert markdown.count("```") % 2 == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("A summary line\nWhat it checks:\n    x\n", "text before `What it checks:`"),
        (
            "What it checks:\n    x\nWhy it matters:\n    y\nRight:\n    # file: a\n    b\n",
            "missing",
        ),
        (
            "What it checks:\n    x\nWhy it matters:\n    y\nRight:\n    # file: a\n    b\n"
            "Wrong:\n    # file: a\n    c\n",
            "order",
        ),
        ("What it checks:\nnot indented\n", "indented four spaces"),
        (
            "What it checks:\n    x\nWhy it matters:\n    y\nWrong:\n    plain text\n"
            "Right:\n    # file: a\n    b\n",
            "must start with",
        ),
        (
            "What it checks:\n    x\nWhy it matters:\n    y\nWrong:\n    # file: a\n"
            "Right:\n    # file: a\n    b\n",
            "shows no line",
        ),
    ],
)
def test_a_document_out_of_the_format_is_refused(text: str, problem: str) -> None:
    with pytest.raises(RuleDocError, match=re.escape(problem)):
        parse_rule_doc(text)
