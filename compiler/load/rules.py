"""The loader's rules (code family Y): problems found while reading files and YAML."""

from __future__ import annotations

from compiler.diagnostics import Category, Rule, Severity

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def _loader_rule(code: str, name: str, severity: Severity, summary: str, explanation: str) -> Rule:
    return Rule(code, name, severity, summary, explanation, category=Category.SYNTAX)


YAML_SYNTAX = _loader_rule(
    "Y001",
    "yaml-syntax-error",
    E,
    "The file is not valid YAML.",
    "The message names the mistake in plain words (a key indented more or less than its "
    "siblings, no space after `:`, a list item at the wrong level, an unclosed quote or "
    "bracket) and points at the line to change. Nothing after it in the file was read.",
)
DUPLICATE_KEY = _loader_rule(
    "Y002",
    "duplicate-key",
    E,
    "A mapping has the same key twice.",
    "Most YAML tools keep the last value silently, so one of the two values is lost "
    "without notice. Remove or rename one of them.",
)
TAB_INDENTATION = _loader_rule(
    "Y003",
    "tab-indentation",
    E,
    "Tabs are used for indentation.",
    "YAML forbids tabs for indentation. Indent with spaces.",
)
UNKNOWN_TAG = _loader_rule(
    "Y004",
    "unknown-tag",
    E,
    "A node carries a YAML tag llmops does not accept.",
    "Tags such as !!python/object, !!binary, !!set or custom !tags make a file mean "
    "different things to different tools. Only the plain JSON-compatible types are accepted.",
)
ALIAS_BOMB = _loader_rule(
    "Y005",
    "alias-expansion-limit",
    E,
    "Aliases expand to too many values.",
    "Anchors and aliases can make a small file expand into billions of values (a YAML bomb). "
    "The expansion of each file is bounded; write the values out or reduce the aliasing.",
)
RECURSIVE_ALIAS = _loader_rule(
    "Y006",
    "recursive-alias",
    E,
    "An alias refers to a node that contains it.",
    "A recursive structure has no finite value and cannot be a manifest.",
)
FILE_TOO_LARGE = _loader_rule(
    "Y007",
    "file-too-large",
    E,
    "The file is larger than the size limit.",
    "Manifests are small; a file over the limit is almost always a mistake (a data file or "
    "a generated dump in the wrong folder). Split it or move it out of environments/.",
)
NOT_UTF8 = _loader_rule(
    "Y008",
    "not-utf8",
    E,
    "The file is not valid UTF-8.",
    "Manifests must be UTF-8 so that every tool reads the same characters.",
)
YAML11_BOOLEAN = _loader_rule(
    "Y009",
    "yaml11-boolean",
    E,
    "A plain yes/no/on/off is a boolean in YAML 1.1 but a string in YAML 1.2.",
    'llmops reads YAML 1.2, where `on` is the string "on"; PyYAML, older Kubernetes '
    "tooling and many editors read it as true. Write true/false, or quote the string.",
)
YAML11_NUMBER = _loader_rule(
    "Y010",
    "yaml11-number",
    W,
    "A plain scalar is a number in YAML 1.1 but something else in YAML 1.2.",
    "Leading-zero integers (0755: octal in 1.1, decimal in 1.2), underscores (1_000), "
    "sexagesimal (1:30) and 0b binary are read differently by YAML 1.1 tools. Quote the "
    "value or write it unambiguously.",
)
MERGE_KEY = _loader_rule(
    "Y011",
    "merge-key",
    E,
    "The YAML 1.1 merge key `<<` is used.",
    "Merge keys are not part of YAML 1.2 and tools disagree on them. Write the keys out.",
)
PATH_ESCAPES_REPO = _loader_rule(
    "Y012",
    "path-escapes-repo",
    E,
    "A file or link points outside the repository.",
    "Everything the compiler reads must be inside the repository, so that the same "
    "commit always compiles to the same output.",
)
NON_STRING_KEY = _loader_rule(
    "Y013",
    "non-string-key",
    E,
    "A mapping key is not a string.",
    "Manifest keys are field names. `1:`, `true:` or a complex key cannot be one; quote it "
    "if a string is meant.",
)
NOT_A_MAPPING = _loader_rule(
    "Y014",
    "document-not-mapping",
    E,
    "A YAML document is not a mapping.",
    "Every document must be a manifest: a mapping with apiVersion, kind, metadata and spec.",
)
UNREADABLE_FILE = _loader_rule(
    "Y015",
    "unreadable-file",
    E,
    "The file could not be read.",
    "The operating system refused to read the file (permissions, a broken link, a "
    "directory named like a manifest).",
)
TOO_DEEP = _loader_rule(
    "Y016",
    "nesting-too-deep",
    E,
    "Values are nested deeper than the limit.",
    "No manifest needs deep nesting; very deep input is a way to crash parsers.",
)
CHECKS_SKIPPED = _loader_rule(
    "Y017",
    "checks-skipped",
    INFO,
    "Checks were skipped because a file they depend on could not be read.",
    "A file that stops at a syntax error (or cannot be read, or holds a document "
    "whose kind or name is not valid) may define manifests other files refer to. "
    "Checks that conclude from absence (a reference to nothing, a model without "
    "approvals, an environment's settings) report nothing in the environments it "
    "belongs to rather than errors that may not be true; this note names them. Fix "
    "the file and every check reports again.",
)
NUMBER_TOO_LONG = _loader_rule(
    "Y018",
    "number-too-long",
    E,
    "An integer is written with more digits than the limit.",
    "No manifest field accepts a number anywhere near 100 digits; such a literal is a "
    "mistake or an attack (converting it costs time that grows with the square of its "
    "length). The document is not read further. Write the intended value.",
)
TAG_MISMATCH = _loader_rule(
    "Y019",
    "tag-mismatch",
    E,
    "A !!int, !!float, !!bool or !!null tag contradicts its value.",
    "`!!int abc` is not an integer: other YAML tools refuse it or read it differently, and "
    "llmops would otherwise keep the string. Remove the tag, or write a value of its type.",
)

LOADER_RULES: tuple[Rule, ...] = (
    YAML_SYNTAX,
    DUPLICATE_KEY,
    TAB_INDENTATION,
    UNKNOWN_TAG,
    ALIAS_BOMB,
    RECURSIVE_ALIAS,
    FILE_TOO_LARGE,
    NOT_UTF8,
    YAML11_BOOLEAN,
    YAML11_NUMBER,
    MERGE_KEY,
    PATH_ESCAPES_REPO,
    NON_STRING_KEY,
    NOT_A_MAPPING,
    UNREADABLE_FILE,
    TOO_DEEP,
    CHECKS_SKIPPED,
    NUMBER_TOO_LONG,
    TAG_MISMATCH,
)
