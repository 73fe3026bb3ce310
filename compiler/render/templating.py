"""The one Jinja2 environment. Templates produce JSON text; every value goes through the `json`
filter.

JSON is YAML, and a value inserted with `| json` is always one JSON value, so no string a user
writes can add a key, a document or a line to the result; the text is parsed straight back into a
dict. Undefined variables are errors. Jinja2 is imported here only, on first use (it costs ~90 ms).

A template's object is a `remembered_document` of its name and values
(compiler/render/remembered.py): a render whose objects did not change neither imports Jinja2 nor
compiles a template, and emits none of them again.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compiler.render.remembered import remembered_document

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


def render_template(name: str, **values: Any) -> dict[str, Any]:
    """Render `templates/<name>` with `values` and parse the JSON it produces. The object is the
    template's: a renderer that needs another makes a new one (compiler/render/remembered.py)."""
    return remembered_document("template", (name, values), lambda: _template(name).render(**values))
