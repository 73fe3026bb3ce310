"""pydantic's plugins, off for llmops's own models, without importing what only finds them.

pydantic asks its plugin loader (`pydantic.plugin._loader.get_plugins`) for plugins each time it
builds a model. The loader imports `importlib.metadata` as it is imported, to read the entry points
of every installed package, even when `PYDANTIC_DISABLE_PLUGINS` says there are none and it never
reads them: `importlib.metadata` brings `email`, `zipfile`, `csv` and `socket` with it, 15-20 ms of
every cold `llmops validate`. While plugins are off, a stand-in answers for the loader: no plugins,
as the loader itself would answer. Anything else asked of it (another name, or plugins once the
variable no longer turns them off) is asked of the real loader, imported then.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from collections.abc import Iterable

PLUGINS_VARIABLE = "PYDANTIC_DISABLE_PLUGINS"
# what pydantic's loader reads as "no plugins at all"
PLUGINS_OFF = frozenset({"__all__", "1", "true"})
LOADER = "pydantic.plugin._loader"


def plugins_off() -> bool:
    return os.environ.get(PLUGINS_VARIABLE) in PLUGINS_OFF


class LoaderStandIn(types.ModuleType):
    """Says "no plugins" while they are off; hands everything else to the real loader."""

    def get_plugins(self) -> Iterable[object]:
        if plugins_off():
            return ()
        plugins: Iterable[object] = self.real_loader().get_plugins()
        return plugins

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):  # what the import system probes (`__path__`, `__file__`)
            raise AttributeError(name)
        return getattr(self.real_loader(), name)

    def real_loader(self) -> types.ModuleType:
        """pydantic's own loader, imported now if it was not (the stand-in steps aside)."""
        if sys.modules.get(LOADER) is self:
            del sys.modules[LOADER]
        return importlib.import_module(LOADER)


def skip_plugin_discovery() -> None:
    """Let the stand-in answer for pydantic's plugin loader, when plugins are off and the loader
    has not been imported yet (by then, it is what answers)."""
    if plugins_off() and LOADER not in sys.modules:
        sys.modules[LOADER] = LoaderStandIn(LOADER, __doc__)
