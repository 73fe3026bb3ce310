"""The command line as users and CI scripts rely on it: exit codes, streams, formats, colour."""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import pytest

from compiler.spec.schemas import generate_schemas
from tests.helpers.estate import (
    PROJECT_ROOT,
    CliResult,
    copy_bundled_estate,
    run_cli,
    validate,
    write_files,
)

ENDPOINT = "environments/dev/serving/example-model.yaml"


def test_errors_exit_1_with_compiler_style_text(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    path = root / ENDPOINT
    path.write_text(path.read_text().replace("maxReplicas: 3", "maxReplica: 3"))
    result = run_cli("validate", str(root), "--env", "dev")
    assert result.exit_code == 1
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"{ENDPOINT}:11:3: error[S001]: unknown field `maxReplica` in spec  (unknown-field)"
    )
    assert lines[1] == " 11 |   maxReplica: 3"
    assert lines[2] == "    |   ^^^^^^^^^^"
    assert lines[3] == "  hint: did you mean `maxReplicas`?"
    assert lines[-1] == "1 error (7 files, environments: dev)"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("validate", str(tmp_path)).exit_code == 2  # no environments/
    assert "not an llmops estate" in run_cli("validate", str(tmp_path)).stderr
    assert run_cli("validate", str(PROJECT_ROOT), "--env", "qa").exit_code == 2
    assert run_cli("validate", str(tmp_path / "nope")).exit_code == 2
    assert run_cli("validate", "--format", "yaml").exit_code == 2
    assert run_cli("frobnicate").exit_code == 2


