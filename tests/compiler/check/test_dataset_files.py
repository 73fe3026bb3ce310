"""Dataset sample files are bounded and read in bounded memory; hostile records are diagnostics, not
crashes.

A 50 MB CSV used 311 MB and a JSONL record nested 100,000 levels crashed `validate` with
RecursionError (exit 3). Now a file over the limit is D001 naming the limit, read without its bytes
being loaded; a file under it is read a line at a time; a record nested deeper than any dataset
needs is D002 at its line.
"""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.check.dataset_files import MAX_DATASET_FILE_BYTES, MAX_RECORD_DEPTH, read_sample_file
from compiler.load.strict_json import MAX_INTEGER_DIGITS
from compiler.load.tree import DirectoryTree
from tests.helpers.estate import run_cli, write_files

DATASET = """\
apiVersion: llmops.io/v1
kind: Dataset
metadata:
  name: support
spec:
  version: v1
  type: {type}
  storage_uri: s3://datasets/support/v1/
  files:
    - examples/{name}
"""
ROW = 'How do I reset my password?,"Open settings, choose Security, then Reset password."\n'


def estate(root: Path, name: str, content: bytes, dataset_type: str = "sft_pair") -> Path:
    return write_files(
        root,
        {
            "environments/dev/dataset.yaml": DATASET.format(type=dataset_type, name=name),
            f"examples/{name}": content,
        },
    )


