"""`llmops conform FILE...` and `llmops render --verify`: would the API server accept these objects?

Files (or directories of *.yaml, or `-` for standard input) are checked against the vendored
upstream CRDs and Kubernetes' own schemas, strictly (see llmops/conformance). Problems are reported
like `llmops validate` reports them: a V code (a Y code for YAML trouble), file:line:column and a
hint.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from compiler.diagnostics import Diagnostic, Severity
from compiler.errors import LlmopsError
from compiler.load.rules import LOADER_RULES
from compiler.report.base import ReportContext, get_formatter
from llmops import __version__
from llmops.cli import exit_codes, options
from llmops.conformance.codes import CONFORMANCE_RULES
from llmops.reporting import use_color

YAML_SUFFIXES = (".yaml", ".yml")
STDIN = "-"


def read_inputs(paths: list[str]) -> dict[str, str]:
    """File name -> text, in the order given (a directory: its *.yaml and *.yml files, sorted)."""
    texts: dict[str, str] = {}
    for name in paths:
        if name == STDIN:
            texts["<stdin>"] = sys.stdin.read()
            continue
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
            if not found:
                raise LlmopsError(f"{name}: no .yaml or .yml files in this directory")
        elif path.is_file():
            found = [path]
        else:
            raise LlmopsError(f"{name}: no such file or directory")
        for file in found:
            try:
                texts[file.as_posix()] = file.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise LlmopsError(
                    f"{file}: not UTF-8 text ({error.reason} at byte {error.start})"
                ) from error
    return texts


def check_texts(
    texts: dict[str, str], kubernetes_version: str | None
) -> tuple[int, list[Diagnostic]]:
    """(objects checked, diagnostics) over every file; the schemas are read once for all of them."""
    from llmops.conformance.catalog import SchemaCatalog
    from llmops.conformance.verify import check_text

    catalog = SchemaCatalog(kubernetes_version)
    objects, diagnostics = 0, []
    for file, text in texts.items():
        count, found = check_text(file, text, catalog)
        objects += count
        diagnostics.extend(found)
    return objects, diagnostics


def report(
    diagnostics: list[Diagnostic], texts: dict[str, str], output_format: str, stream: TextIO
) -> None:
    rules = {rule.code: rule for rule in (*LOADER_RULES, *CONFORMANCE_RULES)}
    context = ReportContext(
        sources=texts,
        files_checked=len(texts),
        tool_version=__version__,
        color=use_color(stream) and output_format == "text",
        rules=rules,
    )
    stream.write(get_formatter(output_format)(diagnostics, context))


def verdict(diagnostics: list[Diagnostic]) -> int:
    return (
        exit_codes.FAILED
        if any(d.severity is Severity.ERROR for d in diagnostics)
        else exit_codes.OK
    )


def conform(*, paths: tuple[str, ...], output_format: str, kubernetes_version: str | None) -> int:
    texts = read_inputs(list(paths))
    objects, diagnostics = check_texts(texts, kubernetes_version)
    if objects == 0 and not diagnostics:
        raise LlmopsError(
            "no Kubernetes objects found in " + ", ".join(texts),
            hint="pass the rendered files, e.g. `llmops conform out/`",
        )
    report(diagnostics, texts, output_format, sys.stdout)
    return verdict(diagnostics)


command = click.Command(
    "conform",
    callback=conform,
    help="check Kubernetes objects against the upstream CRDs and Kubernetes schemas (strict)\n\n"
    "PATH: YAML files, directories of them, or - (stdin). Exit 0: all conform; 1: problems; 2: "
    "unreadable input.",
    params=[
        click.Argument(["paths"], nargs=-1, required=True, metavar="PATH..."),
        options.format_option(options.REPORT_FORMATS, envvar=options.FORMAT_VARIABLE),
        options.kubernetes_version_option(),
    ],
)