def test_warnings_pass_unless_warnings_as_errors(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    experiment = root / "environments/_shared/prompts/support-templates.yaml"
    experiment.write_text(experiment.read_text().replace("  endpoint: example-model\n", ""))
    relaxed = run_cli("validate", str(root))
    assert relaxed.exit_code == 0
    assert "warning[X004]" in relaxed.stdout
    strict = run_cli("validate", str(root), "--warnings-as-errors")
    assert strict.exit_code == 1
    assert "error[X004]" in strict.stdout


def test_json_format_carries_positions_relative_to_the_repo(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    path = root / ENDPOINT
    path.write_text(path.read_text().replace("useGpu: false", "useGpu: true"))
    result = run_cli("validate", str(root), "--format", "json")
    assert result.exit_code == 1
    items = json.loads(result.stdout)["diagnostics"]
    gpu = [item for item in items if item["code"] == "E001"]
    assert gpu and gpu[0]["file"] == ENDPOINT
    assert {"code", "severity", "file", "line", "column", "message"} <= set(gpu[0])
    assert gpu[0]["line"] >= 1 and gpu[0]["column"] >= 1


def test_colour_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import io

    from llmops.reporting import use_color

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Terminal()) is True
    assert use_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(Terminal()) is False


def test_internal_errors_are_one_line_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    import llmops.cli.validate as validate_module

    def explode(*_args: object, **_keywords: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(validate_module, "validate_repository", explode)
    result = run_cli("validate", str(PROJECT_ROOT))
    assert result.exit_code == 3
    assert "Traceback" not in result.stderr
    assert "internal error (RuntimeError: boom)" in result.stderr


def test_commands_run_in_process_freeze_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """Only the `llmops` process freezes a command's imports: a test process running many
    commands must keep collecting what it frees."""
    from llmops.cli.main import main

    frozen = gc.get_freeze_count()
    assert main(["rules"]) == 0
    assert gc.get_freeze_count() == frozen


def test_the_llmops_process_freezes_the_imports_of_its_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`entrypoint` (the console script) resolves its command with the imports frozen as they
    finish; this test process itself is never frozen."""
    from llmops.cli import main as cli_main

    freezes: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append("freeze"))
    monkeypatch.setattr(cli_main, "_use_utf8_streams", lambda: None)
    monkeypatch.setattr(cli_main.cli, "freeze_imports", False)
    monkeypatch.setattr(sys, "argv", ["llmops", "rules"])

    def run_the_command() -> int:
        freezes.append("command resolved")
        cli_main.parse_arguments(["rules"])
        return 0

    monkeypatch.setattr(cli_main, "main", run_the_command)
    with pytest.raises(SystemExit) as stop:
        cli_main.entrypoint()
    assert stop.value.code == 0
    # frozen when `rules` was imported, and once more on the way out
    assert freezes == ["command resolved", "freeze", "freeze"]


def test_approval_is_voided_by_a_model_edit_and_restored_by_approve(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    model = root / "environments/_shared/catalog/example-base-model.yaml"
    model.write_text(
        model.read_text().replace(
            "s3://models/example-base-model/1.0/", "s3://models/other-weights/1.0/"
        )
    )
    codes = {d.code for d in validate(root, "dev").diagnostics}
    assert codes == {"P001", "P002"}
    result = run_cli(
        "approve",
        "example-base-model@1.0",
        "--env",
        "dev",
        "--by",
        "admin",
        "--role",
        "admin",
        str(root),
    )
    assert result.exit_code == 0
    # updated in place
    assert result.stdout.strip() == "environments/dev/approvals/example-base-model-1-0-admin.yaml"
    assert validate(root, "dev").diagnostics == []


def test_status_only_edit_keeps_the_approval(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    model = root / "environments/_shared/catalog/example-base-model.yaml"
    model.write_text(model.read_text().replace('"status": "draft"', '"status": "approved"'))
    assert validate(root).diagnostics == []


def test_approve_refuses_unknown_model_and_disallowed_role(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    unknown = run_cli(
        "approve", "nope@1", "--env", "dev", "--by", "a", "--role", "admin", str(root)
    )
    assert unknown.exit_code == 2 and "does not exist" in unknown.stderr
    unversioned = run_cli(
        "approve", "example-base-model", "--env", "dev", "--by", "a", "--role", "admin", str(root)
    )
    assert unversioned.exit_code == 2
    assert "model `example-base-model` needs a version" in unversioned.stderr
    assert "hint: llmops approve example-base-model@1.0 ..." in unversioned.stderr
    role = run_cli(
        "approve",
        "example-base-model@1.0",
        "--env",
        "prod",
        "--by",
        "a",
        "--role",
        "guest",
        str(root),
    )
    assert role.exit_code == 2 and "allowed roles: admin, ml-lead" in role.stderr


def test_two_approvers_needed_in_prod(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    next((root / "environments/prod/approvals").glob("*bob*")).unlink()
    messages = [d.message for d in validate(root, "prod").diagnostics]
    assert messages == [
        "Model/example-base-model@1.0 is not approved for environment `prod`: "
        "1 of 2 required approvals (alice)"
    ]


def test_init_creates_an_estate_that_validates(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "new"))
    assert result.exit_code == 0
    assert validate(tmp_path / "new").diagnostics == []
    assert run_cli("init", str(tmp_path / "new")).exit_code == 2  # never overwrites


def test_committed_schemas_are_in_sync_with_the_models() -> None:
    directory = PROJECT_ROOT / "schemas"
    from compiler.spec.field_reference import REFERENCE_FILE, generate_reference

    committed = {path.name: path.read_text(encoding="utf-8") for path in directory.iterdir()}
    assert committed == {**generate_schemas(), REFERENCE_FILE: generate_reference()}, (
        "schemas/ is stale: run `llmops schema`"
    )


def test_schema_check_detects_a_stale_file(tmp_path: Path) -> None:
    assert run_cli("schema", "--output", str(tmp_path)).exit_code == 0
    assert run_cli("schema", "--output", str(tmp_path), "--check").exit_code == 0
    (tmp_path / "model.schema.json").write_text("{}\n")
    stale = run_cli("schema", "--output", str(tmp_path), "--check")
    assert stale.exit_code == 1 and "model.schema.json: out of date" in stale.stderr
    (tmp_path / "model.schema.json").unlink()
    gone = run_cli("schema", "--output", str(tmp_path), "--check")
    assert gone.exit_code == 1 and "model.schema.json: missing" in gone.stderr


def test_schemas_accept_the_bundled_manifests() -> None:
    import jsonschema
    import yaml

    schema = json.loads((PROJECT_ROOT / "schemas/manifest.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    count = 0
    for path in sorted((PROJECT_ROOT / "environments").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            # PyYAML reads 2e-5 as a string (YAML 1.1); editors using the schema see JSON numbers.
            if document["kind"] == "TrainingJob":
                document["spec"]["trainJobSpec"]["hyperparameters"]["learning_rate"] = 2e-5
            errors = list(validator.iter_errors(document))
            assert errors == [], f"{path}: {errors[0].message}"
            count += 1
    assert count >= 12


def test_rules_table_in_readme_is_current() -> None:
    from llmops.cli.rules import README_BEGIN, README_END, rules_markdown

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert rules_markdown() in readme
    assert readme.count(README_BEGIN) == readme.count(README_END) == 1, "one table, marked once"


def test_rules_explains_one_rule() -> None:
    result = run_cli("rules", "p002")
    assert result.exit_code == 0
    assert result.stdout.startswith("P002 approval-digest-stale (error, approval)")
    assert run_cli("rules", "Z999").exit_code == 2


def test_rules_explains_the_codes_conform_reports() -> None:
    """`llmops conform` and `render --verify` report V codes: each is listed and explained like
    the estate's rules, by code and by name."""
    from llmops.conformance.codes import CONFORMANCE_RULES

    listed = run_cli("rules").stdout.splitlines()
    for rule in CONFORMANCE_RULES:
        assert any(line.startswith(f"{rule.code}  error    {rule.name} ") for line in listed)
        explained = run_cli("rules", rule.code.lower())
        assert explained.exit_code == 0
        assert explained.stdout.startswith(f"{rule.code} {rule.name} (error, schema)")
        assert rule.explanation in explained.stdout
        assert run_cli("rules", rule.name).stdout == explained.stdout


def test_rules_takes_the_name_a_diagnostic_shows_and_suggests_close_ones() -> None:
    assert run_cli("rules", "unknown-field").stdout == run_cli("rules", "S001").stdout
    misspelt = run_cli("rules", "unknwn-field")
    assert misspelt.exit_code == 2
    assert "no rule unknwn-field; did you mean `S001` (unknown-field)" in misspelt.stderr


def test_a_misspelt_command_is_answered_with_the_closest() -> None:
    result = run_cli("valdate")
    assert result.exit_code == 2
    assert "no such command 'valdate'; did you mean 'validate'?" in result.stderr
    assert "did you mean" not in run_cli("frobnicate").stderr


def test_an_environment_from_llmops_env_says_so_when_it_does_not_exist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMOPS_ENV", "prd")
    from_variable = run_cli("validate", str(PROJECT_ROOT))
    assert from_variable.exit_code == 2
    assert "environment `prd` does not exist" in from_variable.stderr
    assert "note: the environment came from LLMOPS_ENV=prd" in from_variable.stderr
    written = run_cli("validate", str(PROJECT_ROOT), "--env", "prd")
    assert written.exit_code == 2 and "LLMOPS_ENV" not in written.stderr


@pytest.mark.parametrize("output_format", ["text", "markdown", "json"])
def test_rules_code_shows_only_that_rule_in_every_format(output_format: str) -> None:
    from compiler.check.registry import ALL_RULES, RULES_BY_CODE
    from compiler.check.rule_docs import parse_rule_doc, rule_json

    rule = RULES_BY_CODE["P002"]
    doc = parse_rule_doc(rule.explanation)
    result = run_cli("rules", "P002", "--format", output_format)
    assert result.exit_code == 0, result.stderr
    assert [other.code for other in ALL_RULES if other.code in result.stdout] == ["P002"]
    if output_format == "json":
        assert json.loads(result.stdout) == [
            {
                "code": "P002",
                "name": rule.name,
                "severity": "error",
                "category": "approval",
                "summary": rule.summary,
                "explanation": rule.explanation,
                **rule_json(rule),
            }
        ]
    else:  # every section, with the examples' lines as written
        flat = " ".join(result.stdout.split())
        assert " ".join(doc.what.split()) in flat and " ".join(doc.why.split()) in flat
        for part in (*doc.wrong.parts, *doc.right.parts):
            assert part.head in result.stdout
            assert all(line.strip() in result.stdout for line in part.lines)
    if output_format == "markdown":
        assert result.stdout.startswith(
            f"### `P002` `approval-digest-stale`\n\n**error**, approval: {rule.summary}"
        )


def test_spec_accepts_the_original_payloads_verbatim(tmp_path: Path) -> None:
    """The exact JSON bodies of the original platform's POST requests, pasted into spec."""
    root = copy_bundled_estate(tmp_path)
    write_files(
        root,
        {
            "environments/dev/serving/original-body.yaml": """
        apiVersion: llmops.io/v1
        kind: ServingEndpoint
        metadata: {name: chat-model}
        spec: {
            "modelId": "example-base-model-1.0",
            "environment": "dev",
            "route": "/llm-ops/v1/serve/chat-model",
            "minReplicas": 1,
            "maxReplicas": 3,
            "autoscalePolicy": {"cpuUtilization": 70}
          }
        ---
        apiVersion: llmops.io/v1
        kind: PromptExperiment
        metadata: {name: concluded}
        spec: {"templateAId": "support-concise", "templateBId": "support-friendly",
               "allocation": 50, "metric": "latency_ms", "winnerTemplateId": "support-concise",
               "notes": "Template A가 더 낮은 지연시간을 보여주어 선택되었습니다."}
        """
        },
    )
    assert validate(root, "dev").diagnostics == []


@pytest.mark.parametrize(
    "argv",
    [
        [
            "approve",
            "example-base-model@1.0",
            "--env",
            "dev",
            "--by",
            "zoe",
            "--role",
            "admin",
            "--notes",
            "a\udc85b",
        ],
        ["chat", "example-model", "--env", "dev", "h\udcffi"],
        ["rules", "S0\udcff1"],
    ],
)
def test_text_that_is_not_utf8_is_a_usage_error_naming_it(tmp_path: Path, argv: list[str]) -> None:
    """Bytes that are not UTF-8 on the command line (a Latin-1 terminal) arrive as surrogate
    escapes: no file, commit or request can carry them. A path may hold them: the file system's."""
    estate = copy_bundled_estate(tmp_path / "estate")
    result = run_cli(*argv, str(estate)) if argv[0] == "approve" else run_cli(*argv)
    assert result.exit_code == 2, result.stderr
    assert "not UTF-8 text" in result.stderr
    assert "internal error" not in result.stderr
    written = {path.name for path in (estate / "environments" / "dev" / "approvals").iterdir()}
    assert written == {"example-base-model-1-0-admin.yaml"}  # nothing was written
    assert "env var" not in result.stderr  # typed, not taken from a variable


def test_an_environment_not_utf8_names_the_variable_only_when_it_came_from_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    typed = run_cli("validate", str(PROJECT_ROOT), "--env", "p\udcffrod")
    assert "invalid value for '--env': not UTF-8 text" in typed.stderr
    monkeypatch.setenv("LLMOPS_ENV", "p\udcffrod")
    inherited = run_cli("validate", str(PROJECT_ROOT))
    assert "invalid value for '--env' (env var: 'LLMOPS_ENV'): not UTF-8" in inherited.stderr


def approve_as(root: Path, approver: str) -> CliResult:
    return run_cli(
        *("approve", "example-base-model@1.0", "--env", "dev", "--by", approver),
        *("--role", "admin", str(root)),
    )


def test_two_approvers_whose_names_make_the_same_file_name_both_approve(tmp_path: Path) -> None:
    """`Zoë` and `Zoé` both make the label `zo`: the second approval was refused."""
    root = copy_bundled_estate(tmp_path)
    for approver in ("Zoë", "Zoé"):
        result = approve_as(root, approver)
        assert result.exit_code == 0, result.stderr
    written = sorted(path.name for path in (root / "environments/dev/approvals").iterdir())
    assert len(written) == 3 and "example-base-model-1-0-zo.yaml" in written
    assert run_cli("validate", str(root), "--env", "dev").exit_code == 0
    again = approve_as(root, "Zoé")
    assert again.exit_code == 0, again.stderr  # the same person's approval is updated in place
    assert sorted(path.name for path in (root / "environments/dev/approvals").iterdir()) == written


@pytest.mark.parametrize("written", ["1e3", "-1e-3", "+1e3", "0e0", "0o17", "1E3"])
def test_an_approver_or_note_yaml_12_reads_as_a_number_is_written_quoted(
    tmp_path: Path, written: str
) -> None:
    """PyYAML quotes by YAML 1.1's rules, where `1e3` is a string; llmops reads YAML 1.2, where it
    is a number: written plain, the approval broke the estate and every later `approve` in it."""
    import yaml

    root = copy_bundled_estate(tmp_path)
    result = run_cli(
        *("approve", "example-base-model@1.0", "--env", "dev", "--by", written),
        *("--role", "admin", "--notes", written, str(root)),
    )
    assert result.exit_code == 0, result.stderr
    assert run_cli("validate", str(root), "--env", "dev").exit_code == 0
    approvals = root / "environments/dev/approvals"
    mine = next(path for path in approvals.iterdir() if f"'{written}'" in path.read_text())
    spec = yaml.safe_load(mine.read_text())["spec"]
    assert spec["approvedBy"] == written and spec["notes"] == written
