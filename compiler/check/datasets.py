"""Datasets (code family D): sample files exist, parse, have the right columns; jobs read the right type."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.dataset_files import SampleFile, read_sample_file
from compiler.check.rule import Finding, RelatedPlace, rule
from compiler.diagnostics import Severity
from compiler.positions import Span
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.dataset import REQUIRED_COLUMNS

E, W = Severity.ERROR, Severity.WARNING

# Which dataset types a training job can read as each `dataset_type`. The seeds' pairing (an sft_pair
# dataset trained as instruction) is the first entry.
TRAINABLE_AS: dict[str, frozenset[str]] = {
    "instruction": frozenset({"sft_pair", "instruction"}),
    "chat": frozenset({"chat", "sft_pair", "instruction"}),
    "preference": frozenset({"preference"}),
    "text": frozenset({"text"}),
}


def _samples(env: ResolvedEnvironment) -> Iterator[tuple[Manifest, int, SampleFile]]:
    for dataset in env.of_kind("Dataset"):
        for index, written in enumerate(dataset.spec.files):
            key = ("dataset-file", written)
            if key not in env.cache:
                env.cache[key] = read_sample_file(env.tree, written)
            yield dataset, index, env.cache[key]


@rule("D001", "dataset-file-unreadable", E, "A dataset's sample file is missing, outside the repo or unreadable.")
def dataset_file_unreadable(env: ResolvedEnvironment) -> Iterator[Finding]:
    """`files` lists repository-relative paths of sample files. Each must exist inside the repository (no
    absolute paths, no `..` or links leading out), be UTF-8, and stay under the size limit.
    Fix: correct the path or commit the file."""
    for dataset, index, sample in _samples(env):
        if sample.unreadable is not None:
            yield Finding(dataset, ("spec", "files", index), sample.unreadable.message, sample.unreadable.hint
                          or "paths are relative to the repository root")


@rule("D002", "dataset-file-unparseable", E, "A dataset's sample file is not valid CSV or JSONL.")
def dataset_file_unparseable(env: ResolvedEnvironment) -> Iterator[Finding]:
    """Sample files must parse: CSV with a header row and the same number of fields in every row, or JSONL
    with one JSON object per line. The diagnostic points at the bad line of the data file.
    Fix: repair the file."""
    for dataset, index, sample in _samples(env):
        if sample.unreadable is None and sample.parse_error is not None:
            supported = sample.path.endswith((".csv", ".jsonl"))
            span = Span(sample.path, sample.error_line, 1) if supported else None
            yield Finding(dataset, ("spec", "files", index), f"{sample.path}: {sample.parse_error}", span=span,
                          related=(RelatedPlace(dataset, ("spec", "files", index), "listed here"),) if span else ())


@rule("D003", "dataset-columns-missing", E, "A sample file lacks columns its dataset type needs.")
def dataset_columns_missing(env: ResolvedEnvironment) -> Iterator[Finding]:
    """Each dataset type needs certain columns (CSV header) or keys (every JSONL record): sft_pair and
    instruction need instruction and output; chat needs messages; preference needs prompt, chosen and
    rejected; text needs text; eval needs input and expected. Fix: rename the columns or change the type."""
    for dataset, index, sample in _samples(env):
        if sample.unreadable is not None or sample.parse_error is not None:
            continue
        missing = [column for column in REQUIRED_COLUMNS[dataset.spec.type] if column not in sample.columns]
        if missing:
            line = min((sample.missing_by_line.get(column, 1) for column in missing), default=1)
            yield Finding(dataset, ("spec", "files", index), f"{sample.path} lacks column(s) {', '.join(missing)} "
                          f"that a `{dataset.spec.type}` dataset needs (it has: "
                          f"{', '.join(sorted(sample.columns)) or 'none'})",
                          f"a {dataset.spec.type} dataset needs: {', '.join(REQUIRED_COLUMNS[dataset.spec.type])}",
                          span=Span(sample.path, line, 1),
                          related=(RelatedPlace(dataset, ("spec", "type"), "the dataset's type"),))


@rule("D004", "dataset-type-mismatch", E, "A training job reads a dataset as a type it is not.")
def dataset_type_mismatch(env: ResolvedEnvironment) -> Iterator[Finding]:
    """`trainJobSpec.dataset_type` says how the trainer reads records; it must fit the dataset's `type`.
    An sft_pair or instruction dataset trains as instruction or chat; chat as chat; preference as
    preference; text as text; eval datasets do not train. Fix: choose a matching dataset or dataset_type."""
    for job in env.of_kind("TrainingJob"):
        inner = job.spec.train_job_spec
        dataset = env.resolve_dataset(job.spec.dataset_id).manifest
        if inner is None or inner.dataset_type is None or dataset is None:
            continue
        if dataset.spec.type not in TRAINABLE_AS[inner.dataset_type]:
            fits = sorted(kind for kind, sources in TRAINABLE_AS.items() if dataset.spec.type in sources)
            yield Finding(job, ("spec", "trainJobSpec", "dataset_type"), f"dataset_type is {inner.dataset_type} "
                          f"but {dataset.subject} is of type {dataset.spec.type}",
                          f"a {dataset.spec.type} dataset trains as: {', '.join(fits)}" if fits
                          else f"{dataset.spec.type} datasets cannot be used for training",
                          related=(RelatedPlace(dataset, ("spec", "type"), "the dataset's type"),))


@rule("D005", "dataset-file-empty", W, "A sample file has no records.")
def dataset_file_empty(env: ResolvedEnvironment) -> Iterator[Finding]:
    """A sample with a header and no rows checks nothing. Fix: add a few representative records."""
    for dataset, index, sample in _samples(env):
        if sample.unreadable is None and sample.parse_error is None and sample.records == 0:
            yield Finding(dataset, ("spec", "files", index), f"{sample.path} has no records")


CHECKS = (dataset_file_unreadable, dataset_file_unparseable, dataset_columns_missing, dataset_type_mismatch,
          dataset_file_empty)
