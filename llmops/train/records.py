"""The dataset's files, read into records: CSV (a header row) or JSON Lines (one object per line).

The dataset URI names a file or a folder; in a folder every `.csv`, `.jsonl` and `.json` file is
read, in name order, and other files (a README, a checksum list) are left alone. The dataset's
identity is the SHA-256 of its files (names and contents), recorded in the output's metadata file:
the model says exactly what it learned from. Every problem is reported with the file and line it is
on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

from compiler.load.strict_json import JsonRefused, loads
from llmops.train.errors import TrainerError
from llmops.train.storage import StoredFile, list_files, read_bytes

DATA_SUFFIXES = (".csv", ".jsonl", ".json")
# As deep as `llmops validate` lets a sample record nest (D002): chat messages with tool calls nest
# about 6 levels; a .json file's list adds one.
MAX_RECORD_DEPTH = 100


@dataclass(frozen=True)
class Record:
    """One row or object, with where it came from (for error messages)."""

    values: dict[str, Any]
    source: str  # `file:line`


@dataclass
class DatasetFiles:
    records: list[Record] = field(default_factory=list)
    # name, bytes, sha256 of each file read
    files: list[dict[str, Any]] = field(default_factory=list)

    def digest(self) -> str:
        """SHA-256 over the files' names and SHA-256s: equal exactly when the same bytes were
        read."""
        canonical = json.dumps(
            [[entry["path"], entry["sha256"]] for entry in self.files], separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TrainerError(
            f"{where}:{line}: not UTF-8 text (byte {data[error.start]:#04x} at offset "
            f"{error.start}); save the file as UTF-8"
        ) from None


def _csv_records(text: str, where: str) -> list[Record]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(name.strip() for name in header):
            raise TrainerError(f"{where}: empty file (a CSV dataset starts with a header row)")
        names = [name.strip() for name in header]
        records = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                raise TrainerError(
                    f"{where}:{reader.line_num}: {len(row)} fields where the header has "
                    f"{len(names)}"
                )
            records.append(Record(dict(zip(names, row, strict=True)), f"{where}:{reader.line_num}"))
    except csv.Error as error:
        raise TrainerError(f"{where}:{reader.line_num}: not valid CSV: {error}") from None
    return records


def _refusal(where: str, line: int | None, refused: JsonRefused) -> TrainerError:
    """One line naming the file, the line (when known) and what is wrong with the JSON there."""
    column = f" (column {refused.column})" if refused.column is not None else ""
    at = f"{where}:{line}" if line is not None else where
    return TrainerError(f"{at}: {refused.message}{column}")


def _json_lines(text: str, where: str) -> list[Record]:
    records = []
    # Split on "\n" only: str.splitlines() also breaks at U+2028, U+0085 and others, which JSON
    # allows raw in strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = loads(line, max_depth=MAX_RECORD_DEPTH)
        except JsonRefused as refused:
            raise _refusal(where, number, refused) from None
        if not isinstance(value, dict):
            raise TrainerError(
                f"{where}:{number}: each line must be a JSON object, found {type(value).__name__}"
            )
        records.append(Record(value, f"{where}:{number}"))
    return records


def _json_array(text: str, where: str) -> list[Record]:
    try:
        value = loads(text, max_depth=MAX_RECORD_DEPTH + 1)
    except JsonRefused as refused:
        raise _refusal(where, refused.line, refused) from None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TrainerError(
            f"{where}: a .json dataset file must be a list of objects (or use .jsonl)"
        )
    return [Record(item, f"{where}[{index}]") for index, item in enumerate(value)]


def parse_file(name: str, data: bytes, where: str) -> list[Record]:
    """The records of one file, by its suffix."""
    text = _text(data, where)
    if not text.strip():
        raise TrainerError(f"{where}: empty file")
    if name.endswith(".csv"):
        records = _csv_records(text, where)
    elif name.endswith(".jsonl"):
        records = _json_lines(text, where)
    else:
        records = _json_array(text, where)
    if not records:
        raise TrainerError(f"{where}: no records (only a header or blank lines)")
    return records


def read_dataset(uri: str) -> DatasetFiles:
    """Every record under the dataset URI (TrainerError when there is nothing to train on)."""
    stored = list_files(uri)
    data_files: list[StoredFile] = [
        entry for entry in stored if entry.relative.lower().endswith(DATA_SUFFIXES)
    ]
    if not data_files:
        found = ", ".join(entry.relative for entry in stored[:5]) or "nothing"
        raise TrainerError(
            f"{uri}: no dataset file (.csv, .jsonl or .json) found; it holds: {found}"
        )
    dataset = DatasetFiles()
    for entry in data_files:
        data = read_bytes(entry)
        where = entry.uri
        dataset.records.extend(parse_file(entry.relative.lower(), data, where))
        dataset.files.append(
            {"path": entry.relative, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
    return dataset
