"""Validate raw documents against the spec models; turn every pydantic error into a positioned
diagnostic."""

from __future__ import annotations

import json
import math
import typing
from dataclasses import replace
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from compiler.check import schema_rules as rules
from compiler.check.missing_fields import merge_missing_fields
from compiler.diagnostics import Diagnostic, make_diagnostic
from compiler.load.document import SourceDocument
from compiler.positions import Path, format_path
from compiler.spec.base import API_VERSION, Envelope
from compiler.spec.kinds import KINDS
from compiler.spec.ranges import field_range
from compiler.spelling import closest_name

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
    "int_from_float": "an integer",
    "model_attributes_type": "a mapping",
}
_ENUM_TYPES = {"literal_error", "enum"}
# Range errors, as the words after "must be" (pydantic's context gives the bound).
_RANGE_PHRASES = {
    "greater_than": "more than {gt}",
    "greater_than_equal": "at least {ge}",
    "less_than": "less than {lt}",
    "less_than_equal": "at most {le}",
    "finite_number": "a finite number",
}
_UNION_TYPE = "union_type"  # several type errors of one value, one per branch of a union, merged
_LONGEST_QUOTED = 60
_VALUE_CODES = frozenset(
    {rules.WRONG_TYPE.code, rules.INVALID_VALUE.code, rules.BAD_ENUM_VALUE.code}
)


def shortened(text: str, limit: int = _LONGEST_QUOTED) -> str:
    """Text short enough to quote in a message: its start and end around an ellipsis."""
    return (
        text
        if len(text) <= limit
        else f"{text[: limit - 12]}…{text[-8:]} ({len(text):,} characters)"
    )


def describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        digits = len(str(abs(value))) if abs(value) < 10**100 else 100
        return (
            f"the number {value}"
            if digits <= 30
            else f"a number of {digits}{'+' if digits == 100 else ''} digits"
        )
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {shortened(json.dumps(value, ensure_ascii=False))}"
    if value is None:
        return "null"
    return f"a {'mapping' if isinstance(value, dict) else 'list'}"


def _data_path(document: SourceDocument, loc: tuple[Any, ...]) -> Path:
    """Keep the parts of a pydantic location that name real keys (drop union tags like `int`)."""
    path: list[str | int] = []
    node: Any = document.data
    for segment in loc:
        if isinstance(node, dict) and isinstance(segment, str) and segment in node:
            node = node[segment]
            path.append(segment)
        elif isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
            node = node[segment]
            path.append(segment)
        elif isinstance(node, dict) and isinstance(segment, str) and loc[-1] == segment:
            path.append(segment)  # the missing or unknown key itself
            break
    return tuple(path)


