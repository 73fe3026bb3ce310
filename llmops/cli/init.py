"""`llmops init [DIR]`: start a new estate with dev, stg and prod that validates, and passes the
audit, as created (see `llmops/scaffold.py`)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from compiler.errors import LlmopsError
from compiler.load.estate import ENVIRONMENTS_DIR, SHARED_ENV
from compiler.printable import escape_controls
from llmops import scaffold
from llmops.cli import exit_codes
from llmops.manifest_files import dump_manifests, write_atomically
from llmops.write_guard import output_folder, refuse_estate_interior


def init(*, directory: str) -> int:
    root = output_folder(directory)
    refuse_estate_interior(
        root,
        verb="cannot create an estate in",
        hint="an estate is a folder of its own; inside another one's environments/ its manifests "
        "would be read as that estate's",
    )
    estate = root / ENVIRONMENTS_DIR
    if os.path.lexists(estate):
        raise LlmopsError(f"{estate} already exists; `llmops init` only creates new estates")
    written: list[Path] = []
    for file, documents in scaffold.shared_manifests().items():
        written.append(
            write_atomically(
                root, f"{ENVIRONMENTS_DIR}/{SHARED_ENV}/{file}", dump_manifests(documents)
            )
        )
    for env in scaffold.ENVIRONMENTS:
        written.append(
            write_atomically(
                root,
                f"{ENVIRONMENTS_DIR}/{env}/environment.yaml",
                dump_manifests([scaffold.environment_manifest(env)]),
            )
        )
        written.append(
            write_atomically(
                root,
                f"{ENVIRONMENTS_DIR}/{scaffold.example_endpoint_file(env)}",
                dump_manifests([scaffold.endpoint_manifest(env)]),
            )
        )
    written.append(write_atomically(root, f"{ENVIRONMENTS_DIR}/README.md", scaffold.README))
    for path in written:
        print(escape_controls(str(path)))
    print(
        f"created an estate with {', '.join(scaffold.ENVIRONMENTS)}; check it with "
        f"`llmops validate {escape_controls(directory)}`; "
        f"{escape_controls(str(estate / 'README.md'))} says how to approve and serve the model"
    )
    return exit_codes.OK


command = click.Command(
    "init",
    callback=init,
    help="create a new estate with dev, stg and prod\n\nIn DIR (default: the current directory); "
    "it validates as created. An existing environments/ is never overwritten.",
    params=[click.Argument(["directory"], default=".", metavar="[DIR]")],
)