def csv_of_size(size: int) -> bytes:
    rows = ROW * (size // len(ROW) + 1)
    return ("instruction,output\n" + rows).encode()[:size].rsplit(b"\n", 1)[0] + b"\n"


def test_a_file_over_the_limit_is_d001_with_the_limit_in_the_message(tmp_path: Path) -> None:
    root = estate(tmp_path, "big.csv", csv_of_size(MAX_DATASET_FILE_BYTES + 1024))
    result = run_cli("validate", str(root))
    assert result.exit_code == 1
    assert "environments/dev/dataset.yaml:10:7: error[D001]" in result.stdout
    assert f"the limit is {MAX_DATASET_FILE_BYTES:,} bytes (16.0 MiB)" in result.stdout


@pytest.mark.parametrize("depth", [MAX_RECORD_DEPTH, 5_000, 100_000])
def test_a_deeply_nested_jsonl_record_is_d002_at_its_line(tmp_path: Path, depth: int) -> None:
    prefix = '{"text": "deep", "extra": '
    record = prefix + "[" * depth + "]" * depth + "}"
    content = f'{{"text": "fine"}}\n{record}\n'.encode()
    root = estate(tmp_path, "deep.jsonl", content, dataset_type="text")
    result = run_cli("validate", str(root))
    if depth < MAX_RECORD_DEPTH:
        assert result.exit_code == 0, result.stdout
    else:
        assert result.exit_code == 1, result.stdout + result.stderr
        # pointed at the first bracket past the limit (the record's own object is one level)
        column = len(prefix) + MAX_RECORD_DEPTH
        assert (
            f"examples/deep.jsonl:2:{column}: error[D002]: arrays and objects nested more than "
            f"{MAX_RECORD_DEPTH} levels deep" in result.stdout
        )


def test_a_record_at_the_depth_limit_is_read(tmp_path: Path) -> None:
    depth = MAX_RECORD_DEPTH - 1  # the record's own object is one level
    root = estate(
        tmp_path, "ok.jsonl", ('{"text": ' + "[" * depth + "]" * depth + "}\n").encode(), "text"
    )
    sample = read_sample_file(DirectoryTree(root), "examples/ok.jsonl")
    assert (sample.parse_error, sample.records) == (None, 1)


def test_reading_holds_the_file_once_not_decoded_copies_of_it(tmp_path: Path) -> None:
    size = 8 * 1024 * 1024
    root = estate(tmp_path, "large.csv", csv_of_size(size))
    tracemalloc.start()
    try:
        sample = read_sample_file(DirectoryTree(root), "examples/large.csv")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sample.parse_error is None and sample.records > 90_000
    # The file's bytes plus one record at a time; decoding the whole text (and a StringIO of it)
    # took 3x.
    assert peak < size * 1.25, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB file"


@pytest.mark.parametrize(
    ("content", "records", "error"),
    [
        (b'\xef\xbb\xbf{"text": "bom"}\n', 1, None),
        # U+2028 inside a string, CRLF endings
        (b'{"text": "a\xe2\x80\xa8b"}\r\n{"text": "c"}\n', 2, None),
        (b'{"text": "a"}\n\n   \n{"text": "b"}', 2, None),
        (b'{"text": "a"}\n{"text": \n', 1, "not valid JSON"),
        # a byte order mark is allowed before the first record only, as `json.loads` reads lines
        (b'{"text": "a"}\n\xef\xbb\xbf{"text": "b"}\n', 1, "not valid JSON: Unexpected UTF-8 BOM"),
    ],
)
def test_jsonl_lines_are_read_as_before(
    tmp_path: Path, content: bytes, records: int, error: str | None
) -> None:
    root = estate(tmp_path, "s.jsonl", content, "text")
    sample = read_sample_file(DirectoryTree(root), "examples/s.jsonl")
    assert sample.records == records
    assert (sample.parse_error or "").startswith(error or "")
    assert (sample.parse_error is None) == (error is None)


def test_a_bad_byte_late_in_a_large_file_is_positioned(tmp_path: Path) -> None:
    content = csv_of_size(3 * 1024 * 1024)
    lines = content.count(b"\n")
    root = estate(tmp_path, "bad.csv", content + b"caf\xe9,x\n")
    sample = read_sample_file(DirectoryTree(root), "examples/bad.csv")
    assert sample.unreadable is not None
    assert (sample.unreadable.line, sample.unreadable.column) == (lines + 1, 4)


def test_csv_with_quoted_line_breaks_and_cr_line_endings(tmp_path: Path) -> None:
    root = estate(tmp_path, "s.csv", b'instruction,output\r\n"two\nlines",ok\r\nb,c\r\n')
    sample = read_sample_file(DirectoryTree(root), "examples/s.csv")
    assert (sample.parse_error, sample.records, sample.columns) == (
        None,
        2,
        {"instruction", "output"},
    )


NOT_PORTABLE = {
    "NaN": "`NaN` is not a JSON number",
    "Infinity": "`Infinity` is not a JSON number",
    "-Infinity": "`-Infinity` is not a JSON number",
    "1e999": "the number 1e999 is too large for a double",
    "-2.5E+400": "the number -2.5E+400 is too large for a double",
    "9" * 5000: "an integer of 5000 digits",
    "-" + "1" * 4301: "an integer of 4301 digits",
    '"\\ud800"': "lone UTF-16 surrogate",
    '"a\\udfffb"': "lone UTF-16 surrogate",
}


@pytest.mark.parametrize(
    ("value", "where"),
    [
        *((value, where) for value in sorted(NOT_PORTABLE) for where in ("value", "nested")),
        *((value, "key") for value in sorted(NOT_PORTABLE) if value.startswith('"')),
    ],
    ids=lambda v: v[:12],
)
def test_a_value_json_readers_disagree_on_is_d002_at_its_line_and_column(
    tmp_path: Path, value: str, where: str
) -> None:
    """A 5,000-digit integer crashed validate (exit 3); NaN, Infinity and 1e999 passed."""
    field = {
        "value": f'"extra": {value}',
        "nested": f'"extra": {{"a": [1, {value}]}}',
        "key": f"{value}: 1",
    }[where]
    record = f'{{"text": "fine", {field}}}'
    root = estate(tmp_path, "odd.jsonl", f'{{"text": "fine"}}\n{record}\n'.encode(), "text")
    result = run_cli("validate", str(root))
    assert result.exit_code == 1, result.stdout + result.stderr
    column = record.find(value) + 1 if not value.startswith('"') else 1
    assert f"examples/odd.jsonl:2:{column}: error[D002]: not portable JSON" in result.stdout
    assert NOT_PORTABLE[value] in result.stdout
    assert "a double can hold" in result.stdout  # the hint says how to fix it


@pytest.mark.parametrize(
    "value", ["0", "-0", "1.5e308", "-1e-400", "9" * 4300, "1" * 300 + ".5", '"\\ud83d\\ude00"']
)
def test_values_every_json_reader_reads_alike_pass(tmp_path: Path, value: str) -> None:
    content = f'{{"text": "fine", "extra": {value}}}\n'.encode()
    root = estate(tmp_path, "ok.jsonl", content, "text")
    sample = read_sample_file(DirectoryTree(root), "examples/ok.jsonl")
    assert sample.parse_error is None and sample.records == 1


number_texts = st.one_of(
    st.tuples(st.sampled_from(["", "-"]), st.integers(1, 6000)).map(
        lambda t: t[0] + "1" + "7" * (t[1] - 1)
    ),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"-?[1-9][0-9]{0,5}(\.[0-9]{1,5})?[eE][+-]?[0-9]{1,4}", fullmatch=True),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=number_texts)
