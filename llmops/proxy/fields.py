"""The request fields of OpenAI's API that the proxy knows, checked for type and range before a
request reaches a model server.

A value of the wrong type is not the caller's intent passed on: `"stream": "yes"` made a model
server stream while the proxy waited for one answer (a 502), and slipped past the original
platform's routes' "answers in one piece" check; `"n": 100000` asked for a hundred thousand answers.
Each known field must have the type and range OpenAI documents (or, for vLLM's own fields, vLLM),
`null` meaning "not given"; work multipliers are bounded by the proxy: at most ``MAX_SEQUENCES``
sequences generated per request (`n` or `best_of`, times the prompts of a completions request) and
``MAX_INPUTS`` inputs per embeddings request. Fields the proxy does not know are passed on as they
are (their text still counts towards `max_input_tokens`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

MAX_SEQUENCES: Final = 16
MAX_INPUTS: Final = 2048  # OpenAI's bound on the inputs of one embeddings request
MAX_STOP_SEQUENCES: Final = 16
MAX_LIST_ITEMS: Final = 1024  # token ids in `stop_token_ids`, entries of `logit_bias`
MAX_PARAMETER_CHARS: Final = 1024  # a text the model does not read: a stop sequence, `user`
INT32: Final = 2**31 - 1
INT64: Final = 2**63 - 1
MAX_ROLE_CHARS: Final = 64  # roles are names (system, user, tool, ipython, ...), not text


class FieldError(ValueError):
    """A field of the wrong type or out of range; ``message`` says which and what it must be."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# A check answers None for a good value, else what the value must be.
