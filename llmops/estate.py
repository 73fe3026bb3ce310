"""Finding the estate a command works on (the CLI's commands and the proxy's configuration both
start here)."""

from __future__ import annotations

from pathlib import Path

from compiler.errors import LlmopsError


def find_estate_root(given: str | None) -> Path:
    """The given directory, or the nearest of the working directory and its parents holding
    environments/."""
    if given is not None:
        root = Path(given)
        if not root.is_dir():
            raise LlmopsError(f"`{given}` is not a directory")
        return root
    # here, not at the top: the loader imports YAML, which a render from the cache never needs
    from compiler.load.estate import ENVIRONMENTS_DIR

    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / ENVIRONMENTS_DIR).is_dir():
            return candidate
    raise LlmopsError(
        f"no `{ENVIRONMENTS_DIR}/` directory in {here} or its parents",
        hint="pass the estate's path, or run `llmops init` to create one",
    )
