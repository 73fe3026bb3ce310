"""What the README states that the code decides: the commands table, editor schema paths, sync
waves."""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

import yaml

from compiler.render.context import SYNC_WAVE, WAVES
from llmops.cli.main import COMMANDS
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate, run_cli

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
SCHEMA = "schemas/manifest.schema.json"


def section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    level = title.split(" ")[0]
    following = re.search(rf"\n#{{1,{len(level)}}} ", README[start + len(title) + 2 :])
    return (
        README[start : start + len(title) + 2 + following.start()] if following else README[start:]
    )


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table in ``text``: its rows (header and separator included) split into
    cells."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.split("\n"), ""]:
        if line.startswith("|"):
            current.append(cells(line))
        elif current:
            found.append(current)
            current = []
    return found


def test_the_commands_table_is_one_table_with_every_command() -> None:
    (table, *others) = tables(section("## Commands"))
    assert others == [], "a blank line splits the commands table"
    header, separator, *rows = table
    assert header == ["command", "what it does"] and separator == ["---", "---"]
    assert all(len(row) == 2 for row in rows), [row[0] for row in rows if len(row) != 2]
    named = [re.match(r"`llmops ([a-z]+)", row[0]) for row in rows]
    documented = [
        match.group(1) if match else row[0] for match, row in zip(named, rows, strict=True)
    ]
    assert sorted(documented) == sorted(COMMANDS)


def test_every_commands_row_shows_its_options_and_arguments() -> None:
    """The synopsis in a command's row is what a user types from: every option the command takes
    (`-h/--help` and hidden ones aside) and every argument (its name, or one of its choices)
    appear in it."""
    import click

    from llmops.cli.main import cli

    (table, *_) = tables(section("## Commands"))
    synopses = {
        match.group(1): row[0]
        for row in table[2:]
        if (match := re.match(r"`llmops ([a-z]+)", row[0])) is not None
    }
    context = click.Context(cli)
    missing = {}
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None
        synopsis = synopses[name]
        absent = [
            param.opts[-1] if isinstance(param, click.Option) else param.human_readable_name
            for param in command.params
            if param.name != "help"
            and not getattr(param, "hidden", False)
            and not any(
                re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", synopsis)
                for opt in (
                    param.opts
                    if isinstance(param, click.Option)
                    else [param.human_readable_name, *getattr(param.type, "choices", ())]
                )
            )
        ]
        if absent:
            missing[name] = absent
    assert missing == {}


def test_the_schema_mapping_setting_covers_every_manifest() -> None:
    editor = section("### Editor support")
    setting = json.loads(re.search((r"```json\n(.*?)```"), editor, re.S).group(1))  # type: ignore[union-attr]
    ((schema, patterns),) = setting["yaml.schemas"].items()
    assert (PROJECT_ROOT / schema).resolve() == (PROJECT_ROOT / SCHEMA).resolve()
    assert (PROJECT_ROOT / SCHEMA).is_file()
    matched = {path for pattern in patterns for path in PROJECT_ROOT.glob(pattern)}
    manifests = {
        path
        for suffix in ("yaml", "yml")
        for path in (PROJECT_ROOT / "environments").rglob(f"*.{suffix}")
    }
    assert len(manifests) > 10
    assert matched == manifests


def test_every_modeline_resolves_to_the_schema_from_its_file() -> None:
    ((header, _, *rows),) = tables(section("### Editor support"))
    assert header == ["file", "modeline"]
    depths = set()
    for file_cell, modeline_cell in rows:
        file = file_cell.strip("`")
        modeline = modeline_cell.strip("`")
        assert modeline.startswith("# yaml-language-server: $schema=")
        relative = modeline.removeprefix("# yaml-language-server: $schema=")
        assert posixpath.normpath(posixpath.join(posixpath.dirname(file), relative)) == SCHEMA, file
        depths.add(file.count("/"))
    assert depths >= {2, 3}, "a file directly in an environment folder and one in a subfolder"
    assert (PROJECT_ROOT / SCHEMA).is_file()


def test_the_sync_waves_the_readme_states_are_the_rendered_ones(tmp_path: Path) -> None:
    flat = " ".join(README.split())
    stated_text = re.search((r"the Argo CD sync wave \((.*?):"), flat).group(1)  # type: ignore[union-attr]
    stated: dict[str, str] = {}
    for group in stated_text.split(";"):
        *kinds, wave = group.split()
        stated.update({kind.strip("`,"): wave for kind in kinds})
    assert stated == WAVES
    result = run_cli("render", str(copy_bundled_estate(tmp_path / "estate")))
    assert result.exit_code == 0, result.stderr
    objects = [
        (obj["kind"], obj["metadata"].get("annotations", {}).get(SYNC_WAVE))
        for obj in yaml.safe_load_all(result.stdout)
        if obj["kind"] not in ("AppProject", "Application")
    ]
    assert {kind for kind, _ in objects} >= {
        "Namespace",
        "ConfigMap",
        "Service",
        "Deployment",
        "InferenceService",
        "Ingress",
        "Job",
    }
    assert [(kind, wave) for kind, wave in objects if stated.get(kind) != wave] == []


def test_the_bundled_estates_audit_does_what_the_quickstart_says(tmp_path: Path) -> None:
    """A new user runs `llmops audit` on the bundled estate: the README must show what it gives
    (the approvals were committed by the repository's maintainers, not by their approvers)."""
    import git

    from tests.helpers.git_repo import commit_all, init_repository

    quickstart = section("## Quickstart")
    block = quickstart[quickstart.index("$ .venv/bin/llmops audit\n") :]
    shown = block[: block.index("```")].splitlines()[1:]
    root = copy_bundled_estate(tmp_path)
    maintainer = git.Actor("Estate Maintainer", "maintainer@example.org")
    commit_all(init_repository(root), "the bundled estate", author=maintainer)
    result = run_cli("audit", str(root))
    assert result.exit_code == 1
    assert "exit code 1" in quickstart
    out = result.stdout.splitlines()
    assert out[-1] == shown[-1]  # the summary line, as shown
    reported = [line for line in out if re.match(r"\S+:\d+:\d+: ", line)]
    listed = [line for line in shown if re.match(r"\S+:\d+:\d+: ", line)]
    assert len(reported) == len(listed)
    for line, pattern in zip(reported, listed, strict=True):
        head, _, tail = pattern.partition("committed in … by …")
        assert line.startswith(head) and line.endswith(tail), (line, pattern)


def test_a_command_taking_several_paths_says_so_in_its_usage_as_the_table_does() -> None:
    """`llmops conform PATH...` in the table; its --help said `PATH`, as if one were all."""
    (table, *_) = tables(section("## Commands"))
    assert any(row[0].startswith("`llmops conform PATH...") for row in table[2:])
    result = run_cli("conform", "--help")
    assert result.exit_code == 0
    assert "Usage: llmops conform [OPTIONS] PATH...\n" in result.stdout
