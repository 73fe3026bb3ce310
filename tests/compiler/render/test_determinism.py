"""Rendering is deterministic: the same estate gives byte-identical output, whatever the process.

(a) twice in one process; (b) in fresh interpreters with different PYTHONHASHSEED values (set and
dict iteration orders of strings change with it) and a non-UTF-8 locale; (c) from another working
directory, with the estate given explicitly, and from inside the estate without the REPO argument;
(d) the order files are listed in on disk cannot be controlled portably (copies written in reverse
order are tried, nothing more); (e) from a copy of the estate in another directory (the paths in
annotations are repository-relative). `llmops cmp generate` (what Argo CD applies) prints exactly
what `llmops render --env` prints.

The estate is the bundled one plus non-ASCII text (Korean, emoji, a line separator) in rendered
places, so that byte-level encoding differences would show.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.emit.yaml_text import emit_stream
from compiler.render.estate import render_estate
from llmops.cli.render import output_plan
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate, run_cli, validate, write_files

UNICODE_TEMPLATE = """\
    apiVersion: llmops.io/v1
    kind: PromptTemplate
    metadata:
      name: support-korean
      annotations:
        example.com/owner: "고객지원팀 😀"
    spec:
      version: "2"
      description: 한국어 안내
      template: "당신은 {{ company }}의 상담원입니다.\\n줄\\u2028구분\\n"
      variables:
        company: 예시 회사
    """


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_bundled_estate(tmp_path_factory.mktemp("determinism") / "estate")
    write_files(root, {"environments/_shared/prompts/korean.yaml": UNICODE_TEMPLATE})
    assert validate(root).error_count == 0
    return root


def render_text(root: Path, env: str | None = None) -> str:
    result = validate(root, env)
    assert result.error_count == 0
    rendered = render_estate(result.estate, include_argocd=env is None)
    return "".join(emit_stream(objects) for objects in rendered.groups.values())


def run_llmops(*argv: str, cwd: Path, **environment: str) -> bytes:
    """`llmops ARGV` in a fresh interpreter; stdout as bytes."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONHASHSEED", "PYTHONIOENCODING")
    }
    env.update({"PYTHONPATH": str(PROJECT_ROOT), "NO_COLOR": "1", **environment})
    completed = subprocess.run(
        [sys.executable, "-m", "llmops.cli.main", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    return completed.stdout


@pytest.fixture(scope="module")
def expected(estate: Path) -> bytes:
    return render_text(estate).encode("utf-8")


def test_twice_in_process_is_identical(estate: Path, expected: bytes) -> None:
    assert (
        "당신은 {{ company }}의 상담원입니다.".encode() in expected
    )  # non-ASCII text is really rendered
    assert render_text(estate).encode("utf-8") == expected
    first = output_plan(render_estate(validate(estate).estate))
    second = output_plan(render_estate(validate(estate).estate))
    assert first.files == second.files and list(first.files) == list(second.files)
    assert run_cli("render", str(estate)).stdout.encode("utf-8") == expected


@pytest.mark.slow
@pytest.mark.parametrize("seed", ["0", "1", "12345", str(random.SystemRandom().randrange(2**32))])
def test_hash_seed_does_not_change_the_output(
    estate: Path, expected: bytes, seed: str, tmp_path: Path
) -> None:
    assert run_llmops("render", str(estate), cwd=tmp_path, PYTHONHASHSEED=seed) == expected


@pytest.mark.slow
def test_a_non_utf8_locale_does_not_change_the_bytes(
    estate: Path, expected: bytes, tmp_path: Path
) -> None:
    assert (
        run_llmops(
            "render",
            str(estate),
            cwd=tmp_path,
            LC_ALL="C",
            LANG="C",
            PYTHONUTF8="0",
            PYTHONHASHSEED="7",
        )
        == expected
    )


@pytest.mark.slow
def test_working_directory_and_repo_argument_do_not_matter(
    estate: Path, expected: bytes, tmp_path: Path
) -> None:
    assert run_llmops("render", cwd=estate) == expected  # no REPO: the estate is found from the cwd
    assert run_llmops("render", cwd=estate / "environments" / "dev") == expected  # found upward
    assert run_llmops("render", ".", cwd=estate) == expected
    relative = os.path.relpath(estate, tmp_path)
    assert run_llmops("render", relative, cwd=tmp_path) == expected
    assert run_llmops("render", str(estate), cwd=PROJECT_ROOT) == expected


def test_a_copy_elsewhere_renders_identically(
    estate: Path, expected: bytes, tmp_path: Path
) -> None:
    copy = tmp_path / "somewhere" / "else" / "entirely"
    shutil.copytree(estate, copy)
    assert render_text(copy).encode("utf-8") == expected
    assert (
        output_plan(render_estate(validate(copy).estate)).files
        == output_plan(render_estate(validate(estate).estate)).files
    )
    assert str(tmp_path) not in expected.decode("utf-8") and str(estate) not in expected.decode(
        "utf-8"
    )


def test_files_written_in_another_order_render_identically(
    estate: Path, expected: bytes, tmp_path: Path
) -> None:
    """Only best effort: what the directory listing returns is up to the file system."""
    copy = tmp_path / "reversed"
    files = sorted(path for path in estate.rglob("*") if path.is_file())
    for path in reversed(files):
        target = copy / path.relative_to(estate)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    assert render_text(copy).encode("utf-8") == expected


@pytest.mark.slow
@pytest.mark.parametrize("env", ["dev", "stg", "prod"])
def test_argocd_plugin_generates_exactly_what_render_prints(estate: Path, env: str) -> None:
    rendered = run_llmops("render", "--env", env, cwd=estate)
    assert rendered == render_text(estate, env).encode("utf-8")
    assert (
        run_llmops("cmp", "generate", cwd=estate, ARGOCD_ENV_LLMOPS_ENV=env, PYTHONHASHSEED="3")
        == rendered
    )
