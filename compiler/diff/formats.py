"""`llmops diff` output: text for terminals, Markdown for a pull-request comment, JSON for tools.

Text and Markdown carry names and values from the manifests: their control characters are
escaped."""

from __future__ import annotations

import json
import re
from typing import Any

from compiler.diff.changes import EnvironmentSummary, EstateDiff, FieldChange, ObjectChange
from compiler.printable import escape_controls, json_printable

_MARK = {"added": "+", "removed": "-", "changed": "~"}
_MAX_VALUE = 120


def _value(value: Any) -> str:
    text = "(absent)" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _range(pair: tuple[int, int]) -> str:
    return f"{pair[0]}" if pair[0] == pair[1] else f"{pair[0]}-{pair[1]}"


def summary_lines(summary: EnvironmentSummary) -> list[str]:
    lines = []
    if summary.endpoints_added:
        lines.append(f"endpoints added: {', '.join(summary.endpoints_added)}")
    if summary.endpoints_removed:
        lines.append(f"endpoints removed: {', '.join(summary.endpoints_removed)}")
    lines += [
        f"model of {endpoint}: {old} -> {new}" for endpoint, old, new in summary.models_changed
    ]
    (old_replicas, new_replicas), (old_gpus, new_gpus) = summary.replicas, summary.gpus
    if old_replicas != new_replicas:
        lines.append(f"replicas: {_range(old_replicas)} -> {_range(new_replicas)}")
    if old_gpus != new_gpus:
        lines.append(f"GPUs: {_range(old_gpus)} -> {_range(new_gpus)}")
    lines += [f"{endpoint}: {text}" for endpoint, text in summary.canaries_changed]
    lines += [f"approval added: {text}" for text in summary.approvals_added]
    return lines


def _field_line(change: FieldChange) -> str:
    return f"{change.path}: {_value(change.before)} -> {_value(change.after)}"


def _by_group(changes: list[ObjectChange]) -> dict[str, list[ObjectChange]]:
    grouped: dict[str, list[ObjectChange]] = {}
    for change in changes:
        grouped.setdefault(change.group, []).append(change)
    return grouped


def format_text(diff: EstateDiff) -> str:
    if diff.empty:
        return "no changes\n"
    out: list[str] = []
    summaries = {summary.name: summary for summary in diff.summaries}
    grouped = _by_group(diff.changes)
    for group in sorted(grouped.keys() | {s.name for s in diff.summaries if s.changed}):
        out.append(f"{group}:")
        out += (
            [f"  {line}" for line in summary_lines(summaries[group])] if group in summaries else []
        )
        for change in grouped.get(group, []):
            out.append(f"  {_MARK[change.status]} {change.title}")
            out += [f"      {_field_line(field)}" for field in change.fields]
    counts = {status: sum(1 for c in diff.changes if c.status == status) for status in _MARK}
    out.append(f"{counts['added']} added, {counts['changed']} changed, {counts['removed']} removed")
    return escape_controls("\n".join(out), keep_newlines=True) + "\n"


_BACKTICKS = re.compile(r"`+")
# what could start markdown of its own in a cell: code spans, emphasis, links and images,
# strikethrough, GitHub's math (`$`) and mentions (`@`), and the cell's end; each escaped
_MARKDOWN_PUNCTUATION = re.compile(r"[\\`*_\[\]()!~|$@]")


def format_markdown(diff: EstateDiff) -> str:
    if diff.empty:
        return "### llmops diff\n\nNo changes to the cluster.\n"
    out = ["### llmops diff", ""]
    changed = [s for s in diff.summaries if s.changed]
    if changed:
        out += ["| environment | what changes |", "|---|---|"]
        out += [
            f"| `{s.name}` | {'<br>'.join(_escape(line) for line in summary_lines(s))} |"
            for s in changed
        ]
        out.append("")
    for group, changes in sorted(_by_group(diff.changes).items()):
        counts = ", ".join(
            f"{sum(1 for c in changes if c.status == s)} {s}"
            for s in _MARK
            if any(c.status == s for c in changes)
        )
        lines = []
        for change in changes:
            lines.append(f"{_MARK[change.status]} {change.title}")
            lines += [f"~     {_field_line(field)}" for field in change.fields]
        # a fence longer than any run of backticks inside: a value holding ``` cannot end the
        # block and write markdown of its own into the pull request
        fence = "`" * max(
            3, 1 + max((len(run) for run in _BACKTICKS.findall("\n".join(lines))), default=0)
        )
        out += [
            f"<details><summary><b>{_escape(group)}</b>: {counts}</summary>",
            "",
            f"{fence}diff",
        ]
        out += [*lines, fence, "", "</details>", ""]
    return escape_controls("\n".join(out), keep_newlines=True) + "\n"


def _escape(text: str) -> str:
    """Text in a table cell, read as text: markdown's punctuation escaped (a link, emphasis or
    code span a value or an approver's id wrote), HTML's characters as entities, `|` kept in its
    cell."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_PUNCTUATION.sub(r"\\\g<0>", text)


def format_json(diff: EstateDiff) -> str:
    document = {
        "changes": [
            {
                "environment": c.group,
                "apiVersion": c.api_version,
                "kind": c.kind,
                "namespace": c.namespace,
                "name": c.name,
                "status": c.status,
                "fields": [
                    {"path": f.path, "before": f.before, "after": f.after} for f in c.fields
                ],
            }
            for c in diff.changes
        ],
        "summary": [
            {
                "environment": s.name,
                "endpointsAdded": list(s.endpoints_added),
                "endpointsRemoved": list(s.endpoints_removed),
                "modelsChanged": [
                    {"endpoint": e, "before": b, "after": a} for e, b, a in s.models_changed
                ],
                "replicas": {"before": list(s.replicas[0]), "after": list(s.replicas[1])},
                "gpus": {"before": list(s.gpus[0]), "after": list(s.gpus[1])},
                "approvalsAdded": list(s.approvals_added),
                "canariesChanged": [
                    {"endpoint": e, "change": text} for e, text in s.canaries_changed
                ],
            }
            for s in diff.summaries
        ],
    }
    return json_printable(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


FORMATTERS = {"text": format_text, "markdown": format_markdown, "json": format_json}