def _model_at(model: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The pydantic model class that describes the mapping at ``path`` (for did-you-mean)."""
    current: type[BaseModel] = model
    for segment in path:
        if isinstance(segment, int):
            continue
        field = next(
            (f for name, f in current.model_fields.items() if (f.alias or name) == segment), None
        )
        if field is None:
            return None
        candidates = [field.annotation, *typing.get_args(field.annotation)]
        nested = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if nested is None:
            return None
        current = nested
    return current


def field_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _error_path(document: SourceDocument, error: Any) -> Path:
    """Where an error is: its location in the data, plus the entry a validator of a mapping
    named."""
    path = _data_path(document, error["loc"])
    entry = error.get("ctx", {}).get("entry")
    if isinstance(entry, str):
        node = document.get(path)
        if isinstance(node, dict) and entry in node:
            path = (*path, entry)
    return path


def _one_per_written_place(document: SourceDocument, errors: list[Any]) -> list[tuple[Any, int]]:
    """One mistake, one diagnostic, however often an alias (`*t`) repeats the text it is in: each
    error with how many more the same written place gave (the same kind of error, at the same key
    or value). A 16 KB file whose 900 wrong keys an alias repeated 220 times made 198,000
    diagnostics, 13 s and 490 MB of them."""
    kept: dict[tuple[Any, ...], int] = {}
    found: list[tuple[Any, int]] = []
    for error in errors:
        path = _error_path(document, error)
        span = document.span_of(path, key=error["type"] == "extra_forbidden")
        last = path[-1] if path and isinstance(path[-1], str) else None
        place = (error["type"], error["msg"], last, span.line, span.column, span.end_line)
        index = kept.get(place)
        if index is None:
            kept[place] = len(found)
            found.append((error, 0))
        else:
            found[index] = (found[index][0], found[index][1] + 1)
    return found


def _repeated(diagnostic: Diagnostic, repeats: int) -> Diagnostic:
    if not repeats:
        return diagnostic
    places = "place" if repeats == 1 else "places"
    return replace(
        diagnostic,
        message=f"{diagnostic.message} (and in {repeats} more {places}: an alias repeats it)",
    )


def _merge_union_errors(document: SourceDocument, errors: list[Any]) -> list[Any]:
    """One value, one diagnostic: a union (`int | float`, a hyperparameter's four types) reports
    each branch. Where one branch took the value's type but refused the value (a range, NaN), that
    is the reason; where every branch refused the type, the value must be of one of them."""
    by_path: dict[Path, list[Any]] = {}
    for error in errors:
        by_path.setdefault(_error_path(document, error), []).append(error)
    merged: list[Any] = []
    for group in by_path.values():
        if len(group) == 1:
            merged.extend(group)
            continue
        reasons = [error for error in group if error["type"] not in _TYPE_NAMES]
        if reasons:
            seen: set[tuple[str, str]] = set()
            for error in reasons:
                if (error["type"], error["msg"]) not in seen:
                    seen.add((error["type"], error["msg"]))
                    merged.append(error)
        else:
            expected = [_TYPE_NAMES[error["type"]] for error in group]
            merged.append({**group[0], "type": _UNION_TYPE, "ctx": {"expected": expected}})
    return merged


def _either(expected: list[str]) -> str:
    """`a boolean, a number or a string` (an integer is a number)."""
    words = [
        word
        for word in dict.fromkeys(expected)
        if not (word == "an integer" and "a number" in expected)
    ]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


_TRUE_WORDS = frozenset({"true", "yes", "on", "y", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "n", "0"})
_NUMBER_WORDS = {
    word: number
    for number, word in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    )
}


def _written_as(kind: str, value: Any) -> str | None:
    """How to write ``value`` as the type ``kind`` asks for, when it plainly means one (`"no"` for
    a boolean, `"2"` or `two` for an integer), else what such a value looks like."""
    text = value.strip().lower() if isinstance(value, str) else None
    if kind == "bool_type":
        if text in _TRUE_WORDS or text in _FALSE_WORDS:
            return f"write {'true' if text in _TRUE_WORDS else 'false'}, without quotes"
        return "write true or false, without quotes"
    if kind in ("int_type", "int_from_float"):
        # `8_192` and `8,192` are YAML 1.1's and people's ways to group digits: 8192 is meant
        digits = text.replace("_", "").replace(",", "") if text is not None else None
        if digits is not None and digits.isdecimal() and len(digits) <= 18:
            return f"write the number {int(digits)}"
        if text is not None and text in _NUMBER_WORDS:
            return f"write the number {_NUMBER_WORDS[text]}"
        if isinstance(value, float) and value.is_integer():
            return f"write {int(value)}, without a decimal point"
        return "write a whole number, such as 1"
    if kind == "float_type" and text is not None:
        try:
            real = float(text)
        except ValueError:
            return "write a number, such as 0.5"
        return f"write the number {text}, without quotes" if math.isfinite(real) else None
    return None


def _range_hint(model: type[Envelope], path: Path) -> str | None:
    field = _field_at(model, path)
    if field is None:
        return None
    allowed = field_range(field)
    parts = [f"allowed: {allowed}" if allowed else None, field.description]
    return "; ".join(part for part in parts if part) or None


def _field_at(model: type[Envelope], path: Path) -> Any:
    field_model = _model_at(model, path[:-1]) if path else None
    if field_model is None:
        return None
    return next(
        (f for n, f in field_model.model_fields.items() if (f.alias or n) == path[-1]), None
    )


def _deeper_home(
    document: SourceDocument, model: type[Envelope], path: Path, predecessors: _Predecessors
) -> tuple[Path, int] | None:
    """For an unknown key, the deepest mapping that ends right above it (inside the entry before
    it) and has that field, with the column of that mapping's keys: where a key lands whose
    indentation was cut (the last line of a block, dedented). Or the entry before it, when that is
    empty and has that field: its only field dedented, with the column one step in."""
    parent, key = path[:-1], path[-1]
    siblings = document.get(parent)
    if not isinstance(siblings, dict) or key not in siblings:
        return None
    before = predecessors.before(siblings, key)
    if before is None:
        return None
    found: tuple[Path, int] | None = None
    probe: Path = (*parent, before)
    if document.get(probe) is None:
        # `autoscalePolicy:` left empty, its only field dedented beside it
        owner = _model_at(model, probe)
        if owner is None or key not in field_names(owner):
            return None
        column = document.span_of(probe, key=True).column
        outer = document.span_of(parent, key=True).column if parent else 1
        return probe, column + (column - outer if column > outer else 2)
    while isinstance(value := document.get(probe), dict) and value:
        owner = _model_at(model, probe)
        if owner is None:
            break
        last = list(value)[-1]
        if key in field_names(owner) and key not in value:
            found = (probe, document.span_of((*probe, last), key=True).column)
        probe = (*probe, last)
    return found


class _Predecessors:
    """Each key's predecessor in the mappings of one document whose errors are being reported:
    one pass per mapping, not one per unknown key (60,000 of them in a file under the size limit
    took a minute)."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[dict[Any, Any], dict[Any, Any]]] = {}

    def before(self, mapping: dict[Any, Any], key: Any) -> Any:
        """The key written before ``key`` in ``mapping`` (None for its first)."""
        known = self._known.get(id(mapping))
        if known is None or known[0] is not mapping:
            names = list(mapping)
            known = (mapping, dict(zip(names[1:], names, strict=False)))
            self._known[id(mapping)] = known
        return known[1].get(key)


def _error_diagnostic(
    document: SourceDocument, model: type[Envelope], error: Any, predecessors: _Predecessors
) -> Diagnostic:
    kind = error["type"]
    path = _error_path(document, error)
    where = format_path(path)
    subject = f"{document.data.get('kind')}/{document.get(('metadata', 'name'))}"
    if kind == "extra_forbidden":
        owner = _model_at(model, path[:-1])
        known = field_names(owner) if owner else []
        key = str(path[-1])
        suggestion = closest_name(key, known)
        hint = (
            f"did you mean `{suggestion}`?"
            if suggestion
            else (f"known fields here: {', '.join(known)}" if known else None)
        )
        home = _deeper_home(document, model, path, predecessors)
        if home is not None:
            # `use_gpu:` dedented out of deploymentSpec: the field exists, one level further in
            mapping, column = home
            hint = (
                f"`{key}` is a field of {format_path(mapping)}, which ends just above: indented "
                f"too little? Indent it to column {column}, like the other fields of "
                f"`{mapping[-1]}`"
                if document.get(mapping) is not None
                else f"`{key}` is a field of {format_path(mapping)}, which is empty just above: "
                f"indented too little? Indent it to column {column}, under `{mapping[-1]}`"
            )
        where_key = format_path(path[:-1]) or "the manifest"
        return make_diagnostic(
            rules.UNKNOWN_FIELD,
            f"unknown field `{key}` in {where_key}",
            document.span_of(path, key=True),
            path=path,
            hint=hint,
            subject=subject,
        )
    if kind == "missing":
        parent = format_path(path[:-1]) or "the manifest"
        return make_diagnostic(
            rules.MISSING_FIELD,
            f"missing required field `{path[-1]}` in {parent}",
            document.span_of(path[:-1], key=True),
            path=path,
            subject=subject,
        )
    value = document.get(path)
    span = document.span_of(path)
    if kind in _ENUM_TYPES:
        expected = str(error.get("ctx", {}).get("expected", ""))
        choices = [
            part.strip(" '") for part in expected.replace(" or ", ", ").split(",") if part.strip()
        ]
        suggestion = closest_name(str(value), choices) if isinstance(value, str) else None
        return make_diagnostic(
            rules.BAD_ENUM_VALUE,
            f"{where} is {describe_value(value)}; allowed: {expected}",
            span,
            path=path,
            hint=f"did you mean `{suggestion}`?" if suggestion else None,
            subject=subject,
        )
    written = document.plain_scalars.get(path)
    written_note = f" (written `{shortened(written)}`)" if written and written != str(value) else ""
    if kind in _TYPE_NAMES or kind == _UNION_TYPE:
        hint = None
        if kind == "string_type" and written is not None:
            hint = f'quote it to keep it as written: "{shortened(written)}"'
        elif kind in _TYPE_NAMES:
            hint = _written_as(kind, value)
        expected = _either(error["ctx"]["expected"]) if kind == _UNION_TYPE else _TYPE_NAMES[kind]
        return make_diagnostic(
            rules.WRONG_TYPE,
            f"{where} must be {expected}, not {describe_value(value)}" + written_note,
            span,
            path=path,
            hint=hint,
            subject=subject,
        )
    if kind in _RANGE_PHRASES:
        phrase = _RANGE_PHRASES[kind].format(
            **{
                k: f"{v:,}" if isinstance(v, int) and abs(v) >= 10_000 else v
                for k, v in error.get("ctx", {}).items()
            }
        )
        return make_diagnostic(
            rules.INVALID_VALUE,
            f"{where} must be {phrase}, not {describe_value(value)}" + written_note,
            span,
            path=path,
            hint=_range_hint(model, path),
            subject=subject,
        )
    # the spec's own formats and ranges say what is allowed
    if str(error.get("msg", "")).startswith("must "):
        return make_diagnostic(
            rules.INVALID_VALUE,
            f"{where} {error['msg']}, not {describe_value(value)}" + written_note,
            span,
            path=path,
            hint=_range_hint(model, path),
            subject=subject,
        )
    message = str(error.get("msg", "invalid value"))
    if kind == "string_pattern_mismatch":
        message = "not in the expected format"
    elif kind == "value_error" and "error" in error.get("ctx", {}):
        # a validator's own sentence, without pydantic's prefix
        message = str(error["ctx"]["error"])
    hint = _range_hint(model, path)
    return make_diagnostic(
        rules.INVALID_VALUE,
        f"{where}: {_sentence_inside(message)} (got {describe_value(value)})",
        span,
        path=path,
        hint=hint,
        subject=subject,
    )


def _merge_misspelt_required(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """One mistake, one diagnostic: `storageURI` for `storageUri` is an unknown field whose
    suggestion is exactly the missing required field, so the missing-field error is dropped and the
    hint says so."""
    missing = {d.path: d for d in diagnostics if d.code == rules.MISSING_FIELD.code}
    merged: list[Diagnostic] = []
    absorbed: set[Path] = set()
    for diagnostic in diagnostics:
        if diagnostic.code == rules.UNKNOWN_FIELD.code and diagnostic.hint:
            suggestion = diagnostic.hint.removeprefix("did you mean `").removesuffix("`?")
            twin = (*diagnostic.path[:-1], suggestion)
            if twin in missing:
                absorbed.add(twin)
                diagnostic = replace(
                    diagnostic, hint=f"did you mean `{suggestion}`? (it is required and missing)"
                )
        merged.append(diagnostic)
    return [d for d in merged if not (d.code == rules.MISSING_FIELD.code and d.path in absorbed)]


_MAY_HAVE_NAME: dict[type, bool] = {}


def _may_have_name(spec_type: type) -> bool:
    """Whether a spec of this type can have a `name` (most cannot: an Approval's, a TrainingJob's).
    Asking a pydantic model for an attribute it lacks raises and catches an error, a few
    microseconds for each of thousands of documents."""
    known = _MAY_HAVE_NAME.get(spec_type)
    if known is None:
        fields = getattr(spec_type, "model_fields", None)
        known = not isinstance(fields, dict) or "name" in fields or hasattr(spec_type, "name")
        _MAY_HAVE_NAME[spec_type] = known
    return known


def validate_document(document: SourceDocument) -> tuple[Envelope | None, list[Diagnostic]]:
    """Validate one document against its kind. Returns the typed manifest, or None with
    diagnostics. A manifest found without a diagnostic is kept on the document (its data does
    not change), for a process that reads the same file again."""
    if document.validated is not None:
        return cast(Envelope, document.validated), []
    data = document.data
    api_version = data.get("apiVersion")
    kind = data.get("kind")
    if api_version != API_VERSION:
        message = (
            "missing `apiVersion`"
            if api_version is None
            else f'apiVersion is {describe_value(api_version)}, expected "{API_VERSION}"'
        )
        return None, [
            make_diagnostic(
                rules.WRONG_API_VERSION,
                message,
                document.span_of(("apiVersion",)),
                path=("apiVersion",),
                hint=f"apiVersion: {API_VERSION}",
            )
        ]
    if not isinstance(kind, str) or kind not in KINDS:
        suggestion = closest_name(kind, KINDS) if isinstance(kind, str) else None
        message = (
            "missing `kind`"
            if kind is None
            else f"kind is {describe_value(kind)}, not an llmops kind"
        )
        hint = f"did you mean `{suggestion}`?" if suggestion else f"kinds: {', '.join(KINDS)}"
        return None, [
            make_diagnostic(
                rules.UNKNOWN_KIND, message, document.span_of(("kind",)), path=("kind",), hint=hint
            )
        ]
    model = KINDS[kind].model
    try:
        manifest = model.model_validate(data)
    except ValidationError as error:
        errors = _merge_union_errors(document, error.errors(include_url=False))
        predecessors = _Predecessors()
        diagnostics = [
            _repeated(_error_diagnostic(document, model, item, predecessors), repeats)
            for item, repeats in _one_per_written_place(document, errors)
        ]
        # One mistake, one diagnostic: a value the loader reported (`!!int abc`, `on`) is not
        # reported again.
        return None, merge_missing_fields(
            document,
            _merge_misspelt_required(
                [
                    d
                    for d in diagnostics
                    if d.path not in document.reported or d.code not in _VALUE_CODES
                ]
            ),
        )
    spec: object = getattr(manifest, "spec", None)
    spec_name = getattr(spec, "name", None) if _may_have_name(type(spec)) else None
    if spec_name is not None and spec_name != manifest.metadata.name:
        return manifest, [
            make_diagnostic(
                rules.SPEC_NAME_MISMATCH,
                f'spec.name "{spec_name}" differs from metadata.name "{manifest.metadata.name}"',
                document.span_of(("spec", "name")),
                path=("spec", "name"),
                hint=f'set spec.name to "{manifest.metadata.name}" or remove it',
            )
        ]
    document.validated = manifest
    return manifest, []


def _sentence_inside(message: str) -> str:
    """A validator's sentence continued after a colon: its first letter lower-cased, unless the
    first word is an acronym or a name (`CPU is counted ...` stays; `cPU` is nobody's word)."""
    first = message.split(" ", 1)[0]
    if len(first) > 1 and first[1].isupper():
        return message
    return message[:1].lower() + message[1:]
