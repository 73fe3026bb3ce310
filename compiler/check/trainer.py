"""A training job run by llmops's own trainer: its hyperparameters are ones that trainer takes (the
trainer refuses the job at start otherwise, after the Job was synced and scheduled)."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rule import Finding, rule
from compiler.diagnostics import Category, Severity
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.manifest import Manifest
from compiler.spec.training import TrainingJobSpec
from compiler.target.trainer_hyperparameters import HyperparameterRefused, checked_hyperparameters
from compiler.target.training_contract import HYPERPARAMETER_NAMES, TRAINER_COMMAND


def runs_llmops_trainer(env: ResolvedEnvironment, job: Manifest[TrainingJobSpec]) -> bool:
    """Whether the job's container runs `llmops-train`: it names that command, or names none and
    runs llmops's trainer image (a TrainJob always names it: its runtime's command would run
    otherwise). Another image or command is a trainer llmops knows nothing of."""
    command = tuple(job.spec.command or ())
    if command:
        return command == TRAINER_COMMAND
    training = env.settings.training
    if training.backend == "trainjob":
        return True
    return job.spec.image is None and "image" not in training.model_fields_set


@rule(
    "M010",
    "hyperparameter-refused-by-trainer",
    Severity.ERROR,
    "A training job's hyperparameter is one llmops's trainer does not take, or out of its range.",
    category=Category.LINEAGE,
)
def hyperparameter_refused_by_trainer(env: ResolvedEnvironment) -> Iterator[Finding]:
    """What it checks:
        A training job that runs llmops's own trainer (`llmops-train`, in the trainer image llmops
        names) sets only hyperparameters that trainer takes, each of its type and range: the names
        `llmops rules M010` lists below. A job with its own `image` or `command` may set any.
    Why it matters:
        The trainer checks them when it starts and refuses the whole job: a misspelt
        `learnig_rate` must not train for hours at the default rate. Found in review instead, it
        costs no scheduled GPU and no failed Job in Argo CD. Names other trainers use (`lr`,
        `epochs`, `per_device_train_batch_size`) are not this trainer's.
    Wrong: `lr` for the learning rate
        # file: environments/dev/training/customer-support-sft.yaml
            hyperparameters:
              # Wrong: llmops-train calls it learning_rate.
              lr: 2e-5
    Right:
        # file: environments/dev/training/customer-support-sft.yaml
            hyperparameters:
              learning_rate: 2e-5
    """
    for job in env.of_kind("TrainingJob"):
        inner = job.spec.train_job_spec
        if inner is None or not inner.hyperparameters or not runs_llmops_trainer(env, job):
            continue
        try:
            checked_hyperparameters(inner.hyperparameters)
        except HyperparameterRefused as refused:
            unknown = refused.name not in HYPERPARAMETER_NAMES
            yield Finding(
                job,
                ("spec", "trainJobSpec", "hyperparameters", refused.name),
                f"{refused.message.replace('this trainer', 'llmops-train')}; the trainer would "
                "refuse the job when it starts",
                refused.hint,
                key=unknown,
            )


CHECKS = (hyperparameter_refused_by_trainer,)
