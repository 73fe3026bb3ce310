"""`spec.rules` in environment.yaml: severities and disabled rules, applied after the checks; locked
categories refuse to be weakened; unknown codes are diagnostics at the setting."""

from __future__ import annotations

from pathlib import Path

from tests.compiler.decide.helpers import append, codes_of, edit, fixture, text, validate_json
from tests.helpers.capacity_estate import environment_and_model
from tests.helpers.estate import run_cli, write_files

STG = "environments/stg/environment.yaml"


def severities(document: dict[str, object]) -> list[tuple[str, str]]:
    entries = document["diagnostics"]
    assert isinstance(entries, list)
    return [(entry["code"], entry["severity"]) for entry in entries]


def test_a_warning_raised_to_an_error_fails_validation(tmp_path: Path) -> None:
    root = fixture("C004", "bad", tmp_path)
    append(root, STG, "  rules:\n    severity:\n      C004: error\n")
    code, document = validate_json(root)
    assert (code, severities(document)) == (1, [("C004", "error")])


def test_a_disabled_rule_is_not_reported(tmp_path: Path) -> None:
    root = fixture("C002", "bad", tmp_path)
    append(root, "environments/prod/environment.yaml", "  rules:\n    disabled: [C002]\n")
    result = text(root)
    assert (result.exit_code, result.stdout) == (0, "no problems (4 files, environments: prod)\n")


def test_a_category_applies_to_its_rules_and_a_code_wins_over_it(tmp_path: Path) -> None:
    root = fixture("C004", "bad", tmp_path)
    append(root, STG, "  rules:\n    severity:\n      C004: info\n      capacity: error\n")
    assert severities(validate_json(root)[1]) == [("C004", "info")]
    root = fixture("C004", "bad", tmp_path / "category")
    append(root, STG, "  rules:\n    severity:\n      capacity: error\n")
    assert severities(validate_json(root)[1]) == [("C004", "error")]


def test_approval_rules_are_locked_by_default(tmp_path: Path) -> None:
    root = fixture("P001", "bad", tmp_path)
    write_files(
        root,
        {
            "environments/dev/environment.yaml": """
            apiVersion: llmops.io/v1
            kind: Environment
            metadata: {name: dev}
            spec:
              rules:
                severity:
                  P001: warning
                disabled: [P002, promotion]
            """
        },
    )
    code, document = validate_json(root)
    assert code == 1
    assert severities(document) == [
        ("L007", "error"),
        ("L007", "error"),
        ("L007", "error"),
        ("P001", "error"),
    ]
    messages = [entry["message"] for entry in document["diagnostics"][:3]]
    assert messages == [
        "`P001: warning` would lower P001, but category approval is locked in `dev`",
        "`P002` cannot be disabled in `dev`: category approval is locked",
        "`promotion` cannot be disabled in `dev`: category promotion is locked",
    ]
    places = [(entry["line"], entry["column"]) for entry in document["diagnostics"][:3]]
    assert places == [(7, 7), (8, 16), (8, 22)]


def test_raising_a_locked_rule_is_allowed(tmp_path: Path) -> None:
    root = fixture("P001", "bad", tmp_path)
    write_files(
        root,
        {
            "environments/dev/environment.yaml": """
            apiVersion: llmops.io/v1
            kind: Environment
            metadata: {name: dev}
            spec:
              rules:
                severity: {approval: error}
            """
        },
    )
    assert severities(validate_json(root)[1]) == [("P001", "error")]


def test_an_environment_may_unlock_a_category(tmp_path: Path) -> None:
    root = fixture("P001", "bad", tmp_path)
    write_files(
        root,
        {
            "environments/dev/environment.yaml": """
            apiVersion: llmops.io/v1
            kind: Environment
            metadata: {name: dev}
            spec:
              rules:
                locked: [promotion, audit]
                severity: {P001: warning}
            """
        },
    )
    code, document = validate_json(root)
    assert (code, severities(document)) == (0, [("P001", "warning")])


def test_what_llmops_must_read_is_locked_in_every_environment(tmp_path: Path) -> None:
    root = fixture("S001", "bad", tmp_path)
    write_files(
        root,
        {
            "environments/dev/environment.yaml": """
            apiVersion: llmops.io/v1
            kind: Environment
            metadata: {name: dev}
            spec:
              rules:
                locked: []
                disabled: [S001, reference]
            """
        },
    )
    code, document = validate_json(root)
    assert code == 1
    assert codes_of(document) == ["S001", "L007", "L007"]
    assert document["diagnostics"][1]["hint"] == (
        "these rules are locked in every environment: fix what they report instead"
    )


def test_unknown_codes_and_categories_are_diagnostics_with_a_suggestion(tmp_path: Path) -> None:
    root = fixture("C004", "good", tmp_path)
    append(
        root,
        STG,
        "  rules:\n    severity:\n      C044: error\n    disabled: [capacty]\n"
        "    locked: [approval, prmotion]\n",
    )
    code, document = validate_json(root)
    assert code == 1
    found = [
        (entry["code"], entry["line"], entry["column"], entry["message"], entry["hint"])
        for entry in document["diagnostics"]
    ]
    assert found == [
        ("L006", 11, 7, "`C044` is no rule code or category", "did you mean `C004`?"),
        ("L006", 12, 16, "`capacty` is no rule code or category", "did you mean `capacity`?"),
        ("L006", 13, 24, "`prmotion` is no category", "did you mean `promotion`?"),
    ]


def test_a_rule_both_disabled_and_given_a_severity_is_refused(tmp_path: Path) -> None:
    root = fixture("C004", "good", tmp_path)
    append(root, STG, "  rules:\n    severity: {C004: error}\n    disabled: [C004]\n")
    code, document = validate_json(root)
    assert (code, codes_of(document)) == (1, ["S005", "Y017"])
    assert document["diagnostics"][0]["message"] == (
        "spec.rules: a rule is either disabled or given a severity, not both: C004 (got a mapping)"
    )


