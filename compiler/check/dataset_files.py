"""Read a dataset's local sample file (CSV or JSONL) and report what its records contain.

A sample is a few representative records, so files are bounded (MAX_DATASET_FILE_BYTES, reported as
D001 with the limit) and read a line at a time: besides the file's bytes, memory holds one record,
never a decoded copy of the whole file or a list of its lines. A JSONL record nested deeper than any
dataset needs is reported before the JSON parser recurses into it.

A JSONL record holds only what every JSON reader reads the same way: no `NaN` or `Infinity` (not
JSON), no number too large for a double (`1e999`), no integer longer than JSON readers in Python
accept (the trainer's among them), no lone UTF-16 surrogate (`"\\ud800"`, not a character).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from compiler.load.strict_json import JsonRefused, loads
from compiler.load.text import decode_utf8
from compiler.load.tree import FileProblem, RepoTree, normalize_repo_path

MAX_DATASET_FILE_BYTES = 16 * 1024 * 1024
# the short lines whose keys are remembered, and how many at most (at most 16 MiB in all)
_REMEMBERED_LINE, _REMEMBERED_LINES = 256, 65_536
MAX_RECORD_DEPTH = 100  # chat messages with tool calls nest about 6 levels; no dataset needs 100
DATASET_FORMATS = (".csv", ".jsonl")
NOT_PORTABLE_HINT = (
    "write numbers a double can hold (a value that is not a number as null or a string) and text "
    "as whole characters"
)


@dataclass(eq=False, repr=False)
class SampleFile:
    """What the checks need to know about one sample file."""

    path: str
    columns: set[str] = field(default_factory=set)  # keys present in every record
    records: int = 0
    unreadable: FileProblem | None = None
    parse_error: str | None = None
    parse_hint: str | None = None  # how to fix parse_error, when the format's own hint does not say
    error_line: int = 1
    error_column: int = 1
    missing_by_line: dict[str, int] = field(default_factory=dict)  # column -> first line lacking it
    first_record_line: int = 1  # where a column missing from the first record is first missing


def _lines(data: bytes, newline: str) -> Iterator[str]:
    """The file's lines, decoded as they are read (``newline`` as for ``open``). The caller has
    checked the whole file is UTF-8, so decoding cannot fail half-way."""
    return iter(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=newline))


def _read_csv(sample: SampleFile, data: bytes) -> None:
    # newline="": the csv module sees line breaks inside quoted fields, as with open(...,
    # newline="").
    reader = csv.reader(_lines(data, ""))
    try:
        header = next(reader, None)
        if header is None:
            return
        sample.columns = {name.strip() for name in header}
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                sample.parse_error = f"row has {len(row)} fields but the header has {len(header)}"
                sample.error_line = reader.line_num
                return
            sample.records += 1
    except csv.Error as error:
        sample.parse_error = f"not valid CSV: {error}"
        sample.error_line = reader.line_num


def _read_jsonl(sample: SampleFile, data: bytes) -> None:
    common: set[str] | None = None
    # the keys of each short record read before: a file of millions of short lines repeats them
    seen: dict[str, frozenset[str]] = {}
    # Split on "\n" only: str.splitlines() also breaks at U+2028, U+0085 and others, which JSON
    # allows raw in strings.
    for number, line in enumerate(_lines(data, "\n"), start=1):
        keys = seen.get(line)
        if keys is None:
            if not line.strip():
                continue
            try:
                record = loads(line, max_depth=MAX_RECORD_DEPTH)
            except JsonRefused as refused:
                sample.error_line, sample.error_column = number, refused.column or 1
                if refused.message.startswith(("not valid JSON", "arrays and objects nested")):
                    sample.parse_error = refused.message
                else:  # valid JSON text whose value JSON readers disagree on or refuse
                    sample.parse_error = f"not portable JSON: {refused.message}"
                    sample.parse_hint = NOT_PORTABLE_HINT
                return
            if not isinstance(record, dict):
                sample.parse_error, sample.error_line = "each line must be a JSON object", number
                return
            keys = frozenset(record)
            if len(line) <= _REMEMBERED_LINE and len(seen) < _REMEMBERED_LINES:
                seen[line] = keys
        if common is None:
            sample.first_record_line = number
            common = set(keys)
        elif not common <= keys:
            for missing in common - keys:
                sample.missing_by_line.setdefault(missing, number)
            common &= keys
        sample.records += 1
    sample.columns = common or set()


def read_sample_file(tree: RepoTree, written_path: str) -> SampleFile:
    """Read and summarize one sample file; never raises for bad content."""
    sample = SampleFile(path=written_path)
    try:
        sample.path = normalize_repo_path(written_path)
        if not sample.path.endswith(DATASET_FORMATS):
            sample.parse_error = "unsupported format; sample files must be .csv or .jsonl"
            return sample
        data = tree.read_bytes(sample.path, MAX_DATASET_FILE_BYTES)
        check_utf8(data)
    except FileProblem as problem:
        sample.unreadable = problem
        return sample
    if sample.path.endswith(".csv"):
        _read_csv(sample, data)
    else:
        _read_jsonl(sample, data)
    return sample


def check_utf8(data: bytes, chunk: int = 1 << 16) -> None:
    """Raise ``FileProblem`` (with line and column) unless ``data`` is UTF-8, decoding a chunk at a
    time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), chunk):
            decoder.decode(view[start : start + chunk])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        decode_utf8(data)  # the same error, with its line and column
        raise