Check = Callable[[Any], str | None]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    # an integer is finite however long (math.isfinite would overflow converting one past 1e308)
    if isinstance(value, int):
        return not isinstance(value, bool)
    return isinstance(value, float) and math.isfinite(value)


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def integer(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        return (
            None if _is_int(value) and low <= value <= high else f"an integer from {low} to {high}"
        )

    return check


def number(low: float, high: float, above: bool = False) -> Check:
    """``above``: ``low`` itself is out of range."""

    def check(value: Any) -> str | None:
        fits = _is_number(value) and (low < value if above else low <= value) and value <= high
        return None if fits else f"a number {'above' if above else 'from'} {low:g} to {high:g}"

    return check


def string(value: Any) -> str | None:
    return None if isinstance(value, str) else "a string"


def short_string(value: Any) -> str | None:
    fits = isinstance(value, str) and len(value) <= MAX_PARAMETER_CHARS
    return None if fits else f"a string of at most {MAX_PARAMETER_CHARS} characters"


def switches(value: Any) -> str | None:
    fits = (
        isinstance(value, dict)
        and len(value) <= 8
        and all(isinstance(item, bool) for item in value.values())
    )
    return None if fits else "an object of at most 8 true-or-false settings"


def refused(why: str) -> Check:
    def check(value: Any) -> str | None:
        return why

    return check


def one_of(*allowed: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in allowed else "one of " + ", ".join(map(repr, allowed))

    return check


def an_object(value: Any) -> str | None:
    return None if isinstance(value, dict) else "an object"


def string_or_object(value: Any) -> str | None:
    # a tuple, not `str | dict`: compiled, a union makes a new type object at every call
    return None if isinstance(value, (str, dict)) else "a string or an object"


def objects(value: Any) -> str | None:
    fits = isinstance(value, list) and all(isinstance(item, dict) for item in value)
    return None if fits else "a list of objects"


def stop(value: Any) -> str | None:
    texts = [value] if isinstance(value, str) else value
    fits = (
        isinstance(texts, list)
        and len(texts) <= MAX_STOP_SEQUENCES
        and all(isinstance(item, str) and len(item) <= MAX_PARAMETER_CHARS for item in texts)
    )
    return (
        None
        if fits
        else f"a string or a list of at most {MAX_STOP_SEQUENCES} strings, each of at most "
        f"{MAX_PARAMETER_CHARS} characters"
    )


def token_ids(value: Any) -> str | None:
    fits = (
        isinstance(value, list)
        and len(value) <= MAX_LIST_ITEMS
        and all(_is_int(item) and 0 <= item <= INT32 for item in value)
    )
    return None if fits else f"a list of at most {MAX_LIST_ITEMS} token ids (integers from 0)"


def logit_bias(value: Any) -> str | None:
    fits = (
        isinstance(value, dict)
        and len(value) <= MAX_LIST_ITEMS
        and all(_is_number(bias) and -100 <= bias <= 100 for bias in value.values())
    )
    return (
        None
        if fits
        else (f"an object of at most {MAX_LIST_ITEMS} token ids with numbers from -100 to 100")
    )


COMMON: dict[str, Check] = {
    "stream": boolean,
    "stream_options": switches,
    "temperature": number(0, 2),
    "top_p": number(0, 1),
    "n": integer(1, MAX_SEQUENCES),
    "max_tokens": integer(1, INT32),
    "max_completion_tokens": integer(1, INT32),
    "min_tokens": integer(0, INT32),
    "presence_penalty": number(-2, 2),
    "frequency_penalty": number(-2, 2),
    "repetition_penalty": number(0, 100, above=True),
    "top_k": integer(-1, INT32),
    "min_p": number(0, 1),
    "seed": integer(-INT64 - 1, INT64),
    "logit_bias": logit_bias,
    "top_logprobs": integer(0, 20),
    "stop": stop,
    "stop_token_ids": token_ids,
    "ignore_eos": boolean,
    "skip_special_tokens": boolean,
    "user": short_string,
    "response_format": an_object,
    "tools": objects,
    "tool_choice": string_or_object,
    "parallel_tool_calls": boolean,
    "functions": objects,
    "function_call": string_or_object,
}
BY_KIND: dict[str, dict[str, Check]] = {
    "chat": {
        **COMMON,
        "logprobs": boolean,
        "best_of": integer(1, MAX_SEQUENCES),  # vLLM reads it on chat too
        # vLLM renders a caller's Jinja template: its output has no size the proxy could estimate
        "chat_template": refused("left out: the model server's own chat template applies"),
    },
    "completion": {
        **COMMON,
        "logprobs": integer(0, 20),
        "best_of": integer(1, MAX_SEQUENCES),
        "echo": boolean,
        "suffix": string,
    },
    "embeddings": {
        "user": short_string,
        "encoding_format": one_of("float", "base64"),
        "dimensions": integer(1, 65536),
    },
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _texts_or_token_ids(value: Any, field: str, most: int | None) -> int:
    """How many prompts (or inputs) ``value`` holds: a text, token ids, or a list of either."""
    if isinstance(value, str):
        return 1
    if isinstance(value, list) and value:
        if all(_is_int(item) for item in value):
            return 1
        if all(isinstance(item, str) for item in value) or all(
            isinstance(item, list) and item and all(_is_int(token) for token in item)
            for item in value
        ):
            if most is not None and len(value) > most:
                raise FieldError(f"`{field}` holds {len(value)} items; at most {most} are taken")
            return len(value)
    raise FieldError(
        f"`{field}` must be a string, a list of strings, a list of token ids or a list of lists "
        f"of token ids, not {_shown(value)}"
    )


def _check_messages(messages: Any) -> None:
    if not (isinstance(messages, list) and messages):
        raise FieldError("`messages` must be a non-empty list of {role, content} objects")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise FieldError(f"`messages[{index}]` must be a {{role, content}} object")
        role = message.get("role")
        if not (isinstance(role, str) and 0 < len(role) <= MAX_ROLE_CHARS):
            raise FieldError(
                f"`messages[{index}].role` must be a name of 1 to {MAX_ROLE_CHARS} characters "
                f"(system, user, assistant, tool, ...), not {_shown(role)}"
            )
        content = message.get("content")
        if not (content is None or isinstance(content, (str, list))):
            raise FieldError(
                f"`messages[{index}].content` must be a string, a list of parts or null, not "
                f"{_shown(content)}"
            )


_ORDER: Final = {
    kind: {name: index for index, name in enumerate(checks)} for kind, checks in BY_KIND.items()
}


def check_fields(kind: str, body: dict[str, Any]) -> None:
    """Check the fields of a chat, completion or embeddings request body. **Raises:**
    ``FieldError`` naming the first field that is missing, of the wrong type or out of range."""
    if kind == "chat":
        _check_messages(body.get("messages"))
        prompts = 1
    else:
        field = "prompt" if kind == "completion" else "input"
        if body.get(field) is None:
            raise FieldError(f"the request needs `{field}`")
        prompts = _texts_or_token_ids(
            body[field], field, MAX_INPUTS if kind == "embeddings" else None
        )
    checks = BY_KIND[kind]
    # a body has a few of the known fields: only those are checked, in the body's order; of the
    # wrong ones, the first in the checks' order is reported (sorting the fields first cost more
    # than checking them)
    first_wrong: tuple[int, str, str] | None = None
    for name, value in body.items():
        check = checks.get(name)
        if check is None or value is None:
            continue
        wanted = check(value)
        if wanted is not None:
            place = _ORDER[kind][name]
            if first_wrong is None or place < first_wrong[0]:
                first_wrong = (place, name, wanted)
    if first_wrong is not None:
        _, name, wanted = first_wrong
        raise FieldError(f"`{name}` must be {wanted}, not {_shown(body[name])}")
    if kind != "embeddings":
        sequences = max(body.get("n") or 1, body.get("best_of") or 1) * prompts
        if sequences > MAX_SEQUENCES:
            raise FieldError(
                f"the request asks for {sequences} sequences (`n` or `best_of` for each of "
                f"{prompts} prompts); the proxy generates at most {MAX_SEQUENCES} per request"
            )


def lone_surrogate(value: Any) -> str | None:
    """The first text in ``value`` holding a UTF-16 surrogate that is not part of a pair, which is
    not a character (UTF-8 cannot carry it; a model server fails on it). A body orjson read holds
    none (it refuses one): the route asks only about the others, whose every text is looked at.
    (Looking only where the body's bytes held a `\\u` escape missed a surrogate written as its
    bytes, and every one in a body in UTF-16 or UTF-32, where the escape's bytes are apart.)"""
    stack = [value]
    while stack:
        item = stack.pop()
        texts: list[str] = []
        if isinstance(item, str):
            texts = [item]
        elif isinstance(item, dict):
            texts = list(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as error:
                return text[max(0, error.start - 20) : error.start + 20]
    return None
