"""YAML syntax errors in plain words, on the line the user has to change, with a hint that says how.

Each case is one mistake people make when editing a manifest by hand; the assertions pin the code,
the line and column, and the words of the message and hint a user reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.load.yaml_strict import parse_documents
from tests.helpers.estate import copy_bundled_estate, run_cli

ENDPOINT = """\
apiVersion: llmops.io/v1
kind: ServingEndpoint
metadata:
  name: example-model
spec:
  modelId: example-base-model-1.0
  route: /llm-ops/v1/serve/example-model
  deploymentSpec:
    resources:
      gpus: 0
      gpu_memory_gb: 80
    runtime:
      max_input_tokens: 4096
      max_output_tokens: 1024
"""


def edit(line: int, new: str, text: str = ENDPOINT) -> str:
    lines = text.split("\n")
    lines[line - 1] = new
    return "\n".join(lines)


def only_problem(text: str) -> tuple[str, int, int, str, str]:
    _, diagnostics = parse_documents("f.yaml", text)
    assert len(diagnostics) == 1, diagnostics
    (found,) = diagnostics
    assert found.hint is not None, found
    return found.code, found.span.line, found.span.column, found.message, found.hint


CASES: dict[str, tuple[str, tuple[str, int, int, str, str]]] = {
    # A first key dedented: libyaml stops on the next line (11:20), the mistake is line 10.
    "first key indented less than its siblings": (
        edit(10, "     gpus: 0"),
        (
            "Y001",
            10,
            6,
            "`gpus` is indented less than `gpu_memory_gb` on line 11 and the keys around it, so "
            "YAML reads line 11 as more of the value of `gpus`",
            "start `gpus` in column 7, like the keys around it",
        ),
    ),
    "key indented more than the key above it": (
        edit(11, "        gpu_memory_gb: 80"),
        (
            "Y001",
            11,
            9,
            "`gpu_memory_gb` is indented more than `gpus` on line 10, so YAML reads line 11 as "
            "more of the value of `gpus`",
            "start `gpu_memory_gb` in column 7, like `gpus`; to nest it under `gpus`, remove "
            "the value `0` after `gpus:`",
        ),
    ),
    "key between two levels": (
        edit(11, "     gpu_memory_gb: 80"),
        (
            "Y001",
            11,
            6,
            "`gpu_memory_gb` is indented less than `gpus` on line 10 and more than `resources` on "
            "line 9, so it lines up with neither",
            "keys of one mapping start in the same column: column 7 to sit beside "
            "`gpus`, column 5 to sit beside `resources`",
        ),
    ),
    "a key with a value written above the keys meant for it": (
        edit(5, "spec: {}"),
        (
            "Y001",
            5,
            1,
            "`spec` already has the value `{}` on line 5, so the keys indented below it cannot "
            "be its keys",
            "remove `{}` after `spec:` to give it the keys below",
        ),
    ),
    "a key with a quoted value above the keys meant for it": (
        edit(8, '  deploymentSpec: "cpu"  # for now'),
        (
            "Y001",
            9,
            5,
            "`resources` is indented more than `deploymentSpec` on line 8",
            "start `resources` in column 3, like `deploymentSpec`; to nest it under "
            '`deploymentSpec`, remove the value `"cpu"` after `deploymentSpec:`',
        ),
    ),
    "key dedented out of its block": (
        "spec:\n  modelId: m@1\nroute: /llm-ops/v1/serve/x\n  minReplicas: 1\n  maxReplicas: 2\n",
        (
            "Y001",
            3,
            1,
            "`route` is indented less than `minReplicas` on line 4 and the keys around it, so YAML "
            "reads line 4 as more of the value of `route`",
            "start `route` in column 3, like the keys around it",
        ),
    ),
    "first key of a block indented more than the keys after it": (
        edit(13, "        max_input_tokens: 4096"),
        (
            "Y001",
            13,
            9,
            "`max_input_tokens` is indented more than `max_output_tokens` on line 14 and the keys "
            "around it",
            "start `max_input_tokens` in column 7, like them",
        ),
    ),
    "top-level key indented": (
        edit(2, " kind: ServingEndpoint"),
        (
            "Y001",
            2,
            2,
            "`kind` is indented more than `apiVersion` on line 1, so YAML reads line 2 as more of "
            "the value of `apiVersion`",
            "start `kind` in column 1, like `apiVersion`; to nest it under `apiVersion`, "
            "remove the value `llmops.io/v1` after `apiVersion:`",
        ),
    ),
    "first top-level key indented": (
        edit(1, "  apiVersion: llmops.io/v1"),
        (
            "Y001",
            1,
            3,
            "`apiVersion` is indented, but the top-level keys of a manifest start in column 1",
            "remove the spaces before it",
        ),
    ),
    "no space after the colon, before a deeper line": (
        edit(10, "      gpus:0"),
        (
            "Y001",
            10,
            11,
            "`gpus:0` has no space after `:`, so YAML reads it as text, not as the key `gpus`",
            "write `gpus: 0`",
        ),
    ),
    "no space after the colon, before a shallower line": (
        edit(14, "      max_output_tokens:1024"),
        (
            "Y001",
            14,
            24,
            "`max_output_tokens:1024` has no space after `:`, so YAML reads it as text, not as the "
            "key `max_output_tokens`",
            "write `max_output_tokens: 1024`",
        ),
    ),
    "no space after the colon before a path": (
        edit(7, "  route:/llm-ops/v1/serve/example-model"),
        (
            "Y001",
            7,
            8,
            "`route:/llm-ops/v1/serve/example-model` has no space after `:`, so YAML reads it as "
            "text, not as the key `route`",
            "write `route: /llm-ops/v1/serve/example-model`",
        ),
    ),
    "key without a colon": (
        edit(7, "  route /llm-ops/v1/serve/example-model"),
        (
            "Y001",
            7,
            3,
            "`route /llm-ops/v1/serve/example-model` is not a `key: value` line: it has no `:`",
            "write `route: /llm-ops/v1/serve/example-model`; if the line continues the value "
            "above, indent it more than that key",
        ),
    ),
    "colon and space inside a value": (
        edit(7, "  route: /llm-ops/v1/serve/example-model: fast"),
        (
            "Y001",
            7,
            41,
            "the value of `route` contains `: `, which YAML reads as the start of another key",
            'quote the value: `route: "/llm-ops/v1/serve/example-model: fast"`',
        ),
    ),
    "list item indented less than the items above": (
        "spec:\n  items:\n    - a: 1\n  - b: 2\n",
        (
            "Y001",
            4,
            3,
            "this list item is indented less than the list item on line 3 (column 5)",
            "items of one list start in the same column: move the `-` to column 5",
        ),
    ),
    "list item indented more than the items above": (
        "spec:\n  items:\n  - a: 1\n  - b: 2\n   - c: 3\n",
        (
            "Y001",
            5,
            4,
            "this list item is indented more than the list item on line 4 (column 3)",
            "items of one list start in the same column: move the `-` to column 3",
        ),
    ),
    "list item among the keys of a mapping": (
        "spec:\n  a: 1\n  - b\n",
        (
            "Y001",
            3,
            3,
            "a list item cannot stand among the keys of a mapping",
            "a list is the value of a key: write `key:` on the line above the items and indent "
            "them under it",
        ),
    ),
    "key of a list item indented less than the item's first key": (
        "items:\n  - name: a\n   size: 1\n",
        (
            "Y001",
            3,
            4,
            "`size` is indented less than `name` on line 2 (column 5), so it is not part of that "
            "list item",
            "start it in column 5 to add it to the item on line 2, or write `- size: 1` in column "
            "3 for a new item",
        ),
    ),
    "key in the column of the list's dashes": (
        "items:\n  - name: a\n  size: 1\n",
        (
            "Y001",
            3,
            3,
            "`size` starts in the column of the list's items (column 3) but has no `-`",
            "write `- size: 1` for a new item, or start it in column 5 to add it to the item on "
            "line 2",
        ),
    ),
    "list item on the key's line": (
        "spec:\n  items: - a\n",
        (
            "Y001",
            2,
            10,
            "a list item cannot start on the same line as its key",
            "put each `- item` on a line of its own, indented under the key, or write the list as "
            "`[a, b]`",
        ),
    ),
    "double quote never closed": (
        edit(7, '  route: "/llm-ops/v1/serve/example-model'),
        (
            "Y001",
            7,
            10,
            'the `"` that opens this value is never closed',
            'add the closing `"`; write `\\"` for a double quote inside it',
        ),
    ),
    "single quote never closed": (
        edit(7, "  route: '/llm-ops/v1/serve/example-model"),
        (
            "Y001",
            7,
            10,
            "the `'` that opens this value is never closed",
            "add the closing `'`; write `''` for a single quote inside it",
        ),
    ),
    "quote closed by the next line's quote": (
        'spec:\n  a: "hello\n  b: "x"\n',
        (
            "Y001",
            2,
            6,
            'the value quoted with `"` here does not end on this line: it runs to the `"` on line '
            '3, and `x"` after that is left over',
            'close the quote on line 2; write `\\"` for a double quote inside it',
        ),
    ),
    "apostrophe inside single quotes": (
        "spec:\n  a: 'it's'\n",
        (
            "Y001",
            2,
            10,
            "`s'` follows the closing `'` of a quoted value",
            "put the whole value inside the quotes; write `''` for a single quote inside it",
        ),
    ),
    "bracket never closed": (
        "spec:\n  a: [1, 2\n  b: 2\n",
        ("Y001", 2, 6, "the `[` opened here is never closed", "add the closing `]`"),
    ),
    "brace never closed (a pasted JSON body)": (
        'spec: {"status": "approved"\n',
        ("Y001", 1, 7, "the `{` opened here is never closed", "add the closing `}`"),
    ),
    "comma missing in a pasted JSON body": (
        'spec: {\n  "name": "x",\n  "type": "base"\n  "ownerTeam": "ml"\n}\n',
        (
            "Y001",
            3,
            17,
            "a `,` is missing here, between two entries of the `{…}` that starts on line 1",
            "separate the entries with commas, and close the `{` with `}`",
        ),
    ),
    "bracket that closes nothing": (
        "spec:\n  a: [1, 2]]\n",
        (
            "Y001",
            2,
            12,
            "`]` closes nothing: no `[` is open here",
            "remove it, or add the `[` it was meant to close",
        ),
    ),
    "text block line indented less than the block's first line": (
        "spec:\n  template: |\n      first line\n    second line\n",
        (
            "Y001",
            4,
            5,
            "this line is indented less than the first line of the `|` text block (line 3, column "
            "7), so the block ends above it and YAML expects a key here",
            "indent every line of the block to at least column 7",
        ),
    ),
    "backslash escape in double quotes": (
        'spec:\n  path: "C:\\data"\n',
        (
            "Y001",
            2,
            12,
            "`\\d` is not an escape sequence YAML knows inside double quotes",
            "write `\\\\` for a backslash, or use single quotes, where a backslash is an ordinary "
            "character",
        ),
    ),
    "value starting with a reserved character": (
        "spec:\n  owner: @ml-team\n",
        (
            "Y001",
            2,
            10,
            "a value cannot start with `@` unless it is quoted",
            'quote the value: `"@ml-team"`',
        ),
    ),
    "tab used for indentation": (
        edit(10, "\t\t\tgpus: 0"),
        ("Y003", 10, 1, "a tab is used where YAML needs spaces", "indent with spaces only"),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_common_mistakes_are_explained_where_they_are(name: str) -> None:
    text, expected = CASES[name]
    assert only_problem(text) == expected


def test_both_keys_are_named_when_either_could_be_the_mistake() -> None:
    _, diagnostics = parse_documents("f.yaml", "spec:\n  a: 1\n   b: 2\n")
    (found,) = diagnostics
    assert (found.span.line, found.span.column) == (3, 4)
    assert found.message.startswith("`b` is indented more than `a` on line 2")
    _, diagnostics = parse_documents(
        "f.yaml", "spec:\n  resources:\n   gpus: 0\n     memory: 1\n  runtime: {}\n"
    )
    (found,) = diagnostics
    assert (found.code, found.span.line, found.span.column) == ("Y001", 3, 4)
    assert found.message == (
        "`gpus` (column 4) and `memory` on line 4 (column 6) are not lined up, so YAML reads "
        "line 4 as more of the value of `gpus`"
    )
    assert [(r.span.line, r.span.column, r.message) for r in found.related] == [
        (4, 6, "`memory` starts in column 6")
    ]


def test_an_unrecognised_syntax_error_keeps_libyaml_words_and_gets_a_hint() -> None:
    code, line, column, message, hint = only_problem("spec:\n  a: |x\n    b\n")
    assert (code, line, column) == ("Y001", 2, 7)
    assert message == "while scanning a block scalar, did not find expected comment or line break"
    assert hint == "check the indentation and quoting of this line and of the line above it"


def test_validate_points_at_the_dedented_line(tmp_path: Path) -> None:
    """The issue's case: a key dedented on line 22; libyaml gives up on line 23."""
    estate = copy_bundled_estate(tmp_path / "estate")
    path = estate / "environments" / "dev" / "serving" / "example-model.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[20:22] == ["      gpus: 0", "      gpu_memory_gb: 80"]
    lines[20] = "     gpus: 0"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = run_cli("validate", str(estate), "--env", "dev")
    assert result.exit_code == 1
    assert (
        "environments/dev/serving/example-model.yaml:21:6: error[Y001]: `gpus` is indented less "
        "than `gpu_memory_gb` on line 22 and the keys around it"
    ) in result.stdout
    assert "hint: start `gpus` in column 7, like the keys around it" in result.stdout
    assert "mapping values are not allowed" not in result.stdout


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [("k" * 1500 + ": 1\n", 1, 1), ("a:\n  " + "k" * 15_400 + ": 1\n", 2, 3)],
)
def test_a_key_longer_than_yaml_reads_is_named_as_too_long(
    text: str, line: int, column: int
) -> None:
    """libyaml reports a `:` in a value, or a key without one: the line has its `:`, too far."""
    code, found_line, found_column, message, hint = only_problem(text)
    assert (code, found_line, found_column) == ("Y001", line, column)
    assert message.startswith("this key is ") and "only up to 1,024 characters" in message
    assert hint == "shorten the key (a field's name is a few words)"


