"""`llmops render`: validated manifests to Kubernetes objects, on stdout or as files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler.diagnostics import Severity
from compiler.emit.layout import layout_group
from compiler.emit.yaml_text import emit_stream
from compiler.load.tree import DirectoryTree
from compiler.pipeline import ValidationResult, collector_paused, validate_repository
from compiler.printable import escape_controls
from compiler.render.estate import RenderedEstate, render_estate
from llmops.cli import exit_codes, options
from llmops.estate import find_estate_root
from llmops.render_output import OutputPlan, compare_output, write_output
from llmops.render_record import read_record, refuse_estate_folders
from llmops.reporting import print_report


def validated_render(
    repo: str | None, env: str | None
) -> tuple[ValidationResult, RenderedEstate | None]:
    """Validate first; render only an estate without errors. Diagnostics go to stderr (stdout is
    output)."""
    result = validate_repository(DirectoryTree(find_estate_root(repo)), env)
    if result.diagnostics:
        print_report(result.diagnostics, result, "text", sys.stderr)
    if any(d.severity is Severity.ERROR for d in result.diagnostics):
        return result, None
    return result, render_estate(result.estate, include_argocd=env is None)


def output_plan(rendered: RenderedEstate) -> OutputPlan:
    plan = OutputPlan(directories=list(rendered.groups))
    for group, objects in rendered.groups.items():
        for name, text in layout_group(objects).items():
            plan.files[f"{group}/{name}"] = text
    return plan


def render(
    *,
    repo: str | None,
    env: str | None,
    output: str | None,
    check: bool,
    verify: bool,
    kubernetes_version: str | None,
) -> int:
    # see there: rendering, too, only allocates what it keeps or frees at once
    with collector_paused():
        rendered = _render(repo, env, output, check)
    if rendered is None or not verify:
        return exit_codes.FAILED if rendered is None else rendered[0]
    return max(rendered[0], verify_rendered(rendered[1], output, kubernetes_version))


def verify_rendered(
    rendered: RenderedEstate, output: str | None, kubernetes_version: str | None
) -> int:
    """`--verify`: check the rendered files (named as -o names them) as `llmops conform` would;
    report on stderr."""
    from llmops.cli.conform import check_texts, report, verdict

    prefix = Path(output) if output else Path()
    texts = {(prefix / name).as_posix(): text for name, text in output_plan(rendered).files.items()}
    objects, diagnostics = check_texts(texts, kubernetes_version)
    if diagnostics:
        report(diagnostics, texts, "text", sys.stderr)
    else:
        print(f"verified: the API server would accept all {objects} objects", file=sys.stderr)
    return verdict(diagnostics)


def _render(
    repo: str | None, env: str | None, output: str | None, check: bool
) -> tuple[int, RenderedEstate] | None:
    _, rendered = validated_render(repo, env)
    if rendered is None:
        return None
    return _emit(rendered, repo, output, check), rendered


def _emit(rendered: RenderedEstate, repo: str | None, output: str | None, check: bool) -> int:
    if output is None:
        if check:
            print("llmops: --check needs -o DIR (the directory to compare)", file=sys.stderr)
            return exit_codes.USAGE
        sys.stdout.write("".join(emit_stream(objects) for objects in rendered.groups.values()))
        return exit_codes.OK
    root = Path(output)
    plan = output_plan(rendered)
    if check:
        difference = compare_output(root, plan)
        for label, paths in (
            ("differs", difference.changed),
            ("missing", difference.missing),
            ("not rendered any more", difference.stale),
        ):
            for path in paths:
                print(escape_controls(f"{root / path}: {label}"), file=sys.stderr)
        if difference.any:
            print("run `llmops render -o DIR` to update it", file=sys.stderr)
            return exit_codes.FAILED
        print(escape_controls(f"{len(plan.files)} files in {root} are up to date"))
        return exit_codes.OK
    refuse_estate_folders(root, find_estate_root(repo), plan.directories, read_record(root))
    difference = write_output(root, plan)
    shown = escape_controls(str(root))
    print(
        f"rendered {sum(len(o) for o in rendered.groups.values())} objects into {shown} "
        f"({len(difference.missing)} new, {len(difference.changed)} changed, "
        f"{len(difference.stale)} removed)"
    )
    for path in difference.kept:
        print(
            escape_controls(
                f"{root / path}: not rendered any more, but changed since llmops wrote it: left "
                "alone"
            ),
            file=sys.stderr,
        )
    if difference.foreign:
        print(
            f"{len(difference.foreign)} file(s) in {shown} that llmops did not write were left "
            "alone",
            file=sys.stderr,
        )
    return exit_codes.OK


command = click.Command(
    "render",
    callback=render,
    help="render Kubernetes objects (KServe, Ingress, Jobs, Argo CD)\n\nValidate first: an estate "
    "with errors is never rendered (diagnostics on stderr). One YAML stream on stdout, or with -o "
    "one file per object.\n\n" + options.REPO_HELP,
    params=[
        options.repo_argument(),
        options.env_option("only this environment (no Argo CD objects)"),
        click.Option(
            ["-o", "--output"], metavar="DIR", help="write one file per object under DIR/<env>/"
        ),
        click.Option(["--check"], is_flag=True, help="write nothing; exit 1 if DIR differs"),
        click.Option(
            ["--verify"],
            is_flag=True,
            help="also check every object against the upstream CRDs and Kubernetes schemas, as "
            "`llmops conform` does (exit 1 if the API server would refuse one)",
        ),
        options.kubernetes_version_option(),
    ],
)
