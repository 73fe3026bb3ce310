"""`llmops chat`: one message to an endpoint through a running proxy, for a quick test from a
terminal.

Uses only the standard library (no proxy extra needed). Defaults follow the original platform's
environment variables: `LLM_OPS_API_BASE_URL`, `LLM_OPS_USER_ID`, `LLM_OPS_USER_ROLES`; the shared
token comes from `LLMOPS_PROXY_TOKEN`.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import click

from compiler.errors import LlmopsError
from compiler.load.strict_json import JsonRefused, loads
from compiler.printable import escape_controls, json_printable
from compiler.records import record
from llmops.cli import exit_codes, options

# What the client reads from the network is bounded: the proxy's answers are at most 32 MiB.
MAX_ANSWER_BYTES = 40 * 1024 * 1024
MAX_EVENT_BYTES = 4 * 1024 * 1024  # one line of a stream
MAX_ERROR_BYTES = 1024 * 1024

DEFAULT_URL = "http://127.0.0.1:8000"
API_SUFFIX = "/llm-ops/v1"
TIMEOUT_SECONDS = 300.0


@record
class ChatRequest:
    endpoint: str
    env: str
    message: str
    url: str | None = None
    user: str | None = None
    roles: str | None = None
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = False
    raw: bool = False


class ProxyRefused(Exception):
    """The proxy answered with an error envelope."""


def base_url(given: str | None) -> str:
    url = (given or os.environ.get("LLM_OPS_API_BASE_URL") or DEFAULT_URL).rstrip("/")
    if not url.isascii() or not url.isprintable():
        source = "--url" if given else "$LLM_OPS_API_BASE_URL"
        raise LlmopsError(
            f"the proxy's address from {source} is not printable ASCII: {escape_controls(url)}",
            hint="percent-encode what is not ASCII (a URL on the wire is ASCII)",
        )
    return url[: -len(API_SUFFIX)] if url.endswith(API_SUFFIX) else url


def _headers(request: ChatRequest) -> dict[str, str]:
    user = _header_value(request.user, "--user", "LLM_OPS_USER_ID", "admin")
    roles = _header_value(request.roles, "--roles", "LLM_OPS_USER_ROLES", "admin,llm-ops-user")
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "X-User-Id": user,
        "X-User-Roles": roles,
    }
    token = os.environ.get("LLMOPS_PROXY_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _header_value(given: str | None, option: str, variable: str, default: str) -> str:
    """An identity header's value as http.client sends it: the UTF-8 bytes the proxy reads
    (http.client writes a header's text as Latin-1, so the text holds those bytes one per
    character). **Raises:** ``LlmopsError`` for text that is not UTF-8 or holds a line break."""
    value = given or os.environ.get(variable, default)
    source = option if given else f"${variable}"
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise LlmopsError(
            f"{source} is not UTF-8 text: {escape_controls(value)}",
            hint="give it as UTF-8 (the proxy reads identity headers as UTF-8)",
        ) from None
    if not value.isprintable():
        raise LlmopsError(
            f"{source} holds a control character: {escape_controls(value)}",
            hint="an HTTP header is one line of text",
        )
    return encoded.decode("latin-1")


def _open(url: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers=headers, method="GET" if body is None else "POST"
    )
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        raise ProxyRefused(_error_message(error.code, error.read(MAX_ERROR_BYTES + 1))) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise LlmopsError(
            f"cannot reach the proxy at {url}: {reason}",
            hint="start it with `llmops proxy --env ENV`, or pass --url",
        ) from None


def _error_message(status: int, body: bytes) -> str:
    try:
        document = loads(body, max_bytes=MAX_ERROR_BYTES)
    except JsonRefused:
        return f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}"
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        return f"HTTP {status}: {document['message']}"
    return f"HTTP {status}: {json.dumps(document)[:200]}"


def _check_environment(base: str, request: ChatRequest) -> None:
    with _open(f"{base}{API_SUFFIX}/health", _headers(request)) as response:
        raw = response.read(MAX_ERROR_BYTES + 1)
    try:
        document = loads(raw, max_bytes=MAX_ERROR_BYTES)
    except JsonRefused as refused:
        raise LlmopsError(
            f"{base} does not answer /health like an llmops proxy: {refused}",
            hint="pass the --url of a running `llmops proxy`",
        ) from None
    served = (document.get("data") or {}).get("environment") if isinstance(document, dict) else None
    if served != request.env:
        raise LlmopsError(
            f"the proxy at {base} serves {served!r}, not {request.env!r}",
            hint="pass the --url of the proxy serving that environment",
        )


def _messages(request: ChatRequest) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": request.system}] if request.system else []
    return [*messages, {"role": "user", "content": request.message}]


def _body(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": _messages(request)}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    return body


def _sse_data(lines: Iterator[bytes]) -> Iterator[Any]:
    for line in lines:
        if len(line) > MAX_EVENT_BYTES:
            raise ProxyRefused(f"the stream carried a line longer than {MAX_EVENT_BYTES:,} bytes")
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith("data:"):
            continue
        payload = text[len("data:") :].strip()
        if payload == "[DONE]":
            return
        try:
            yield loads(payload)
        except JsonRefused as refused:
            raise ProxyRefused(
                f"the stream carried an event that is not JSON: {payload[:200]} ({refused})"
            ) from None
    raise ProxyRefused("the stream ended without data: [DONE]; the answer may be incomplete")


def _delta_text(event: Any) -> str:
    """The text an OpenAI stream event adds (its choices' `delta.content`); none when the event
    has another shape."""
    choices = event.get("choices") if isinstance(event, dict) else None
    parts = []
    for choice in choices if isinstance(choices, list) else []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        content = delta.get("content") if isinstance(delta, dict) else None
        parts.append(content if isinstance(content, str) else "")
    return "".join(parts)


def _stream(base: str, request: ChatRequest) -> int:
    url = f"{base}{API_SUFFIX}/serve/{quote(request.endpoint)}/v1/chat/completions"
    with _open(url, _headers(request), {**_body(request), "stream": True}) as response:
        for event in _sse_data(iter(lambda: response.readline(MAX_EVENT_BYTES + 1), b"")):
            if isinstance(event, dict) and event.get("error"):
                sys.stdout.write("\n")
                error = event["error"]
                message = error.get("message", error) if isinstance(error, dict) else error
                raise ProxyRefused(str(message)[:1000])
            sys.stdout.write(escape_controls(_delta_text(event), keep_newlines=True))
            sys.stdout.flush()
    sys.stdout.write("\n")
    return exit_codes.OK


def _whole(base: str, request: ChatRequest) -> int:
    url = f"{base}{API_SUFFIX}/serve/{quote(request.endpoint)}/chat"
    with _open(url, _headers(request), _body(request)) as response:
        raw = response.read(MAX_ANSWER_BYTES + 1)
    try:
        document = loads(raw, max_bytes=MAX_ANSWER_BYTES)
    except JsonRefused as refused:
        raise ProxyRefused(
            f"the answer is not JSON: {raw[:200].decode('utf-8', 'replace')} ({refused})"
        ) from None
    data: Any = document.get("data") if isinstance(document, dict) else None
    if request.raw:
        print(json_printable(json.dumps(data, indent=2, ensure_ascii=False)))
        return exit_codes.OK
    try:
        print(escape_controls(str(data["choices"][0]["message"]["content"]), keep_newlines=True))
    except (KeyError, IndexError, TypeError):
        raise ProxyRefused(
            f"the answer has no choices[0].message.content: {json.dumps(data)[:200]}"
        ) from None
    return exit_codes.OK


def send(request: ChatRequest) -> int:
    """Send one message; print the answer (as it streams, with ``stream``). Exit 1 when the proxy or
    the model refuses, 2 when the proxy cannot be reached or serves another environment."""
    base = base_url(request.url)
    try:
        _check_environment(base, request)
        return _stream(base, request) if request.stream else _whole(base, request)
    except ProxyRefused as refused:
        print(escape_controls(f"llmops: error: {refused}", keep_newlines=True), file=sys.stderr)
        return exit_codes.FAILED


def chat(
    *,
    endpoint: str,
    message: str,
    env: str,
    url: str | None,
    user: str | None,
    roles: str | None,
    system: str | None,
    max_tokens: int | None,
    temperature: float | None,
    stream: bool,
    raw: bool,
) -> int:
    return send(
        ChatRequest(
            endpoint=endpoint,
            env=env,
            message=message,
            url=url,
            user=user,
            roles=roles,
            system=system,
            max_tokens=max_tokens,
            temperature=temperature,
            stream=stream,
            raw=raw,
        )
    )


command = click.Command(
    "chat",
    callback=chat,
    help="send one chat message through a running proxy\n\nENDPOINT is the endpoint's route "
    "name. Exit 1: the proxy or the model refused (the message says why); 2: no proxy at the "
    "URL, or it serves another environment.",
    params=[
        click.Argument(["endpoint"]),
        click.Argument(["message"]),
        options.env_option("the environment the proxy must be serving", required=True),
        click.Option(
            ["--url"],
            metavar="URL",
            help="the proxy (default: $LLM_OPS_API_BASE_URL or http://127.0.0.1:8000)",
        ),
        click.Option(
            ["--user"], metavar="ID", help="X-User-Id (default: $LLM_OPS_USER_ID or admin)"
        ),
        click.Option(
            ["--roles"],
            metavar="ROLES",
            help="X-User-Roles (default: $LLM_OPS_USER_ROLES or admin,llm-ops-user)",
        ),
        click.Option(["--system"], metavar="TEXT", help="a system message to send first"),
        click.Option(["--max-tokens"], type=options.WholeNumber(), metavar="N"),
        click.Option(["--temperature"], type=float, metavar="T"),
        click.Option(["--stream"], is_flag=True, help="print the answer as it is generated"),
        click.Option(
            ["--json", "raw"], is_flag=True, help="print the whole chat completion as JSON"
        ),
    ],
)
