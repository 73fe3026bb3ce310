"""`llmops schema`: write the JSON Schemas editors use and the field reference (or check they are
current)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler.spec.field_reference import REFERENCE_FILE, generate_reference
from compiler.spec.schemas import generate_schemas
from llmops.cli import exit_codes
from llmops.manifest_files import write_atomically
from llmops.write_guard import confined_path


def schema(*, output: str, check: bool) -> int:
    directory = Path(output)
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
            print(f"{directory / name}: out of date", file=sys.stderr)
        for name in extra:
            print(f"{directory / name}: no longer generated", file=sys.stderr)
        if stale or extra:
            print("run `llmops schema` to regenerate", file=sys.stderr)
            return exit_codes.FAILED
        print(f"{len(wanted)} schemas in {directory} are up to date")
        return exit_codes.OK
    for name in stale:
        write_atomically(directory, name, wanted[name])
    for name in extra:
        confined_path(directory, name, what="cannot delete").unlink()
    print(
        f"wrote {len(stale)} of {len(wanted)} schemas to {directory}"
        + (f", removed {len(extra)}" if extra else "")
    )
    return exit_codes.OK


command = click.Command(
    "schema",
    callback=schema,
    help="write the JSON Schemas of every manifest kind\n\nAnd the field reference, into DIR.",
    params=[
        click.Option(["--output"], default="schemas", show_default=True, metavar="DIR"),
        click.Option(["--check"], is_flag=True, help="write nothing; exit 1 if DIR is out of date"),
    ],
)
