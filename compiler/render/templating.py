"""The one Jinja2 environment. Templates produce JSON text; every value goes through the `json`
filter.

JSON is YAML, and a value inserted with `| json` is always one JSON value, so no string a user
writes can add a key, a document or a line to the result; the text is parsed straight back into a
dict. Undefined variables are errors. Jinja2 is imported here only, on first use (it costs ~90 ms).

Within `remembering_templates`, a template's text is taken from the texts kept before (the edge
keeps them, llmops/render_cache.py) when it was rendered with the same values: a render whose
objects did not change neither imports Jinja2 nor compiles a template. A template's text is a pure
function of its source (part of the cache's code digest) and of its values' exact types, orders,
strings and numbers, which their `marshal` form at version 0 holds (see compiler/emit/memo.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import jinja2


def _templates_dir() -> Path:
    """Where the templates are: inside the package when installed from a wheel (pyproject.toml maps
    the top-level templates/ folder to `compiler.templates`), else templates/ beside compiler/ (a
    source checkout or an editable install)."""
    here = Path(__file__).resolve()
    packaged, checkout = here.parents[1] / "templates", here.parents[2] / "templates"
    return packaged if packaged.is_dir() else checkout


TEMPLATES_DIR = _templates_dir()


# One encoder for every value: `json.dumps` would build a new one per call (thousands per render).
# NaN and infinity are not JSON: the encoder refuses them rather than write `NaN`.
_to_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    if not TEMPLATES_DIR.is_dir():
        raise FileNotFoundError(
            f"llmops templates not found at {TEMPLATES_DIR}: the installation is incomplete"
        )
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    environment.filters["json"] = _to_json
    return environment


@cache
def _template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


class TemplateTexts(Protocol):
    """Texts of templates rendered before, by `template_key`."""

    def get(self, key: bytes) -> str | None: ...

    def put(self, key: bytes, text: str) -> None: ...


_remembered: ContextVar[TemplateTexts | None] = ContextVar("remembered_templates", default=None)
MARSHAL_VERSION = 0  # no references, no interning flags: the same values give the same bytes
_KEY_PREFIX = b"llmops template\0"  # never the key of an emitted object kept beside them


@contextlib.contextmanager
def remembering_templates(texts: TemplateTexts | None) -> Iterator[None]:
    """While entered, `render_template` takes the texts it rendered before from ``texts`` and
    gives them every text it renders."""
    token = _remembered.set(texts)
    try:
        yield
    finally:
        _remembered.reset(token)


def template_key(name: str, values: dict[str, Any]) -> bytes | None:
    """The SHA-256 of the template's name and its values' exact form, or None for values holding
    a type `marshal` does not write (anything but builtins) or nested too deep to write."""
    try:
        written = marshal.dumps((name, values), MARSHAL_VERSION)
    except ValueError:
        return None
    return hashlib.sha256(_KEY_PREFIX + written).digest()


def render_template(name: str, **values: Any) -> dict[str, Any]:
    """Render `templates/<name>` with `values` and parse the JSON it produces."""
    texts = _remembered.get()
    key = None if texts is None else template_key(name, values)
    text = None if texts is None or key is None else texts.get(key)
    if text is None:
        text = _template(name).render(**values)
        if texts is not None and key is not None:
            texts.put(key, text)
    obj: dict[str, Any] = json.loads(text)
    return obj
