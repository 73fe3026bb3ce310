"""`llmops render`: validated manifests to Kubernetes objects, on stdout or as files."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from compiler.collector import collector_paused
from compiler.printable import escape_controls
from llmops.cli import exit_codes, options
from llmops.estate import find_estate_root
from llmops.extras import require_extra
from llmops.render_output import OutputPlan, compare_output, write_output
from llmops.render_record import read_record, refuse_estate_folders
from llmops.write_guard import output_folder

if TYPE_CHECKING:
    from compiler.build import RenderOutput
    from compiler.render.estate import RenderedEstate

NO_CACHE = "off"


def rendered_output(
    repo: str | None, env: str | None, *, files: bool, stream: bool, cache_dir: Path | None
) -> RenderOutput | None:
    """Validate first; render only an estate without errors (None otherwise). Diagnostics go to
    stderr (stdout is output). With a ``cache_dir``, a render of the same bytes is handed out
    from the cache (llmops/render_cache.py), and a clean render is kept there."""
    # see there: a render only allocates what it keeps or frees at once
    with collector_paused():
        return _rendered_output(repo, env, files=files, stream=stream, cache_dir=cache_dir)


def _rendered_output(
    repo: str | None, env: str | None, *, files: bool, stream: bool, cache_dir: Path | None
) -> RenderOutput | None:
    from compiler.load.tree import DirectoryTree
    from llmops.render_cache import (
        CheckStore,
        EmittedGroups,
        GroupStore,
        ParsedStore,
        RecordingTree,
        RenderCache,
        cache_budget,
    )

    tree = RecordingTree(DirectoryTree(find_estate_root(repo)))
    cache, key, budget = None, "", 0
    settings = {"env": env, "files": files, "stream": stream}
    distrusted = None if cache_dir is None else RenderCache(cache_dir).distrust()
    if distrusted is not None:
        shown = f"llmops: render cache not used: {cache_dir}: {distrusted}"
        print(escape_controls(shown), file=sys.stderr)
    elif cache_dir is not None:
        cache = RenderCache(cache_dir)
        budget, refused = cache_budget()
        if refused is not None:  # said on every run that uses the cache, a hit too
            print(escape_controls(f"llmops: render cache: {refused}"), file=sys.stderr)
        key = cache.key(tree, settings)
        cached = cache.lookup(key, tree)
        if cached is not None:
            return cached
    from compiler.build import render_repository
    from llmops.reporting import print_report
    from llmops.warm.memo import kept_sources

    sources = kept_sources()  # in the warm server: the files it read before, in its memory
    parsed = groups = known = emitted = None
    if cache is not None:
        # what is the same as in an earlier run is not parsed, checked, rendered nor emitted again
        parsed = ParsedStore(cache) if sources is None else None
        groups = GroupStore(cache, tree, settings)
        emitted = EmittedGroups(cache, None if sources is None else sources.parsed)
        known = CheckStore(cache, tree, settings, emitted)
    result, output = render_repository(
        tree,
        env,
        files=files,
        stream=stream,
        parsed=parsed,
        groups=groups,
        known=known,
        emitted=emitted,
        sources=sources,
    )
    problems = []
    if result.diagnostics:
        print_report(result.diagnostics, result, "text", sys.stderr)
    elif cache is not None and groups is not None and output is not None and not tree.unusual:
        problems.append(cache.store(key, tree, output, groups.written))
    if groups is not None and known is not None and emitted is not None and not tree.unusual:
        saved_parsed = [] if parsed is None else [parsed.save()]
        problems.extend([*saved_parsed, emitted.save(), *known.problems, *groups.problems])
    problem = next((problem for problem in problems if problem is not None), None)
    if problem is not None:
        print(escape_controls(f"llmops: render cache not written: {problem}"), file=sys.stderr)
    if cache is not None:
        cache.trim(budget)
    return output


def cache_directory(cache_dir: str | None) -> Path | None:
    """``--cache-dir`` (or ``$LLMOPS_CACHE_DIR``), else the default; ``off`` for none. A leading
    `~` is the home folder, as a shell would make it: a variable set in quotes, or in a manifest,
    reaches llmops unexpanded (a folder named `~` was made in the working directory)."""
    from llmops.render_cache import default_cache_dir

    if cache_dir == NO_CACHE:
        return None
    return Path(cache_dir).expanduser() if cache_dir else default_cache_dir()


def output_plan(rendered: RenderedEstate) -> OutputPlan:
    from compiler.build import lay_out

    return plan_of(lay_out(rendered, files=True, stream=False))


def plan_of(output: RenderOutput, *, whole: bool = False) -> OutputPlan:
    """The files of ``output``; ``whole``: a render of every environment (see `OutputPlan`)."""
    return OutputPlan(files=output.files, directories=output.directories, whole=whole)


def render(
    *,
    repo: str | None,
    env: str | None,
    output: str | None,
    check: bool,
    verify: bool,
    kubernetes_version: str | None,
    cache_dir: str | None = None,
) -> int:
    # refused before anything is rendered, printed or written
    if check and output is None:
        print("llmops: --check needs -o DIR (the directory to compare)", file=sys.stderr)
        return exit_codes.USAGE
    if kubernetes_version is not None and not verify:
        print(
            "llmops: --kubernetes-version chooses the schemas of --verify, which is not given",
            file=sys.stderr,
        )
        return exit_codes.USAGE
    if verify:
        require_extra("conform", "--verify")
        from llmops.conformance.catalog import schema_version

        schema_version(kubernetes_version)
    with collector_paused():  # the rendered text is still on the heap: written out, then freed
        rendered = rendered_output(
            repo,
            env,
            files=output is not None or verify,
            stream=output is None,
            cache_dir=cache_directory(cache_dir),
        )
        if rendered is None:
            return exit_codes.FAILED
        code = _emit(rendered, repo, output, check, env)
    if not verify:
        return code
    return max(code, verify_files(rendered.files, output, kubernetes_version))


def verify_rendered(
    rendered: RenderedEstate, output: str | None, kubernetes_version: str | None
) -> int:
    """`--verify` of rendered objects (see `verify_files`)."""
    return verify_files(output_plan(rendered).files, output, kubernetes_version)


def verify_files(files: dict[str, str], output: str | None, kubernetes_version: str | None) -> int:
    """`--verify`: check the rendered files (named as -o names them) as `llmops conform` would;
    report on stderr."""
    from llmops.cli.conform import check_texts, report, verdict

    prefix = Path(output) if output else Path()
    texts = {(prefix / name).as_posix(): text for name, text in files.items()}
    objects, diagnostics = check_texts(texts, kubernetes_version)
    if diagnostics:
        report(diagnostics, texts, "text", sys.stderr)
    else:
        print(f"verified: the API server would accept all {objects} objects", file=sys.stderr)
    return verdict(diagnostics)


def _emit(
    rendered: RenderOutput, repo: str | None, output: str | None, check: bool, env: str | None
) -> int:
    whole = env is None
    if output is None:
        from llmops.stream_output import write_rendered_stream

        write_rendered_stream(rendered, sys.stdout)
        return exit_codes.OK
    root = Path(output)
    plan = plan_of(rendered, whole=whole)
    if check:
        difference = compare_output(root, plan)
        in_the_way = set(difference.conflicts) & set(difference.missing)
        for label, paths in (
            ("differs", difference.changed),
            ("missing", [path for path in difference.missing if path not in in_the_way]),
            ("a link or a folder where the rendered file goes", sorted(in_the_way)),
            ("not rendered any more", difference.stale),
        ):
            for path in paths:
                print(escape_controls(f"{root / path}: {label}"), file=sys.stderr)
        _note_foreign(difference.foreign, escape_controls(str(root)), "were not compared")
        if difference.any:
            where = [] if repo is None else [repo]
            again = shlex.join(
                ["llmops", "render", *where, *([] if env is None else ["--env", env]), "-o", output]
            )
            print(escape_controls(f"run `{again}` to update it"), file=sys.stderr)
            return exit_codes.FAILED
        print(escape_controls(f"{len(plan.files)} files in {root} are up to date"))
        return exit_codes.OK
    estate_root = find_estate_root(repo)
    output_folder(output, estate_root=estate_root)
    record = read_record(root)
    refuse_estate_folders(root, estate_root, plan.directories, record)
    difference = write_output(root, plan, record)
    shown = escape_controls(str(root))
    print(
        f"rendered {rendered.objects} objects into {shown} "
        f"(files: {len(difference.missing)} new, {len(difference.changed)} changed, "
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
    _note_foreign(difference.foreign, shown, "were left alone")
    return exit_codes.OK


def _note_foreign(foreign: list[str], shown: str, what: str) -> None:
    """How many YAML files in the rendered folders llmops did not write (a hand-written patch is
    one): never removed nor compared, but Argo CD applies them with the rest."""
    if foreign:
        print(
            f"{len(foreign)} YAML file(s) in {shown} that llmops did not write {what}",
            file=sys.stderr,
        )


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
        click.Option(
            ["--cache-dir"],
            metavar="DIR",
            envvar="LLMOPS_CACHE_DIR",
            show_envvar=True,
            help="where renders are kept for reuse while every file they read is unchanged "
            "(default: $XDG_CACHE_HOME/llmops/render, i.e. ~/.cache/llmops/render; `off`: none). "
            "Safe to delete. Its files stay within $LLMOPS_CACHE_MAX_MB MiB (default 1024).",
        ),
    ],
)
