"""Hostile text for property tests: every string that provokes a YAML, JSON or template rule.

Lone surrogates (U+D800..U+DFFF) are never generated: manifests are decoded as strict UTF-8, where
they cannot occur, and Kubernetes objects are UTF-8 JSON.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

# Indicators, document markers, comments, anchors, tags, directives, template braces, YAML 1.1
# booleans and numbers, special floats, and characters YAML escapes or treats as line breaks.
TROUBLEMAKERS: tuple[str, ...] = (
    "", " ", "  ", " a", "a ", " a ", "\t", "a\tb", "\n", "\n\n", "a\n", "a\n\n", "\na", "a\nb", "a\n b",
    "a \nb", "a\n\nb", " \n", "a\r\nb", "\r", "---", "...", "--- a", "a\n---\nb", "a\n...\nb", "---\n",
    ": ", "a: b", "a:", ":a", "#", "a #b", "# c", "- ", "-", "- a", "-a", "?", "? a", "'", '"', "''", '""',
    "'a'", '"a"', "\\", "\\n", "\\u0041", "{{ company }}", "{{", "}}", "{a: 1}", "[1, 2]", "{}", "[]", ",",
    "&a", "*a", "&a [*a]", "!tag", "!!str", "!!python/object:os.system", "%YAML 1.1", "%", "@", "`",
    "|", "|-", ">", ">-", "<<", "=", "yes", "no", "on", "off", "Yes", "NO", "On", "OFF", "y", "n", "Y",
    "N", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "1.0", "1.10", "0755",
    "1_000", "1:30", "12:30:45", "0x1f", "0o17", "0b101", ".inf", "-.inf", ".nan", "-0", "+1", "1e3",
    "2e-5", ".5", "5.", "1.", "2025-01-15", "2025-01-15T10:00:00Z", "0.0.0.0", "v1.0", "8Gi", "500m",
    "s3://bucket/a b/", "/llm-ops/v1/serve/x", "a/b", "_a", "a_", "한국어 텍스트", "줄\n바꿈", "😀",
    "a😀b", "\u2028", "a\u2028b", "\u2029", "\x85", "a\x85b", "\ufeff", "\ufeffa", "a\ufeff", "\x00",
    "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x9f", "\xa0", "a\xa0", "\ufffe", "\uffff",
    "\U0010ffff", "\u200b", "\u3000", "é", "e\u0301",
    # whole documents and objects a string might try to smuggle in
    "\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: injected\n",
    '"}, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "injected"}}, {"a": "',
    "{% raw %}{{ metadata }}{% endraw %}", "{{ 7 * 7 }}", "{#", "#}", "{%", "%}",
    "name: injected\nkind: Secret", "  injected: true", "\n  injected: true\n",
)
TRICKY_CHARS = "".join(sorted({c for s in TROUBLEMAKERS for c in s})) + "aZ09 "

UNICODE = st.characters(exclude_categories=["Cs"])
TEXT = st.one_of(
    st.sampled_from(TROUBLEMAKERS),
    st.text(UNICODE, max_size=20),
    st.text(st.sampled_from(TRICKY_CHARS), max_size=20),
    st.lists(st.sampled_from(TROUBLEMAKERS), min_size=1, max_size=5).map("".join),
    # multi-line text: where the emitter may choose a literal block
    st.lists(st.one_of(st.sampled_from(TROUBLEMAKERS), st.text(st.sampled_from(TRICKY_CHARS), max_size=8)),
             min_size=1, max_size=5).map("\n".join),
)


class QuotingDumper(yaml.SafeDumper):
    """Writes every string double-quoted, so YAML 1.1 (PyYAML) and 1.2 (our loader) read the same string:
    a plain `1e3` or `2025-01-15` written by safe_dump would be a number or date to one of them."""


QuotingDumper.add_representer(
    str, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"'))


def dump_documents(documents: list[dict[str, Any]]) -> str:
    return yaml.dump_all(documents, Dumper=QuotingDumper, allow_unicode=True, sort_keys=False,
                         default_flow_style=False, width=1_000_000, explicit_start=True)
