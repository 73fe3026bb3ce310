"""How go-yaml v2 reads plain scalars.

sigs.k8s.io/yaml converts YAML to JSON with its fork of go-yaml v2 (goyaml.v2), and kubectl, Argo CD
and the Kubernetes client libraries read manifests through it. Its resolve() differs from PyYAML's
YAML 1.1 resolver: `y`, `Y`, `n`, `N` are booleans; integers go through strconv.ParseInt(s, 0, 64),
which accepts upper-case base prefixes (`0X1F`, `0O17`, `0B1`); underscores are removed before any
number is parsed.
"""

from __future__ import annotations

import re

import yaml

_GO_BOOLS_AND_NULLS = frozenset(
    {
        "y",
        "Y",
        "yes",
        "Yes",
        "YES",
        "true",
        "True",
        "TRUE",
        "on",
        "On",
        "ON",
        "n",
        "N",
        "no",
        "No",
        "NO",
        "false",
        "False",
        "FALSE",
        "off",
        "Off",
        "OFF",
        "",
        "~",
        "null",
        "Null",
        "NULL",
        ".nan",
        ".NaN",
        ".NAN",
        ".inf",
        ".Inf",
        ".INF",
        "+.inf",
        "+.Inf",
        "+.INF",
        "-.inf",
        "-.Inf",
        "-.INF",
        "<<",
    }
)
_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_GO_DATE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$")


def go_yaml_v2_reads_string(text: str) -> bool:
    """Whether go-yaml v2's resolve() leaves a plain scalar a string (for the ASCII plain scalars
    the emitter may write: letters, digits, `_./-`)."""
    if text in _GO_BOOLS_AND_NULLS:
        return False
    if text[:1] in "0123456789+-" and text:
        if _GO_DATE.match(text):
            return False
        plain = text.replace("_", "")
        if _GO_INT.match(plain) or _GO_FLOAT.match(plain):
            return False
        if re.match(r"^-?0b[01]+$", plain):
            return False
    return not (text[:1] == "." and _GO_FLOAT.match(text))


def plain_strings(text: str) -> list[str]:
    """The unquoted scalars of a YAML stream that YAML 1.1 (PyYAML) reads as strings."""
    found: list[str] = []

    def walk(node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode):
            if not node.style and node.tag == "tag:yaml.org,2002:str":
                found.append(node.value)
        elif isinstance(node, yaml.SequenceNode):
            for child in node.value:
                walk(child)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(key)
                walk(value)

    for root in yaml.compose_all(text):
        walk(root)
    return found
