"""Text from users (manifest keys and values, file names, commit subjects, cluster messages) never
reaches a terminal or a commit message with its control characters: one helper escapes them, and
every text output is checked with hostile strings (property-based) for raw control characters, the
only escape sequences allowed being the colours llmops paints itself."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import git
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.diagnostics import Diagnostic, Related, Severity, Span
from compiler.diff.changes import EnvironmentSummary, EstateDiff, FieldChange, ObjectChange
from compiler.diff.formats import format_markdown, format_text
from compiler.printable import escape_controls, has_controls
from compiler.report.base import ReportContext
from compiler.report.text import format_report
from llmops.status.model import (
    ApplicationStatus,
    Difference,
    EndpointStatus,
    EnvironmentStatus,
    ObjectRef,
    StatusReport,
    TrainingJobStatus,
    Verdict,
)
from llmops.status.output import format_table
from tests.helpers.estate import run_cli, write_files
from tests.helpers.git_repo import commit_all, git_cli, root_of

SEQUENCES = [
    "\x1b[2J",
    "\x1b[H",
    "\x1b]52;c;aGk=\x07",
    "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
    "\x9b31m",
    "\x1b[31m",
    "\r",
    "\x08\x08",
    "\x07",
    "\x00",
    "\x7f",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ufeff",
    "\u2028",
    "\x85",
    "\x1bc",
    "\n",
    "\t",
]
CONTROL_CHARS = st.characters(categories=["Cc", "Cf", "Zl", "Zp"])
HOSTILE = st.one_of(
    st.sampled_from(SEQUENCES),
    st.lists(
        st.one_of(
            st.sampled_from(SEQUENCES), st.text(max_size=4), st.text(CONTROL_CHARS, max_size=3)
        ),
        min_size=1,
        max_size=6,
    ).map("".join),
)
OUR_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def assert_no_controls(text: str, *, colours: bool = False) -> None:
    """No raw control or invisible formatting character but newline and tab (and, with `colours`,
    the SGR colour codes llmops paints)."""
    if colours:
        text = OUR_COLOURS.sub("", text)
    bad = {char for char in text if char not in "\n\t" and has_controls(char)}
    assert not bad, f"raw control characters reach the output: {sorted(map(hex, map(ord, bad)))}"


@given(st.text())
def test_the_helper_leaves_nothing_raw_and_keeps_the_rest(text: str) -> None:
    escaped = escape_controls(text)
    assert not has_controls(escaped)
    assert escape_controls(escaped) == escaped
    kept = escape_controls(text, keep_newlines=True)
    assert kept.count("\n") == text.count("\n") and not has_controls(kept.replace("\n", ""))
    if not has_controls(text):
        assert escaped == text
    for char in text:  # every C0/C1 control, bidi control and separator counts as control
        if unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs") and char != "\t":
            assert has_controls(char)


def test_a_file_name_s_bytes_that_are_not_utf8_are_shown_as_escapes() -> None:
    """Python carries them as lone surrogates; printed raw they are those bytes on the terminal."""
    name = b"b\xffd.yaml".decode("utf-8", "surrogateescape")
    assert escape_controls(name) == "b\\udcffd.yaml"
    assert escape_controls(name).encode("utf-8")  # printable by any UTF-8 writer


@settings(max_examples=200)
@given(HOSTILE, HOSTILE, HOSTILE, HOSTILE, st.booleans())
def test_the_text_report_escapes_every_field(
    message: str, hint: str, file: str, source: str, colour: bool
) -> None:
    diagnostic = Diagnostic(
        "S001",
        "unknown-field",
        Severity.ERROR,
        message,
        Span(file, 1, 2, 1, 5),
        hint=hint,
        related=(Related(Span(file, 1, 1), message),),
    )
    context = ReportContext(
        sources={file: source}, files_checked=1, environments=(file,), color=colour
    )
    assert_no_controls(format_report([diagnostic], context), colours=colour)


@settings(max_examples=200)
@given(HOSTILE, HOSTILE, HOSTILE)
def test_diff_text_and_markdown_escape_names_and_values(name: str, value: str, path: str) -> None:
    change = ObjectChange(
        name, "v1", "ConfigMap", name, name, "changed", (FieldChange(path, value, {"k": value}),)
    )
    summary = EnvironmentSummary(
        name,
        endpoints_added=(name,),
        models_changed=((name, value, value),),
        approvals_added=(value,),
    )
    diff = EstateDiff(changes=[change], summaries=[summary])
    assert_no_controls(format_text(diff))
    assert_no_controls(format_markdown(diff))


@settings(max_examples=200)
@given(HOSTILE, HOSTILE, st.booleans())
def test_the_status_table_escapes_names_and_cluster_messages(
    name: str, message: str, colour: bool
) -> None:
    ref = ObjectRef("v1", "Thing", name, name)
    endpoint = EndpointStatus(
        name,
        ref,
        Verdict.DEGRADED,
        message,
        url=message,
        drift=[Difference(message, message, message, True)],
    )
    job = TrainingJobStatus(name, ref, Verdict.DEGRADED, message, state=message)
    app = ApplicationStatus(
        ref,
        Verdict.DEGRADED,
        message,
        sync=message,
        health=message,
        revision=message,
        operation=message,
    )
    report = StatusReport([EnvironmentStatus(name, name, app, [endpoint], [job])])
    assert_no_controls(format_table(report, colour=colour), colours=colour)


# -- through the CLI, on a real repository
# --------------------------------------------------------------

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
SUBJECTS = [
    "clear \x1b[2J\x1b[H screen",
    "bidi \u202eevil\u202c",
    "osc \x1b]52;c;aGk=\x07 clip",
    "c1 \x9b2J x",
    "bell \x07 and del \x7f",
]


def commit_with_git(root: Path, message: str) -> str:
    git_cli(root, "commit", "-q", "-a", "-m", message)
    return git_cli(root, "rev-parse", "HEAD").stdout.strip()


@pytest.mark.parametrize("subject", SUBJECTS)
def test_history_rollback_and_their_commit_messages_escape_subjects(
    repo: git.Repo, subject: str
) -> None:
    root = root_of(repo)
    path = root / DEV_ENDPOINT
    path.write_text(path.read_text().replace("maxReplicas: 3", "maxReplicas: 5"), encoding="utf-8")
    commit_with_git(root, subject)
    outputs = [
        run_cli("history", "example-model", "--env", "dev", str(root)),
        run_cli("rollback", "example-model", "--env", "dev", str(root), "--dry-run"),
    ]
    rolled = run_cli("rollback", "example-model", "--env", "dev", str(root))
    assert rolled.exit_code == 0, rolled.stderr
    outputs += [rolled, run_cli("history", "example-model", "--env", "dev", str(root))]
    for result in outputs:
        assert result.exit_code == 0, result.stderr
        assert_no_controls(result.stdout + result.stderr)
    message = git_cli(root, "log", "-1", "--format=%B").stdout
    assert_no_controls(message)
    assert escape_controls(subject) in message


def test_validate_escapes_manifest_keys_and_values(repo: git.Repo) -> None:
    root = root_of(repo)
    path = root / DEV_ENDPOINT
    key = '  "x\\e[2J\\e]52;c;aGk=\\a": 1\n'
    path.write_text(
        path.read_text().replace("  maxReplicas: 3\n", "  maxReplicas: 3\n" + key), encoding="utf-8"
    )
    result = run_cli("validate", str(root), "--env", "dev")
    assert result.exit_code == 1 and "[S001]" in result.stdout
    assert_no_controls(result.stdout + result.stderr)
    assert "x\\x1b[2J\\x1b]52;c;aGk=\\x07" in result.stdout


def test_diff_escapes_manifest_values(repo: git.Repo) -> None:
    root = root_of(repo)
    path = root / DEV_ENDPOINT
    note = '    example.com/note: "a\\e[2J\\u202eb\\x9b2J"\n'
    path.write_text(
        path.read_text().replace(
            "metadata:\n  name: example-model\n",
            f"metadata:\n  name: example-model\n  annotations:\n{note}",
        ),
        encoding="utf-8",
    )
    for output_format in ("text", "markdown"):
        diff = run_cli("diff", str(root), "--base", "HEAD", "--format", output_format)
        assert diff.exit_code == 1 and "example.com/note" in diff.stdout, diff.stderr
        assert_no_controls(diff.stdout + diff.stderr)


def test_promote_escapes_file_names_in_its_output_and_commit(repo: git.Repo) -> None:
    root = root_of(repo)
    text = (
        (root / DEV_ENDPOINT)
        .read_text()
        .replace("name: example-model", "name: chat")
        .replace("/serve/example-model", "/serve/chat")
    )
    write_files(root, {"environments/dev/serving/chat\x1b[2J\u202e.yaml": text})
    commit_all(repo, "dev: chat")
    promoted = run_cli("promote", "chat", "--from", "dev", "--to", "stg", str(root))
    assert promoted.exit_code == 0, promoted.stderr
    assert "environments/stg/serving/chat\\x1b[2J\\u202e.yaml: endpoint copied" in promoted.stdout
    assert_no_controls(promoted.stdout + promoted.stderr)
    assert_no_controls(git_cli(root, "log", "-1", "--format=%B", "promote/chat-dev-to-stg").stdout)


def test_markdown_values_write_no_markdown_of_their_own() -> None:
    """An approver's id became a link in the pull request comment, and a value holding ``` ended
    the code block and went on as markdown."""
    fence_breaker = "x\n```\n# heading [link](http://evil.example) @team"
    change = ObjectChange(
        "dev",
        "v1",
        "ConfigMap",
        "llm-ops-dev",
        "c",
        "changed",
        (FieldChange("data.x", "a", fence_breaker),),
    )
    summary = EnvironmentSummary("dev", approvals_added=("x[l](http://e.example) @everyone",))
    text = format_markdown(EstateDiff(changes=[change], summaries=[summary]))
    assert "](http://e.example)" not in text and "\\[l\\]\\(http" in text
    assert "\\@everyone" in text
    opening = next(
        line for line in text.splitlines() if line.endswith("diff") and line.startswith("```")
    )
    fence = opening.removesuffix("diff")
    assert len(fence) > 3
    body = text.split(opening, 1)[1]
    assert body.index(f"\n{fence}\n") > body.index("heading")  # the value stays inside the block
