"""What the trainer refuses, with the exit code it refuses with: one clear line, never a
traceback."""

from __future__ import annotations

EXIT_PROBLEM = 1  # bad data, an unusable model, a request this trainer cannot run
EXIT_USAGE = 2  # the contract itself is broken: a variable or the job file is missing or malformed


class TrainerError(Exception):
    """A problem the user can fix (the data, the job, the model, the storage): printed as one
    line."""

    exit_code = EXIT_PROBLEM


class ContractError(TrainerError):
    """The environment or job.json does not follow the contract the renderer writes."""

    exit_code = EXIT_USAGE
