"""`# llmops: ignore[CODE] reason`: on a line, above a line, or at the top of a document; reported
as suppressed (never silently gone), refused without a reason or for a locked rule, and flagged
when unknown or unused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.compiler.decide.helpers import append, codes_of, edit, fixture, text, validate_json
from tests.helpers.estate import run_cli

SERVING = "environments/stg/serving/support-chat.yaml"  # C004 at line 17 (a warning)
LINE = "      max_concurrent_requests: 64"
BIG = "environments/prod/serving/big-chat.yaml"  # C002 at line 15 (an error)


def test_a_suppression_on_the_line_hides_the_diagnostic_and_counts_it(tmp_path: Path) -> None:
    root = fixture("C004", "bad", tmp_path)
    edit(root, SERVING, LINE, LINE + "  # llmops: ignore[C004] the queue is what we want here")
    result = text(root, "--warnings-as-errors")
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "no problems, 1 suppressed (4 files, environments: stg)\n"


def test_a_suppressed_error_does_not_fail(tmp_path: Path) -> None:
    root = fixture("C002", "bad", tmp_path)
    edit(root, BIG, "      gpus: 1", "      gpus: 1  # llmops: ignore[C002] -- a 4-bit build")
    code, document = validate_json(root)
    assert (code, codes_of(document), document["summary"]["suppressed"]) == (0, [], 1)
    (entry,) = document["suppressed"]
    assert (entry["code"], entry["severity"], entry["line"]) == ("C002", "error", 15)
    assert entry["suppression"] == {
        "kind": "inSource",
        "reason": "a 4-bit build",
        "file": BIG,
        "line": 15,
        "column": 16,
    }


def test_sarif_marks_the_result_suppressed_in_source_with_the_reason(tmp_path: Path) -> None:
    root = fixture("C002", "bad", tmp_path)
    edit(root, BIG, "      gpus: 1", "      gpus: 1  # llmops: ignore[C002] a 4-bit build")
    result = run_cli("validate", str(root), "--format", "sarif")
    assert result.exit_code == 0
    (run,) = json.loads(result.stdout)["runs"]
    (found,) = run["results"]
    assert found["ruleId"] == "C002" and found["level"] == "error"
    (suppression,) = found["suppressions"]
    assert suppression["kind"] == "inSource"
    assert suppression["justification"] == "a 4-bit build"
    region = suppression["location"]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (15, 16)
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["C002"]


def test_a_comment_on_its_own_line_covers_the_next_line(tmp_path: Path) -> None:
    root = fixture("C004", "bad", tmp_path)
    edit(root, SERVING, LINE, "      # llmops: ignore[C004] intended queue\n" + LINE)
    assert text(root).stdout == "no problems, 1 suppressed (4 files, environments: stg)\n"


def test_a_comment_at_the_top_of_a_document_covers_the_document(tmp_path: Path) -> None:
    root = fixture("C004", "bad", tmp_path)
    edit(root, SERVING, "apiVersion:", "# llmops: ignore[C004] load test endpoint\napiVersion:")
    assert text(root).stdout == "no problems, 1 suppressed (4 files, environments: stg)\n"


def test_a_document_suppression_covers_only_its_own_document(tmp_path: Path) -> None:
    root = fixture("C004", "bad", tmp_path)
    path = root / SERVING
    body = path.read_text(encoding="utf-8")
    template = "apiVersion: llmops.io/v1\nkind: PromptTemplate\nmetadata:\n  name: greeting\n"
    path.write_text(
        "# llmops: ignore[C004] on the template only\n" + template + "spec:\n  template: hi\n"
        "---\n" + body,
        encoding="utf-8",
    )
    code, document = validate_json(root)
    assert (code, codes_of(document)) == (0, ["L004", "C004"]), document
    unused = document["diagnostics"][0]
    assert (unused["line"], unused["column"]) == (1, 18)


def test_the_marker_inside_a_string_or_block_scalar_is_no_comment(tmp_path: Path) -> None:
    root = fixture("C004", "bad", tmp_path)
    edit(
        root,
        SERVING,
        "  name: support-chat",
        "  name: support-chat\n  annotations:\n"
        '    note: "# llmops: ignore[C004] quoted"\n    more: |\n'
        "      # llmops: ignore[C004] in a block\n",
    )
    edit(
        root, SERVING, LINE, LINE + "  # a plain comment: llmops: ignore[C004] is not at its start"
    )
    assert codes_of(validate_json(root)[1]) == ["C004"]


def test_no_reason_is_refused_and_suppresses_nothing(tmp_path: Path) -> None:
    root = fixture("C004", "bad", tmp_path)
    edit(root, SERVING, LINE, LINE + "  # llmops: ignore[C004]")
    result = text(root)
    assert result.exit_code == 1
    assert "17:36: error[L002]: the suppression gives no reason" in result.stdout
    assert "warning[C004]" in result.stdout


def test_an_unknown_code_is_an_error_at_the_code(tmp_path: Path) -> None:
    root = fixture("C004", "bad", tmp_path)
    edit(root, SERVING, LINE, LINE + "  # llmops: ignore[C004, c004x] intended queue")
    result = text(root)
    assert result.exit_code == 1
    assert "17:59: error[L003]: `c004x` is not a rule code" in result.stdout
    assert "hint: did you mean `C004`?" in result.stdout
    assert "1 suppressed" in result.stdout  # the known code still suppresses


def test_a_malformed_directive_is_an_error(tmp_path: Path) -> None:
    root = fixture("C004", "bad", tmp_path)
    edit(root, SERVING, LINE, LINE + "  # llmops: noqa C004")
    result = text(root)
    assert "17:36: error[L001]: `# llmops: noqa C004` is not a suppression" in result.stdout


def test_an_unused_suppression_is_a_warning(tmp_path: Path) -> None:
    root = fixture("C004", "good", tmp_path)
    edit(
        root,
        SERVING,
        "      max_concurrent_requests: 12",
        "      max_concurrent_requests: 12  # llmops: ignore[C004] intended queue",
    )
    result = text(root)
    assert result.exit_code == 0
    assert "17:53: warning[L004]: the suppression of C004 is unused" in result.stdout


def test_a_locked_rule_cannot_be_suppressed(tmp_path: Path) -> None:
    root = fixture("P001", "bad", tmp_path)
    path = "environments/dev/serving/support-chat.yaml"
    edit(
        root,
        path,
        "  modelId: support-model@1.0",
        "  modelId: support-model@1.0  # llmops: ignore[P001] approved by e-mail",
    )
    result = text(root)
    assert result.exit_code == 1
    assert "error[P001]" in result.stdout
    assert "error[L005]: P001 (approval) cannot be suppressed in `dev`" in result.stdout
    assert "suppressed (" not in result.stdout


def test_an_environment_that_unlocks_approvals_may_suppress_them(tmp_path: Path) -> None:
    root = fixture("P001", "bad", tmp_path)
    path = "environments/dev/serving/support-chat.yaml"
    edit(
        root,
        path,
        "  modelId: support-model@1.0",
        "  modelId: support-model@1.0  # llmops: ignore[P001] approved by e-mail",
    )
    (root / "environments/dev/environment.yaml").write_text(
        "apiVersion: llmops.io/v1\nkind: Environment\nmetadata:\n  name: dev\n"
        "spec:\n  rules:\n    locked: [promotion]\n",
        encoding="utf-8",
    )
    assert text(root).stdout == "no problems, 1 suppressed (3 files, environments: dev)\n"


def test_schema_rules_are_locked_everywhere(tmp_path: Path) -> None:
    root = fixture("S001", "bad", tmp_path)
    path = "environments/dev/catalog/support-model.yaml"
    edit(
        root,
        path,
        "  owner_team: ml-platform",
        "  owner_team: ml-platform  # llmops: ignore[S001] we like it this way",
    )
    (root / "environments/dev/environment.yaml").write_text(
        "apiVersion: llmops.io/v1\nkind: Environment\nmetadata:\n  name: dev\n"
        "spec:\n  rules:\n    locked: []\n",
        encoding="utf-8",
    )
    result = text(root)
    assert "error[S001]" in result.stdout
    assert "error[L005]: S001 (schema) cannot be suppressed in `dev`" in result.stdout


def _shared_endpoint(tmp_path: Path) -> Path:
    """The C004 endpoint in _shared, served by stg (where it queues) and dev (CPU-only: no C004)."""
    root = fixture("C004", "bad", tmp_path)
    shared = root / "environments/_shared/serving"
    shared.mkdir(parents=True)
    (root / SERVING).rename(shared / "support-chat.yaml")
    edit(
        root,
        "environments/_shared/serving/support-chat.yaml",
        LINE,
        LINE + "  # llmops: ignore[C004] intended queue",
    )
    return root


def test_a_shared_suppression_is_judged_only_when_every_environment_is_validated(
    tmp_path: Path,
) -> None:
    root = _shared_endpoint(tmp_path)
    (root / "environments/dev").mkdir()
    whole = text(root)
    assert "warning[L004]" not in whole.stdout and "1 suppressed" in whole.stdout, whole.stdout
    # dev alone never reports C004 for it, but stg (not validated) may: not judged unused
    only_dev = text(root, "--env", "dev")
    assert "L004" not in only_dev.stdout, only_dev.stdout


def test_an_audit_rule_suppression_is_not_judged_without_the_audit(tmp_path: Path) -> None:
    root = fixture("C004", "good", tmp_path)
    append(root, "environments/stg/environment.yaml", "  rules:\n    locked: [approval]\n")
    edit(
        root,
        "environments/stg/approvals/support-model-1-0-admin.yaml",
        "  role: admin",
        "  role: admin  # llmops: ignore[G004] edited on purpose",
    )
    result = text(root)
    assert result.stdout == "no problems (4 files, environments: stg)\n", result.stdout


def test_with_the_audit_an_audit_rule_suppression_is_used_or_judged_unused(
    tmp_path: Path,
) -> None:
    from tests.compiler.check.test_rule_fixtures import FIXTURES, materialize

    root = Path(materialize(FIXTURES / "G004" / "good", tmp_path)[0])  # committed and audited
    (root / "environments/prod/environment.yaml").write_text(
        "apiVersion: llmops.io/v1\nkind: Environment\nmetadata:\n  name: prod\n"
        "spec:\n  rules:\n    locked: [approval, promotion]\n",
        encoding="utf-8",
    )
    approval = "environments/prod/approvals/support-model-1-0-alice.yaml"
    edit(root, approval, "apiVersion:", "# llmops: ignore[G004] CI audits the commit\napiVersion:")
    unchanged = text(root, "--audit")  # a comment changes no value: the approval is as committed
    assert "warning[L004]: the suppression of G004 is unused" in unchanged.stdout
    append(root, approval, "  notes: edited after the commit\n")
    assert text(root).stdout == "no problems (4 files, environments: prod)\n"
    audited = text(root, "--audit")
    assert audited.stdout == "no problems, 1 suppressed (4 files, environments: prod)\n"


def test_a_suppression_in_a_file_that_fails_its_schema_is_not_judged_unused(
    tmp_path: Path,
) -> None:
    """A misspelt field makes the endpoint invalid, so C004 cannot be checked: its suppression is
    not 'unused', the schema error is what needs fixing."""
    root = fixture("C004", "bad", tmp_path)
    edit(root, SERVING, LINE, LINE + "  # llmops: ignore[C004] intended queue")
    edit(root, SERVING, "  minReplicas: 1", "  minReplica: 1")
    code, document = validate_json(root)
    assert (code, codes_of(document)) == (1, ["S001"])


def test_each_diagnostic_looks_up_only_the_suppressions_of_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Going through every suppression of a file for each diagnostic took 69 s for 20,000
    suppressions and 10,000 diagnostics; a suppression of another line is not looked at."""
    from compiler.check.registry import CHECKS
    from compiler.decide.suppressions import Suppression, read_suppressions
    from compiler.diagnostics import Span

    known = {check.rule.code: check.rule for check in CHECKS}
    lines = "".join(
        f"  k{index}: 1  # llmops: ignore[X004] reason {index}\n" for index in range(2000)
    )
    file = "environments/dev/x.yaml"
    found, problems = read_suppressions(file, f"spec:\n{lines}", known)
    assert found is not None and problems == [] and len(found.suppressions) == 2000
    asked = [0]
    covers = Suppression.covers

    def counted(self: Suppression, code: str) -> bool:
        asked[0] += 1
        return covers(self, code)

    monkeypatch.setattr(Suppression, "covers", counted)
    document = Span(file, 1, 1, 1, 1)
    for line in range(2, 2002):
        assert found.matching("X004", Span(file, line, 3, line, 5), document) is not None
        assert found.matching("X003", Span(file, line, 3, line, 5), document) is None
    assert asked[0] == 2 * 2000