def test_a_key_without_its_space_before_a_comment_is_named_as_such() -> None:
    """With a comment after it, `gpus:0` was explained as the next key indented too far."""
    assert only_problem(edit(10, "      gpus:0    # one GPU")) == (
        "Y001",
        10,
        11,
        "`gpus:0` has no space after `:`, so YAML reads it as text, not as the key `gpus`",
        "write `gpus: 0`",
    )


def test_a_value_s_trailing_spaces_and_comment_are_not_part_of_the_hint() -> None:
    text = edit(14, "      max_output_tokens:1024    # the answer's share")
    code, line, column, message, hint = only_problem(text)
    assert (code, line, column, hint) == ("Y001", 14, 24, "write `max_output_tokens: 1024`")
    assert message.startswith("`max_output_tokens:1024` has no space after `:`")


_HOSTILE_LINES = (
    "a:b" + " " * 200_000 + "x",  # a lazy value before `\s*` backtracked over every space
    "a:b" + " " * 200_000 + "# c",
    "a:b" + " \t" * 100_000 + "x:",
    "a:" + "b:" * 100_000 + " c",
)


def test_syntax_explanations_take_linear_time_on_long_lines() -> None:
    """Each line, 200 KB, is explained well within the limit (it took 29 s at 40 KB when a
    regular expression backtracked quadratically; minutes here). Run in a process of its own, so
    a regression fails on the limit instead of hanging the suite."""
    import subprocess
    import sys

    program = (
        "import sys\n"
        "from compiler.load.yaml_strict import parse_documents\n"
        "for text in sys.stdin.read().split('\\0'):\n"
        "    parse_documents('f.yaml', text + '\\n  c: d\\n')\n"
    )
    subprocess.run(
        [sys.executable, "-c", program],
        input="\0".join(_HOSTILE_LINES),
        text=True,
        check=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[3],
    )
