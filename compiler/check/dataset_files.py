"""Read a dataset's local sample file (CSV or JSONL) and report what its records contain."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

from compiler.load.text import decode_utf8
from compiler.load.tree import FileProblem, RepoTree, normalize_repo_path

MAX_DATASET_FILE_BYTES = 64 * 1024 * 1024
DATASET_FORMATS = (".csv", ".jsonl")


@dataclass
class SampleFile:
    """What the checks need to know about one sample file."""

    path: str
    columns: set[str] = field(default_factory=set)  # keys present in every record
    records: int = 0
    unreadable: FileProblem | None = None
    parse_error: str | None = None
    error_line: int = 1
    error_column: int = 1
    missing_by_line: dict[str, int] = field(default_factory=dict)  # column -> first line lacking it
    first_record_line: int = 1  # where a column missing from the first record is first missing


def _read_csv(sample: SampleFile, text: str) -> None:
    reader = csv.reader(io.StringIO(text, newline=""))
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


def _read_jsonl(sample: SampleFile, text: str) -> None:
    common: set[str] | None = None
    # Split on "\n" only: str.splitlines() also breaks at U+2028, U+0085 and others, which JSON allows raw in strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            sample.parse_error, sample.error_line = f"not valid JSON: {error.msg}", number
            sample.error_column = error.colno
            return
        if not isinstance(record, dict):
            sample.parse_error, sample.error_line = "each line must be a JSON object", number
            return
        keys = set(record)
        if common is None:
            sample.first_record_line = number
        else:
            for missing in common - keys:
                sample.missing_by_line.setdefault(missing, number)
        common = keys if common is None else common & keys
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
        text = decode_utf8(tree.read_bytes(sample.path, MAX_DATASET_FILE_BYTES))
    except FileProblem as problem:
        sample.unreadable = problem
        return sample
    if sample.path.endswith(".csv"):
        _read_csv(sample, text)
    else:
        _read_jsonl(sample, text)
    return sample
