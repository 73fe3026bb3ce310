"""`llmops-train`: run the training job the environment describes; exit 0 when its output is
written.

Exit codes as llmops's own: 0 trained and written, 1 a problem with the data, the model, the request
or the storage (one line on stderr saying what and where), 2 the contract itself is broken (a
variable or job.json missing or malformed), 3 a bug in the trainer (with its traceback), 130
interrupted.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Mapping
from pathlib import Path

from compiler.target import training_contract as contract
from compiler.target.training_contract import METADATA_FILE
from llmops.train.errors import TrainerError
from llmops.train.formats import to_examples, training_format
from llmops.train.hyperparameters import resolve_hyperparameters
from llmops.train.metadata import build_metadata
from llmops.train.progress import Progress, peak_memory_mib
from llmops.train.publish import publish
from llmops.train.records import read_dataset
from llmops.train.request import read_request
from llmops.train.storage import check_base_model

EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def run(environ: Mapping[str, str], progress: Progress) -> None:
    started = datetime.datetime.now(datetime.UTC)
    request = read_request(environ)
    adapters = request.finetuning_type in ("lora", "qlora")
    settings = resolve_hyperparameters(request.hyperparameters, adapters=adapters)
    chosen = training_format(request)
    method = f"{request.method} ({request.finetuning_type or 'full'})"
    progress.say(
        f"{request.job}: {method} of {request.base_model_id} on {request.dataset_id} -> "
        f"{request.output_uri}"
    )
    data = read_dataset(request.dataset_uri)
    examples = to_examples(data.records, chosen, request.dataset_type)
    progress.say(
        f"dataset: {len(examples)} {chosen} examples from {len(data.files)} file(s), "
        f"sha256 {data.digest()[:12]}"
    )
    check_base_model(request.base_model_uri)
    # torch and transformers: only once the request and the data are good
    from llmops.train.sft import train

    with tempfile.TemporaryDirectory(prefix="llmops-train-") as scratch:
        outcome = train(request, settings, examples, Path(scratch), progress)
        outcome.metrics["peakMemoryMiB"] = round(peak_memory_mib(), 1)
        document = build_metadata(
            request, settings, data, chosen, outcome, progress.history, started
        )
        (outcome.folder / METADATA_FILE).write_text(
            json.dumps(document, indent=2) + "\n", encoding="utf-8"
        )
        stale = publish(outcome.folder, request.output_uri, outcome.files)
    if stale:
        progress.say(f"removed {len(stale)} file(s) an earlier run wrote there: {', '.join(stale)}")
    metrics = outcome.metrics
    progress.say(
        f"done in {progress.elapsed():.1f} s: {metrics['steps']} steps, loss "
        f"{_loss(metrics['firstLoss'])} -> {_loss(metrics['finalLoss'])}, peak memory "
        f"{metrics['peakMemoryMiB']:.0f} MiB; wrote the {outcome.kind} and {METADATA_FILE} to "
        f"{request.output_uri}"
    )


def _loss(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def main(environ: Mapping[str, str] | None = None) -> int:
    progress = Progress()
    try:
        run(os.environ if environ is None else environ, progress)
    except TrainerError as error:
        print(f"llmops-train: error: {error}", file=sys.stderr, flush=True)
        return error.exit_code
    except KeyboardInterrupt:
        print("llmops-train: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except Exception:  # a bug: say so, with the traceback that locates it
        print(
            "llmops-train: internal error (a bug in the trainer; please report it with this log):",
            file=sys.stderr,
            flush=True,
        )
        traceback.print_exc()
        return EXIT_INTERNAL
    return 0


_AS_RENDERED = ", ".join(
    (
        contract.ENV_OUTPUT_URI,
        contract.ENV_BASE_MODEL_URI,
        contract.ENV_DATASET_URI,
        contract.ENV_TRAINING_METHOD,
        contract.ENV_JOB_DIGEST,
    )
)
USAGE = f"""\
usage: llmops-train

Runs the training job a Job rendered by `llmops render` describes, and exits 0 once its output is
written (README: Training). It takes no arguments: the Job's environment says everything.

  {contract.ENV_TRAINING_CONFIG}       the job's job.json (the batch/v1 Job backend), or
  {contract.ENV_TRAINING_CONFIG_JSON}  its text (the Kubeflow TrainJob backend)
  {contract.ENV_HYPERPARAMETERS}       a JSON file of hyperparameters that replaces the job's
  {_AS_RENDERED}
                               as the rendered Job sets them

exit codes: 0 trained and written; 1 a problem with the data, the model, the request or the
storage; 2 the Job's contract is broken (a variable or job.json missing or malformed); 3 a bug in
the trainer; 130 interrupted
"""


def entrypoint() -> None:
    arguments = sys.argv[1:]
    if arguments in (["-h"], ["--help"]):
        print(USAGE, end="")
        sys.exit(0)
    if arguments:
        print(
            f"llmops-train: error: it takes no arguments (got {arguments[0]!r}); "
            "`llmops-train --help` says what it reads",
            file=sys.stderr,
        )
        sys.exit(2)
    sys.exit(main())