def test_a_verdict_resting_on_an_assumption_is_not_raised_to_an_error(tmp_path: Path) -> None:
    """C006 on a 3B model without a dtype rests on the float32 llmops assumed: a warning, and
    `C006: error` does not make an assumption an error; `info` still lowers it."""
    files = environment_and_model("allowed: false", "parameters: 3B")
    endpoint = """
        apiVersion: llmops.io/v1
        kind: ServingEndpoint
        metadata: {name: e}
        spec:
          modelId: m@1.0
          route: /llm-ops/v1/serve/e
          deploymentSpec: {resources: {gpus: 0, memory: 8Gi}}
        """
    for wanted, expected in (("error", "warning"), ("info", "info")):
        root = write_files(tmp_path / wanted, {**files, "environments/stg/endpoint.yaml": endpoint})
        append(root, STG, f"  rules:\n    severity: {{C006: {wanted}}}\n")
        found = [s for s in severities(validate_json(root)[1]) if s[0] == "C006"]
        assert found == [("C006", expected)]


def _served_in_stg_and_qa(tmp_path: Path) -> Path:
    """The C004 endpoint and its model in `_shared`, served in stg and qa (both 24 GiB GPUs)."""
    root = fixture("C004", "bad", tmp_path)
    shared = root / "environments/_shared"
    shared.mkdir()
    for folder in ("serving", "catalog"):
        (root / "environments/stg" / folder).rename(shared / folder)
    qa = root / "environments/qa"
    (qa / "approvals").mkdir(parents=True)
    approval = "approvals/support-model-1-0-admin.yaml"
    (qa / approval).write_text((root / "environments/stg" / approval).read_text())
    (qa / "environment.yaml").write_text((root / STG).read_text().replace("name: stg", "name: qa"))
    return root


def test_a_shared_manifest_is_reported_where_an_environment_keeps_the_rule(
    tmp_path: Path,
) -> None:
    root = _served_in_stg_and_qa(tmp_path)
    assert severities(validate_json(root)[1]) == [("C004", "warning")]
    append(root, "environments/qa/environment.yaml", "  rules:\n    disabled: [C004]\n")
    assert severities(validate_json(root)[1]) == [("C004", "warning")]  # stg still reports it
    append(root, STG, "  rules:\n    disabled: [C004]\n")
    assert severities(validate_json(root)[1]) == []


def test_a_shared_manifest_takes_the_most_severe_environments_severity(tmp_path: Path) -> None:
    root = _served_in_stg_and_qa(tmp_path)
    append(root, "environments/qa/environment.yaml", "  rules:\n    severity: {C004: error}\n")
    append(root, STG, "  rules:\n    severity: {C004: info}\n")
    assert severities(validate_json(root)[1]) == [("C004", "error")]


def test_a_shared_suppression_of_a_rule_locked_in_one_environment_applies_in_the_other(
    tmp_path: Path,
) -> None:
    root = _served_in_stg_and_qa(tmp_path)
    edit(
        root,
        "environments/_shared/serving/support-chat.yaml",
        "max_concurrent_requests: 64",
        "max_concurrent_requests: 64  # llmops: ignore[C004] queue on purpose",
    )
    assert validate_json(root)[1]["summary"]["suppressed"] == 1
    append(root, "environments/qa/environment.yaml", "  rules:\n    locked: [capacity]\n")
    code, document = validate_json(root)
    assert code == 1
    assert severities(document) == [("C004", "warning"), ("L005", "error")]  # qa refuses it
    assert "cannot be suppressed in `qa`" in document["diagnostics"][1]["message"]


def test_checks_run_unaware_of_the_settings(tmp_path: Path) -> None:
    """Disabled rules still run: their findings are withheld afterwards (one validation with
    `--format json` sees the same checks either way), so a disabled rule cannot hide a crash."""
    root = fixture("C002", "bad", tmp_path)
    append(root, "environments/prod/environment.yaml", "  rules:\n    disabled: [C002]\n")
    from compiler.load.tree import DirectoryTree
    from compiler.pipeline import validate_repository

    result = validate_repository(DirectoryTree(root))
    assert result.diagnostics == []
    assert [found.diagnostic.code for found in result.found] == ["C002"]


def test_render_renders_an_estate_whose_only_errors_are_disabled(tmp_path: Path) -> None:
    root = fixture("C002", "bad", tmp_path)
    blocked = run_cli("render", str(root))
    assert blocked.exit_code == 1 and blocked.stdout == ""
    append(root, "environments/prod/environment.yaml", "  rules:\n    disabled: [C002]\n")
    rendered = run_cli("render", str(root))
    assert rendered.exit_code == 0 and "kind: InferenceService" in rendered.stdout
    edit(root, "environments/prod/environment.yaml", "disabled: [C002]", "severity: {C002: info}")
    assert "info[C002]" in run_cli("render", str(root)).stderr


def test_explain_says_when_the_settings_lowered_a_capacity_error(tmp_path: Path) -> None:
    root = fixture("C002", "bad", tmp_path)
    before = run_cli("explain", "big-chat", "--env", "prod", str(root))
    assert (before.exit_code, "verdict: will not start" in before.stdout) == (1, True)
    append(root, "environments/prod/environment.yaml", "  rules:\n    severity: {C002: warning}\n")
    after = run_cli("explain", "big-chat", "--env", "prod", str(root))
    assert after.exit_code == 0, after.stdout
    assert (
        "verdict: may not start: the environment's rule settings report a finding below error"
        in after.stdout
    )
