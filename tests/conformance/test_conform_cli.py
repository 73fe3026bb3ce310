"""`llmops conform` and `llmops render --verify` as users and CI run them: output, exit codes,
missing extras."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.render.estate import render_estate
from llmops.cli.render import verify_rendered
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate, run_cli, validate, write_files

SAMPLES = PROJECT_ROOT / "conformance" / "samples"
BAD = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: llama3
spec:
  predictor:
    model:
      modelFromat: {name: huggingface}
"""


def test_conforming_files_and_directories_pass(tmp_path: Path) -> None:
    result = run_cli("conform", str(SAMPLES), str(SAMPLES / "hf_isvc.yaml"))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout == f"no problems ({len(list(SAMPLES.glob('*.yaml')))} files)\n"


def test_a_bad_object_is_reported_like_a_compiler_error(tmp_path: Path) -> None:
    write_files(tmp_path, {"out/isvc.yaml": BAD})
    result = run_cli("conform", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stdout == (
        f"{tmp_path.as_posix()}/out/isvc.yaml:8:7: "
        "error[V001]: InferenceService llama3: unknown field "
        '"modelFromat" in spec.predictor.model  (unknown-object-field)\n'
        " 8 |       modelFromat: {name: huggingface}\n"
        "   |       ^^^^^^^^^^^\n"
        "  hint: did you mean `modelFormat`?\n\n"
        "1 error (1 file)\n"
    )


def test_machine_formats_carry_the_code_and_position(tmp_path: Path) -> None:
    write_files(tmp_path, {"isvc.yaml": BAD})
    result = run_cli("conform", "--format", "json", str(tmp_path / "isvc.yaml"))
    assert result.exit_code == 1
    (diagnostic,) = json.loads(result.stdout)["diagnostics"]
    assert (diagnostic["code"], diagnostic["line"], diagnostic["column"]) == ("V001", 8, 7)
    github = run_cli("conform", "--format", "github", str(tmp_path / "isvc.yaml"))
    assert github.stdout.startswith(f"::error file={tmp_path.as_posix()}/isvc.yaml,line=8,col=7")


def test_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(BAD))
    result = run_cli("conform", "-")
    assert result.exit_code == 1 and result.stdout.startswith("<stdin>:8:7: error[V001]")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["conform", "missing.yaml"], "llmops: error: missing.yaml: no such file or directory\n"),
        (["conform", "empty"], "llmops: error: empty: no .yaml or .yml files in this directory\n"),
        (
            ["conform", "notes.yaml"],
            "llmops: error: no Kubernetes objects found in notes.yaml\n"
            "  hint: pass the rendered files, e.g. `llmops conform out/`\n",
        ),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.yaml").write_text("# nothing\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli(*argv)
    assert (result.exit_code, result.stderr) == (2, message)


def test_render_verify_accepts_the_bundled_estate(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    result = run_cli("render", "--verify", "-o", str(tmp_path / "out"), str(estate))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "verified: the API server would accept all 27 objects\n"


def test_render_verify_names_the_rendered_file_of_a_bad_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rendered = render_estate(validate(copy_bundled_estate(tmp_path)).estate, include_argocd=False)
    isvc = next(obj for obj in rendered.groups["dev"] if obj["kind"] == "InferenceService")
    isvc["spec"]["predictor"]["replicas"] = 2
    assert verify_rendered(rendered, "out", None) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "out/dev/serving.kserve.io_v1beta1_inferenceservice_example-model.yaml:54:5: error[V001]: "
        'InferenceService example-model: unknown field "replicas" in spec.predictor'
    )


def test_without_the_conform_extra_the_command_says_what_to_install(tmp_path: Path) -> None:
    """A base install (`make run`, the Docker image) has neither jsonschema nor
    kubernetes-validate."""
    write_files(tmp_path, {"isvc.yaml": BAD})
    blocked = (
        "import sys; sys.modules['jsonschema'] = None; sys.modules['kubernetes_validate'] = None; "
        "from llmops.cli.main import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", blocked, "conform", str(tmp_path / "isvc.yaml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert (
        "checking conformance needs the Python package 'jsonschema', which is not installed"
        in done.stderr
    )
    assert "`make extras`" in done.stderr and "-m pip install -e " in done.stderr
    assert "[conform]'" in done.stderr and "pip install 'llmops[" not in done.stderr


def test_the_readme_lists_every_conformance_code() -> None:
    from llmops.conformance.codes import CONFORMANCE_RULES

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert [
        rule.code
        for rule in CONFORMANCE_RULES
        if f"| `{rule.code}` | `{rule.name}` |" not in readme
    ] == []


def test_conformance_codes_are_apart_from_the_estate_rules() -> None:
    from compiler.check.registry import ALL_RULES
    from llmops.conformance.codes import CONFORMANCE_RULES

    ours = {rule.code for rule in CONFORMANCE_RULES} | {rule.name for rule in CONFORMANCE_RULES}
    assert ours & ({rule.code for rule in ALL_RULES} | {rule.name for rule in ALL_RULES}) == set()
