"""A rule's documentation in fixed sections, kept beside the rule (a check's docstring, a Rule's
explanation) and shown by `llmops rules CODE`.

The format, after `inspect.cleandoc`; section bodies are indented four spaces:

    What it checks:
        Prose.
    Why it matters:
        Prose.
    Wrong: an optional caption
        # file: environments/dev/serving/chat.yaml
        lines of that file, in order; a line `...` stands for lines left out, and `...` inside a
        line for text left out
        $ a command run in the estate (git, readlink, ls)
        its whole output, with the same `...`
    Right: an optional caption
        the same parts

The examples are excerpts of the rule's fixtures (tests/fixtures/rules/CODE/{bad,good}): a test
checks that each excerpt is there, that the wrong one holds the place the rule reports, and that
the rule is gone from the right one, so the documentation cannot drift from what llmops does.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import Any

from compiler.diagnostics import Rule
from compiler.records import record

SECTIONS = ("What it checks", "Why it matters", "Wrong", "Right")
FILE_MARK = "# file: "
COMMAND_MARK = "$ "
ELISION = "..."
_HEADING = re.compile(r"^(What it checks|Why it matters|Wrong|Right):(?: (.*))?$")
_INDENT = "    "


class RuleDocError(ValueError):
    """A rule's documentation does not follow the fixed format."""


@record
class ExamplePart:
    kind: str  # "file" or "command"
    head: str  # the file's repository path, or the command line
    lines: tuple[str, ...]  # the file's excerpt, or the command's output

    @property
    def language(self) -> str:
        """The Markdown code-block language."""
        if self.kind == "command":
            return "console"
        suffix = self.head.rsplit(".", 1)[-1]
        return {"yaml": "yaml", "yml": "yaml", "csv": "csv", "jsonl": "json"}.get(suffix, "text")


@record
class Example:
    caption: str
    parts: tuple[ExamplePart, ...]


@record
class RuleDoc:
    what: str  # paragraphs separated by blank lines, each on one line
    why: str
    wrong: Example
    right: Example


def parse_rule_doc(text: str) -> RuleDoc:
    """Read the four sections; raise RuleDocError naming what is missing or malformed."""
    sections: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        heading = _HEADING.match(line)
        if heading is not None:
            current = heading.group(1)
            if current in sections:
                raise RuleDocError(f"section `{current}` appears twice")
            sections[current] = ((heading.group(2) or "").strip(), [])
        elif current is None:
            if line.strip():
                raise RuleDocError(f"line {number}: text before `What it checks:`")
        elif line.strip() and not line.startswith(_INDENT):
            raise RuleDocError(f"line {number}: a section's lines are indented four spaces")
        else:
            sections[current][1].append(line[len(_INDENT) :])
    missing = [name for name in SECTIONS if name not in sections]
    if missing:
        raise RuleDocError(f"missing section{'s' if len(missing) > 1 else ''}: {missing}")
    if list(sections) != list(SECTIONS):
        raise RuleDocError(f"sections must come in this order: {', '.join(SECTIONS)}")
    what, why = (_prose(name, *sections[name]) for name in SECTIONS[:2])
    wrong, right = (_example(name, *sections[name]) for name in SECTIONS[2:])
    return RuleDoc(what, why, wrong, right)


def _prose(name: str, caption: str, lines: list[str]) -> str:
    if caption:
        raise RuleDocError(f"`{name}:` starts its text on the next line")
    paragraphs = "\n".join(lines).strip().split("\n\n")
    text = "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
    if not text:
        raise RuleDocError(f"section `{name}` is empty")
    return text


def _example(name: str, caption: str, lines: list[str]) -> Example:
    while lines and not lines[-1].strip():
        lines.pop()
    parts: list[ExamplePart] = []
    for line in lines:
        if line.startswith(FILE_MARK):
            parts.append(ExamplePart("file", line[len(FILE_MARK) :].strip(), ()))
        elif line.startswith(COMMAND_MARK):
            parts.append(ExamplePart("command", line[len(COMMAND_MARK) :].strip(), ()))
        elif not parts:
            raise RuleDocError(f"`{name}:` must start with `{FILE_MARK}PATH` or `{COMMAND_MARK}`")
        else:
            last = parts[-1]
            parts[-1] = ExamplePart(last.kind, last.head, (*last.lines, line))
    if not parts:
        raise RuleDocError(f"section `{name}` has no example")
    empty = [part.head for part in parts if part.kind == "file" and not part.lines]
    if empty:
        raise RuleDocError(f"`{name}:` shows no line of {empty[0]}")
    return Example(caption, tuple(parts))


def doc_text(doc: RuleDoc) -> str:
    """The sections as plain text for a terminal."""
    out = []
    for title, prose in (("What it checks", doc.what), ("Why it matters", doc.why)):
        out.append(title)
        for paragraph in prose.split("\n\n"):
            out += [*textwrap.wrap(paragraph, 98, initial_indent="  ", subsequent_indent="  "), ""]
    for title, example in (("Wrong", doc.wrong), ("Right", doc.right)):
        out.append(f"{title}: {example.caption}" if example.caption else f"{title}:")
        for part in example.parts:
            if part.kind == "file":
                out += [f"  {part.head}:", *(f"    {line}".rstrip() for line in part.lines)]
            else:
                out += [f"  $ {part.head}", *(f"  {line}".rstrip() for line in part.lines)]
        out.append("")
    return "\n".join(out)


def doc_markdown(doc: RuleDoc) -> str:
    """The sections as Markdown (for a wiki, a review, or a code-scanning rule's help)."""
    out = [f"**What it checks.** {doc.what}", "", f"**Why it matters.** {doc.why}", ""]
    for title, example in (("Wrong", doc.wrong), ("Right", doc.right)):
        out += [f"**{title}:** {example.caption}".rstrip(), ""]
        for part in example.parts:
            if part.kind == "file":
                out += [f"`{part.head}`:", "", f"```{part.language}", *part.lines, "```", ""]
            else:
                out += ["```console", f"$ {part.head}", *part.lines, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def rule_text(rule: Rule) -> str:
    """`llmops rules CODE`: the rule's heading, summary and sections."""
    heading = f"{rule.code} {rule.name} ({rule.severity.value}, {rule.category.value})"
    return f"{heading}\n\n{rule.summary}\n\n{_sections(rule, doc_text)}"


def rule_markdown(rule: Rule) -> str:
    """`llmops rules CODE --format markdown`: one rule as a Markdown section."""
    return (
        f"### `{rule.code}` `{rule.name}`\n\n**{rule.severity.value}**, {rule.category.value}: "
        f"{rule.summary}\n\n{_sections(rule, doc_markdown)}"
    )


def rule_json(rule: Rule) -> dict[str, Any]:
    """The sections as data (`llmops rules --format json`)."""
    try:
        doc = parse_rule_doc(rule.explanation)
    except RuleDocError:  # a test keeps every rule's documentation in the format
        return {}
    return {
        "what": doc.what,
        "why": doc.why,
        **{
            title: {
                "caption": example.caption,
                "parts": [
                    {"kind": part.kind, "head": part.head, "lines": list(part.lines)}
                    for part in example.parts
                ],
            }
            for title, example in (("wrong", doc.wrong), ("right", doc.right))
        },
    }


def _sections(rule: Rule, render: Callable[[RuleDoc], str]) -> str:
    try:
        return render(parse_rule_doc(rule.explanation))
    except RuleDocError:  # a test keeps every rule's documentation in the format
        return rule.explanation + "\n"
