"""`llmops schema`: write the JSON Schemas editors use and the field reference (or check they are
current)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from compiler.errors import LlmopsError
from compiler.spec.field_reference import REFERENCE_FILE, generate_reference
from compiler.spec.schemas import generate_schemas
from llmops.cli import exit_codes
from llmops.estate import find_estate_root
from llmops.manifest_files import write_atomically
from llmops.write_guard import confined_path, output_folder, refuse_estate_interior


def schema(*, output: str | None, check: bool) -> int:
    if output is None:
        output = str(_default_folder())
    elif not output.strip():
        output_folder(output)  # refuses it, saying why
    directory = Path(output)
    refuse_estate_interior(
        directory,
        verb="cannot write schemas into",
        hint="write them beside environments/, as `llmops schema` does from anywhere in the "
        "estate, or name a folder outside it with --output",
    )
    wanted = {**generate_schemas(), REFERENCE_FILE: generate_reference()}
    existing = (
        {path.name for path in directory.glob("*.schema.json")} if directory.is_dir() else set()
    )
    stale = sorted(
        name
        for name, text in wanted.items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != text
    )
    extra = sorted(existing - set(wanted))
    if check:
        for name in stale:
            state = "out of date" if (directory / name).is_file() else "missing"
            print(f"{directory / name}: {state}", file=sys.stderr)
        for name in extra:
            print(f"{directory / name}: no longer generated", file=sys.stderr)
        if stale or extra:
            print("run `llmops schema` to regenerate", file=sys.stderr)
            return exit_codes.FAILED
        print(f"{len(wanted)} schemas in {directory} are up to date")
        return exit_codes.OK
    output_folder(output)
    for name in stale:
        write_atomically(directory, name, wanted[name])
    for name in extra:
        confined_path(directory, name, what="cannot delete").unlink()
    print(
        f"wrote {len(stale)} of {len(wanted)} schemas to {directory}"
        + (f", removed {len(extra)}" if extra else "")
    )
    return exit_codes.OK


def _default_folder() -> Path:
    """The estate's `schemas/` (of the working directory or the nearest parent holding
    environments/), else `schemas/` here."""
    try:
        root = find_estate_root(None)
    except LlmopsError:  # not in an estate
        return Path("schemas")
    return Path(os.path.relpath(root / "schemas"))


command = click.Command(
    "schema",
    callback=schema,
    help="write the JSON Schemas of every manifest kind\n\nAnd the field reference, into DIR.",
    params=[
        click.Option(
            ["--output"],
            default=None,
            metavar="DIR",
            help="default: the estate's schemas/ (beside environments/), else schemas/ here",
        ),
        click.Option(["--check"], is_flag=True, help="write nothing; exit 1 if DIR is out of date"),
    ],
)
