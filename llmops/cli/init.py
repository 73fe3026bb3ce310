"""`llmops init [DIR]`: start a new estate with dev, stg and prod that validates as created."""

from __future__ import annotations

from pathlib import Path

from compiler.errors import LlmopsError
from compiler.load.estate import ENVIRONMENTS_DIR, SHARED_ENV
from compiler.load.tree import DirectoryTree
from compiler.pipeline import validate_repository
from llmops import scaffold
from llmops.approvals import plan_approval
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
        written.append(estate / env / "serving" / "my-model.yaml")
        write_atomically(written[-1], dump_manifests([scaffold.endpoint_manifest(env)]))
    for env in scaffold.ENVIRONMENTS:
        resolved = validate_repository(DirectoryTree(root), env).estate.environments[0]
        for person in scaffold.approvers(env):
            plan = plan_approval(resolved, "my-model@1.0", person, "admin", "created by llmops init")
            written.append(root / plan.path)
            write_atomically(written[-1], dump_manifests([plan.document]))
    for path in written:
        print(path)
    print(f"created an estate with {', '.join(scaffold.ENVIRONMENTS)}; check it with `llmops validate {directory}`")
    return exit_codes.OK
