"""The original platform's response envelope, `{status, message, data}`, for every answer of the
platform API.

Errors on the OpenAI-compatible routes carry the envelope plus OpenAI's `error` object, so the
official `openai` client shows the message in its exception.
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson
from aiohttp import web

JSON: Final = "application/json"
# Made once: `json.dumps` with options builds an encoder per call, a quarter of encoding a request.
_COMPACT: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_COMPACT_ASCII: Final = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)

# held here: compiled, `orjson.dumps` is an attribute lookup on the module at every call
_ORJSON_DUMPS: Final = orjson.dumps


def dumps(value: Any) -> bytes:
    """Strict JSON as UTF-8 (a NaN raises rather than being written as JSON no client can read).
    Text holding a lone surrogate (JSON may carry one as a `\\ud800` escape, UTF-8 cannot) is
    escaped instead."""
    try:
        return _COMPACT.encode(value).encode()
    except UnicodeEncodeError:
        return _COMPACT_ASCII.encode(value).encode()


def dumps_document(value: Any) -> bytes:
    """``dumps`` for a document parsed by llmops/proxy/jsonbody.py (and given only text and whole
    numbers since), which holds no NaN or infinity: orjson, several times faster, writes the same
    JSON (numbers in exponent form may differ in their digits, not their value). What orjson cannot
    write (a lone surrogate, an integer past 64 bits) goes to ``dumps``."""
    try:
        return _ORJSON_DUMPS(value)
    except orjson.JSONEncodeError:
        return dumps(value)


def success_document_body(data: Any) -> bytes:
    """``success_body`` for a document parsed by llmops/proxy/jsonbody.py (``dumps_document``)."""
    return dumps_document({"status": "success", "message": "", "data": data})


def success_body(data: Any, message: str = "") -> bytes:
    return dumps({"status": "success", "message": message, "data": data})


def failure_body(status: int, message: str, *, data: Any = None, openai: bool = False) -> bytes:
    document: dict[str, Any] = {"status": "error", "message": message, "data": data}
    if openai:
        document["error"] = {"message": message, "type": error_type(status), "code": status}
    return dumps(document)


def success(data: Any, message: str = "", headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=success_body(data, message), content_type=JSON, headers=headers)


def failure(
    status: int,
    message: str,
    *,
    data: Any = None,
    openai: bool = False,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.Response(
        status=status,
        body=failure_body(status, message, data=data, openai=openai),
        content_type=JSON,
        headers=headers,
    )


def error_type(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "invalid_request_error",
        429: "rate_limit_error",
        502: "upstream_error",
        504: "upstream_timeout",
    }.get(status, "api_error")
