"""Run an Argo CD health-check script the way Argo CD does, in a real Lua interpreter (lupa).

Argo CD (util/lua/lua.go) runs each check in a fresh gopher-lua state, a Lua 5.1 implementation:
the live object is the global `obj` (maps become tables, lists become arrays, null is nil) and the
script returns a table `{status = ..., message = ...}`. Only the base, table and package libraries
and a reduced `os` are opened, unless the ConfigMap sets `resource.customizations.useOpenLibs.<key>:
"true"` (the checks bundled with Argo CD always get the standard libraries).
"""

from __future__ import annotations

from typing import Any

import pytest

lupa = pytest.importorskip("lupa", reason="lupa (Lua in Python) is in the `test` extra")
try:
    from lupa import lua51 as _lua  # Lua 5.1, as gopher-lua implements
except ImportError:  # a lupa build without the 5.1 runtime: the scripts use nothing newer
    _lua = lupa

HEALTH_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

# What Argo CD leaves out without useOpenLibs: the string library (and string methods), math, io,
# coroutine and debug. lupa's own `python` bridge goes too.
_CLOSE_LIBRARIES = """
local string_metatable = debug.getmetatable("")
if string_metatable ~= nil then string_metatable.__index = nil end
string, math, io, coroutine, debug, python = nil, nil, nil, nil, nil, nil
"""


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, dict):
        table = runtime.table()
        for key, item in value.items():
            table[key] = _to_lua(runtime, item)
        return table
    if isinstance(value, list):
        return runtime.table(*(_to_lua(runtime, item) for item in value))
    return value


def run_health_check(script: str, obj: dict[str, Any], *, open_libs: bool) -> dict[str, str]:
    """The {status, message} that `script` returns for the live object `obj`."""
    runtime = _lua.LuaRuntime(unpack_returned_tuples=False, register_eval=False)
    if not open_libs:
        runtime.execute(_CLOSE_LIBRARIES)
    runtime.globals().obj = _to_lua(runtime, obj)
    result = runtime.execute(script)
    assert _lua.lua_type(result) == "table", f"the script returned {result!r}, not a table"
    status, message = result["status"], result["message"]
    assert status in HEALTH_STATUSES, f"{status!r} is not an Argo CD health status"
    return {"status": status, "message": message if message is not None else ""}


def lua_version() -> str:
    return str(_lua.LuaRuntime().lua_implementation)