def test_any_number_is_read_or_d002_never_a_crash(tmp_path: Path, text: str) -> None:
    content = f'{{"text": "t", "n": {text}}}\n'.encode()
    root = estate(tmp_path, "n.jsonl", content, "text")
    sample = read_sample_file(DirectoryTree(root), "examples/n.jsonl")
    digits = len(text.lstrip("-"))
    is_float = any(c in text for c in ".eE")
    portable = math.isfinite(float(text)) if is_float else digits <= MAX_INTEGER_DIGITS
    assert (sample.parse_error is None) == portable, (text[:40], sample.parse_error)


@pytest.mark.parametrize(
    ("header", "dataset_type", "rename"),
    [
        ("instruction,response", "sft_pair", "rename `response` to `output`; "),
        ("question,answer", "eval", "rename `question` to `input` and `answer` to `expected`; "),
        ("instruction,notes", "sft_pair", ""),  # nothing that is most likely `output`
    ],
)
def test_a_column_another_tool_names_otherwise_is_named_in_the_hint(
    tmp_path: Path, header: str, dataset_type: str, rename: str
) -> None:
    content = f"{header}\nHow do I reset my password?,Open settings.\n".encode()
    root = estate(tmp_path, "sample.csv", content, dataset_type)
    result = run_cli("validate", str(root), "--format", "json")
    (found,) = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "D003"]
    assert found["hint"].startswith(rename + f"`{dataset_type}` datasets need: ")


def test_repeated_records_are_summarized_as_if_each_were_read(tmp_path: Path) -> None:
    """Short records read before are not parsed again; what the file says stays the same: the
    first record missing a key, and a bad line after thousands of repeats, at its line."""
    content = b'{"text": "a"}\n' * 3000 + b'{"other": 1}\n' + b'{"text": "a"}\n' + b"[1]\n"
    root = estate(tmp_path, "s.jsonl", content, "text")
    sample = read_sample_file(DirectoryTree(root), "examples/s.jsonl")
    assert sample.records == 3002
    assert sample.missing_by_line == {"text": 3001}
    assert (sample.parse_error, sample.error_line) == ("each line must be a JSON object", 3003)


class _CountingTree(DirectoryTree):
    reads: ClassVar[list[str]] = []

    def read_bytes(self, path: str, limit: int) -> bytes:
        type(self).reads.append(path)
        return super().read_bytes(path, limit)


def test_a_sample_file_is_read_once_however_its_path_is_written(tmp_path: Path) -> None:
    """Each spelling of one path (`data/./s.jsonl`) read the file again: 23 s each for 16 MiB."""
    from compiler.pipeline import validate_repository

    spellings = ["examples/s.jsonl", "examples/./s.jsonl", "./examples/s.jsonl"]
    text = DATASET.format(type="text", name="s.jsonl").replace(
        "    - examples/s.jsonl\n", "".join(f"    - {path}\n" for path in spellings)
    )
    root = write_files(
        tmp_path,
        {"environments/dev/dataset.yaml": text, "examples/s.jsonl": b'{"text": "a"}\n'},
    )
    _CountingTree.reads = []
    validate_repository(_CountingTree(root))
    assert _CountingTree.reads.count("examples/s.jsonl") == 1


def test_a_wide_header_is_named_by_its_first_columns_and_how_many_more(tmp_path: Path) -> None:
    """A header of 200,000 columns listed 1,000 times made 1,000 messages of 1.7 MB (104 s,
    1.7 GB); the message names the first twenty columns and counts the rest."""
    header = ",".join(f"c{index:05d}" for index in range(5000))
    root = estate(tmp_path, "wide.csv", (header + "\n" + "x," * 4999 + "x\n").encode())
    found = run_cli("validate", "--format", "json", str(root))
    (columns,) = [d for d in json.loads(found.stdout)["diagnostics"] if d["code"] == "D003"]
    listed = ", ".join(f"c{index:05d}" for index in range(20))
    assert f"(it has: {listed} and 4,980 more)" in columns["message"]


def test_only_short_sample_paths_are_remembered() -> None:
    """A process that goes on (the warm server) must not keep every version of a long path: the
    spelling of a sample file's path is remembered only up to 256 characters."""
    from compiler.check import datasets

    before = datasets._remembered_sample_key.cache_info().currsize
    long_path = "data/" + "d/" * 200 + "s.jsonl"
    assert datasets._sample_key(long_path) == datasets._sample_key_of(long_path)
    assert datasets._remembered_sample_key.cache_info().currsize == before
    assert datasets._sample_key("data/./s.jsonl") == datasets._sample_key("data/s.jsonl")
