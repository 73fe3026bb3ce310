"""`llmops init [DIR]`: start a new estate with dev, stg and prod that validates, and passes the audit, as
created (see `llmops/scaffold.py`)."""

from __future__ import annotations

from pathlib import Path

from compiler.errors import LlmopsError
from compiler.load.estate import ENVIRONMENTS_DIR, SHARED_ENV
from llmops import scaffold
from llmops.cli import exit_codes
from llmops.manifest_files import dump_manifests, write_atomically


def init(directory: str) -> int:
    root = Path(directory)
    estate = root / ENVIRONMENTS_DIR
    if estate.exists():
        raise LlmopsError(f"{estate} already exists; `llmops init` only creates new estates")
    written: list[Path] = []
    for file, documents in scaffold.shared_manifests().items():
        written.append(estate / SHARED_ENV / file)
        write_atomically(written[-1], dump_manifests(documents))
    for env in scaffold.ENVIRONMENTS:
        written.append(estate / env / "environment.yaml")
        write_atomically(written[-1], dump_manifests([scaffold.environment_manifest(env)]))
        written.append(estate / scaffold.example_endpoint_file(env))
        write_atomically(written[-1], dump_manifests([scaffold.endpoint_manifest(env)]))
    written.append(estate / "README.md")
    write_atomically(written[-1], scaffold.README)
    for path in written:
        print(path)
    print(f"created an estate with {', '.join(scaffold.ENVIRONMENTS)}; check it with `llmops validate {directory}`; "
          f"{estate / 'README.md'} says how to approve and serve the model")
    return exit_codes.OK
