"""Datasets (code family D): sample files exist, parse, have the right columns; jobs read the right
type."""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterator

from compiler.check.dataset_files import SampleFile, read_sample_file
from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Category, Severity
from compiler.load.tree import FileProblem, normalize_repo_path
from compiler.positions import Span
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.dataset import REQUIRED_COLUMNS, DatasetSpec

E, W = Severity.ERROR, Severity.WARNING

# Which dataset types a training job can read as each `dataset_type`. The original platform's
# pairing (an sft_pair dataset trained as instruction) is the first entry.
TRAINABLE_AS: dict[str, frozenset[str]] = {
    "instruction": frozenset({"sft_pair", "instruction"}),
    "chat": frozenset({"chat", "sft_pair", "instruction"}),
    "preference": frozenset({"preference"}),
    "text": frozenset({"text"}),
}


def _sample_key(written: str) -> tuple[str, str]:
    """A sample file is read once per run, however its path is written (`data/s.jsonl`,
    `data/./s.jsonl`: each spelling read it again, 23 s a time for 16 MiB of short lines).
    Remembered for paths of up to 256 characters: a process that goes on (the warm server) must
    not keep every version of a long one."""
    return _remembered_sample_key(written) if len(written) <= 256 else _sample_key_of(written)


def _sample_key_of(written: str) -> tuple[str, str]:
    try:
        return ("dataset-file", normalize_repo_path(written))
    except FileProblem:  # reported by the path as written
        return ("dataset-file-as-written", written)


# asked by each dataset check, for every file of every dataset
_remembered_sample_key = functools.lru_cache(maxsize=4096)(_sample_key_of)


def _samples(env: ResolvedEnvironment) -> Iterator[tuple[Manifest[DatasetSpec], int, SampleFile]]:
    for dataset in env.of_kind("Dataset"):
        for index, written in enumerate(dataset.spec.files):
            yield (
                dataset,
                index,
                env.remember(
                    _sample_key(written), functools.partial(read_sample_file, env.tree, written)
                ),
            )


@rule(
    "D001",
    "dataset-file-unreadable",
    E,
    "A dataset's sample file is missing, outside the repo or unreadable.",
    category=Category.DATASET,
)
def dataset_file_unreadable(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Every path in a Dataset's `files` (sample files committed beside the estate) names a file
        inside the repository, relative to its root, that exists, is UTF-8 and is at most 16 MiB.
        Absolute paths, `..` and links leading out of the repository are refused.
    Why it matters:
        The sample files are how llmops checks a dataset's shape (D002, D003) before a training job
        spends GPU hours on it. A path that leads nowhere checks nothing, and one outside the
        repository would make validation depend on the machine it runs on.
    Wrong: a typo in the path
        # file: environments/dev/catalog/customer-support-dataset.yaml
          files:
            # Wrong: a typo ("sampel"); no such file exists in the repository.
            - examples/datasets/customer-support-sampel.csv
        $ ls examples/datasets
        customer-support-sample.csv
    Right: a repository-relative path to a file that exists
        # file: environments/dev/catalog/customer-support-dataset.yaml
          files:
            # Right: a repository-relative path to a file that exists.
            - examples/datasets/customer-support-sample.csv
    """
    for dataset, index, sample in _samples(env):
        if sample.unreadable is not None:
            message = sample.unreadable.message
            if (
                f"`{sample.path}`" not in message
                and f"`{dataset.spec.files[index]}`" not in message
            ):
                # e.g. an encoding problem, whose line is in the data file
                message = f"{sample.path}: {message}"
            yield Finding(
                dataset,
                ("spec", "files", index),
                message,
                sample.unreadable.hint or "paths are relative to the repository root",
            )


@rule(
    "D002",
    "dataset-file-unparseable",
    E,
    "A dataset's sample file is not valid CSV or JSONL.",
    category=Category.DATASET,
)
def dataset_file_unparseable(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        Every sample file parses: a CSV has a header row and the same number of fields in every row
        (fields with commas, quotes or line breaks quoted), a JSONL file holds one JSON object per
        line, nested at most 100 levels, with only values every JSON reader reads alike: no `NaN`
        or `Infinity`, no number beyond a double's range (`1e999`), no integer of more than 4,300
        digits, no lone UTF-16 surrogate (`"\\ud800"`). The diagnostic points at the bad line of
        the data file, with a note at the manifest that lists it.
    Why it matters:
        A trainer reading the real dataset in the same format would fail on that line, or worse
        split a record in two and train on shifted columns. The sample is the cheap place to notice
        that an export went wrong.
    Wrong: an unquoted comma gives line 3 four fields
        # file: examples/datasets/customer-support-sample.csv
        instruction,input,output
        ...
        "Track an order","Where is order 10423?",Order 10423 left our warehouse yesterday, ...
    Right: the text with a comma is quoted
        # file: examples/datasets/customer-support-sample.csv
        instruction,input,output
        ...
        "Track an order","Where is order 10423?","Order 10423 left our warehouse yesterday; ...
    """
    for dataset, index, sample in _samples(env):
        if sample.unreadable is None and sample.parse_error is not None:
            if sample.path.endswith(".csv"):
                hint = (
                    "every row needs the header's number of fields; quote fields that contain "
                    'commas or line breaks, doubling any " inside them'
                )
            elif sample.path.endswith(".jsonl"):
                hint = "JSONL holds one complete JSON object per line"
            else:
                hint = None
            hint = sample.parse_hint or hint
            # not a data file we read: the only place to point at is the `files` entry
            if hint is None:
                yield Finding(
                    dataset, ("spec", "files", index), f"{sample.path}: {sample.parse_error}"
                )
                continue
            yield Finding(
                dataset,
                ("spec", "files", index),
                sample.parse_error,
                hint,
                span=Span(sample.path, sample.error_line, sample.error_column),
                related=(RelatedPlace(dataset, ("spec", "files", index), "listed here"),),
            )


@rule(
    "D003",
    "dataset-columns-missing",
    E,
    "A sample file lacks columns its dataset type needs.",
    category=Category.DATASET,
)
def dataset_columns_missing(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A sample file has the columns (CSV header) or keys (every JSONL record) its dataset's `type`
        needs: `sft_pair` and `instruction` need instruction and output; `chat` needs messages;
        `preference` needs prompt, chosen and rejected; `text` needs text; `eval` needs input and
        expected.
    Why it matters:
        The trainer selects fields by these names; an export with other headers (prompt/completion
        from another tool) would train on empty fields or stop at the first record, after the job
        was scheduled.
    Wrong: prompt/completion headers for an sft_pair dataset
        # file: examples/datasets/customer-support-sample.csv
        prompt,completion
        # file: environments/dev/catalog/customer-support-dataset.yaml
          type: sft_pair
    Right: the columns sft_pair needs
        # file: examples/datasets/customer-support-sample.csv
        instruction,output
    """
    listed: dict[int, str] = {}
    for dataset, index, sample in _samples(env):
        if sample.unreadable is not None or sample.parse_error is not None:
            continue
        missing = [
            column for column in REQUIRED_COLUMNS[dataset.spec.type] if column not in sample.columns
        ]
        if missing:
            line = min(
                (
                    sample.missing_by_line.get(column, sample.first_record_line)
                    for column in missing
                ),
                default=1,
            )
            if id(sample) not in listed:  # a file listed again is not listed again
                listed[id(sample)] = _column_list(sample.columns)
            present = listed[id(sample)]
            if sample.path.endswith(".jsonl"):
                problem = f"not every record has the key(s) {', '.join(missing)}"
                present = f"keys in every record: {present}"
            else:
                problem = f"the header lacks the column(s) {', '.join(missing)}"
                present = f"it has: {present}"
            needed = REQUIRED_COLUMNS[dataset.spec.type]
            renames = _renames(missing, sample.columns, set(needed))
            yield Finding(
                dataset,
                ("spec", "files", index),
                f"{problem}, which `{dataset.spec.type}` datasets need ({present})",
                (f"rename {renames}; " if renames else "")
                + f"`{dataset.spec.type}` datasets need: {', '.join(needed)}",
                span=Span(sample.path, line, 1),
                related=(RelatedPlace(dataset, ("spec", "type"), "the dataset's type"),),
            )


# What other tools' exports call the columns llmops reads (Alpaca, OpenAI, ShareGPT, ...): a
# column of one of these names where a needed one is missing is most likely that one.
_OTHER_NAMES = {
    "output": ("response", "completion", "answer", "target", "assistant"),
    "instruction": ("prompt", "question", "query"),
    "prompt": ("instruction", "question", "query"),
    "input": ("question", "prompt", "query"),
    "expected": ("answer", "reference", "target", "label", "output"),
    "text": ("content", "document"),
    "messages": ("conversations", "conversation"),
}


def _renames(missing: list[str], columns: set[str], needed: set[str]) -> str:
    """ "`response` to `output`" for each missing column a spare column (one of ``columns`` not
    ``needed``) most likely is."""
    pairs = []
    taken = set(needed)
    for column in missing:
        found = next(
            (
                name
                for name in _OTHER_NAMES.get(column, ())
                if name in columns and name not in taken
            ),
            None,
        )
        if found is not None:
            taken.add(found)
            pairs.append(f"`{found}` to `{column}`")
    return " and ".join(pairs)


_LISTED_COLUMNS = 20  # a header of 200,000 columns made each finding's message 1.7 MB


def _column_list(columns: set[str]) -> str:
    """The columns in order, the first `_LISTED_COLUMNS` of them and how many more."""
    if not columns:
        return "none"
    first = heapq.nsmallest(_LISTED_COLUMNS, columns)
    more = len(columns) - len(first)
    return ", ".join(first) + (f" and {more:,} more" if more else "")


@rule(
    "D004",
    "dataset-type-mismatch",
    E,
    "A training job reads a dataset as a type it is not.",
    category=Category.DATASET,
)
def dataset_type_mismatch(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A training job's `trainJobSpec.dataset_type`, how the trainer reads records, fits the `type`
        of the Dataset it trains on: an sft_pair or instruction dataset trains as instruction or
        chat; chat as chat; preference as preference; text as text; eval datasets do not train.
    Why it matters:
        Read as another type, the records lack the fields the trainer looks for (a preference
        trainer wants chosen and rejected answers): the job fails after it was scheduled, or trains
        on nothing useful.
    Wrong: an sft_pair dataset read as preference pairs
        # file: environments/dev/training/customer-support-sft.yaml
          trainJobSpec:
            job_type: SFT
            dataset_type: preference
        # file: environments/dev/catalog/customer-support-dataset.yaml
          type: sft_pair
    Right: read as instruction data
        # file: environments/dev/training/customer-support-sft.yaml
          trainJobSpec:
            job_type: SFT
            dataset_type: instruction
    """
    for job in env.of_kind("TrainingJob"):
        inner = job.spec.train_job_spec
        dataset = env.resolve_dataset(job.spec.dataset_id).manifest
        if inner is None or inner.dataset_type is None or dataset is None:
            continue
        if dataset.spec.type not in TRAINABLE_AS[inner.dataset_type]:
            fits = sorted(
                kind for kind, sources in TRAINABLE_AS.items() if dataset.spec.type in sources
            )
            yield Finding(
                job,
                ("spec", "trainJobSpec", "dataset_type"),
                f"dataset_type is {inner.dataset_type} "
                f"but {dataset.subject} is of type {dataset.spec.type}",
                f"`{dataset.spec.type}` datasets train as: {', '.join(fits)}"
                if fits
                else f"{dataset.spec.type} datasets cannot be used for training",
                related=(RelatedPlace(dataset, ("spec", "type"), "the dataset's type"),),
            )


@rule("D005", "dataset-file-empty", W, "A sample file has no records.", category=Category.DATASET)
def dataset_file_empty(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A sample file holds at least one record: a CSV with rows below its header, a JSONL file with
        at least one line.
    Why it matters:
        An empty sample passes every other dataset check while checking nothing, so it gives false
        confidence: the columns of the real data are never compared with what the type needs. A
        warning, since the dataset itself may be fine.
    Wrong: a header and no rows
        # file: examples/datasets/customer-support-sample.csv
        instruction,input,output
        # file: environments/dev/catalog/customer-support-dataset.yaml
            # Wrong: the sample file has a header but no rows, so nothing in it gets checked.
            - examples/datasets/customer-support-sample.csv
    Right: a few representative rows
        # file: examples/datasets/customer-support-sample.csv
        instruction,input,output
        "Reset my password","I forgot the password for my account.","Open Settings > Security...
        ...
    """
    for dataset, index, sample in _samples(env):
        if sample.unreadable is None and sample.parse_error is None and sample.records == 0:
            yield Finding(
                dataset,
                ("spec", "files", index),
                f"{sample.path} has no records",
                "add a few representative records, or remove the file from `files`",
            )


CHECKS = (
    dataset_file_unreadable,
    dataset_file_unparseable,
    dataset_columns_missing,
    dataset_type_mismatch,
    dataset_file_empty,
)
