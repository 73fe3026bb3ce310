"""The original platform's write routes, answered with the GitOps way to do the same thing.

In llmops the manifests in git are the platform's state, so the proxy serves reads only. A client of
the original platform calling a write route (deploy, rollback, approve, conclude an experiment,
register a model or dataset, submit a training job, ...) gets a 405 in the envelope whose message
says which command to run or which manifest to edit and commit, instead of a bare 404 or 405. Any
other write under the platform's collections gets the general rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from compiler.records import record
from llmops.proxy.config import ProxyConfig

API_PREFIX = "/llm-ops/v1/"
READS = frozenset({"GET", "HEAD", "OPTIONS"})
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")


@record
class Advice:
    message: str
    allow: str  # the methods the proxy serves at the path (the Allow header of the 405)


Say = Callable[[str, str], str]  # (environment, id) -> message


@record
class WriteRoute:
    pattern: re.Pattern[str]
    methods: frozenset[str] | None  # None: every write method
    say: Say
    # ids repeated in the message when known
    known: Callable[[ProxyConfig, str], bool] | None = None
    placeholder: str = "NAME"


def _route(
    pattern: str,
    methods: str | None,
    say: Say,
    known: Callable[[ProxyConfig, str], bool] | None = None,
    placeholder: str = "NAME",
) -> WriteRoute:
    return WriteRoute(
        re.compile(pattern + "/?"),
        frozenset(methods.split()) if methods else None,
        say,
        known,
        placeholder,
    )


def _endpoint(config: ProxyConfig, wanted: str) -> bool:
    return config.endpoint_named(wanted) is not None


def _model(config: ProxyConfig, wanted: str) -> bool:
    return any(model.answers_to(wanted) for model in config.models)


def _experiment(config: ProxyConfig, wanted: str) -> bool:
    return any(experiment.id == wanted for experiment in config.experiments)


def _commit(what: str) -> str:
    return (
        f"{what}, check it with `llmops validate`, then commit and push (Argo CD deploys what is "
        "committed)"
    )


READ_ONLY = "GET, HEAD"
ROUTES: tuple[WriteRoute, ...] = (
    _route(
        r"serving/endpoints/(?P<id>[^/]+)/rollback",
        None,
        lambda env, id_: (
            f"a rollback is a git commit: run `llmops rollback {id_} --env {env}` (`--dry-run` "
            f"shows it first, `llmops history {id_} --env {env}` lists the versions), then push"
        ),
        known=_endpoint,
        placeholder="ENDPOINT",
    ),
    _route(
        r"serving/endpoints",
        "POST",
        lambda env, _: (
            "endpoints are deployed from git, not through this API: "
            + _commit(
                "put this body as the `spec` of a ServingEndpoint manifest in "
                f"environments/{env}/serving/<name>.yaml"
            )
        ),
    ),
    _route(
        r"serving/endpoints/(?P<id>[^/]+)",
        "DELETE",
        lambda env, id_: (
            f"endpoints are removed in git: delete the ServingEndpoint manifest {id_} under "
            f"environments/{env}/, then commit and push"
        ),
        known=_endpoint,
        placeholder="ENDPOINT",
    ),
    _route(
        r"serving/endpoints/(?P<id>[^/]+)",
        None,
        lambda env, id_: (
            "endpoints change in git: "
            + _commit(f"edit the ServingEndpoint manifest {id_} under environments/{env}/")
        ),
        known=_endpoint,
        placeholder="ENDPOINT",
    ),
    _route(
        r"catalog/models/(?P<id>[^/]+)/status",
        None,
        lambda env, id_: (
            f"a model is approved by committing an Approval: run `llmops approve {id_} --env "
            f"{env} --by <user id> --role <role>` and commit the file it writes (for another "
            "status, edit `status` in the Model manifest and commit)"
        ),
        known=_model,
        placeholder="MODEL@VERSION",
    ),
    _route(
        r"catalog/models",
        "POST",
        lambda env, _: (
            "models are registered in git: "
            + _commit(
                "put this body as the `spec` of a Model manifest (e.g. in "
                "environments/_shared/catalog/<name>.yaml)"
            )
        ),
    ),
    _route(
        r"catalog/datasets/(?P<id>[^/]+)/upload",
        None,
        lambda env, _: (
            "dataset files are not uploaded through the proxy: commit sample files to the "
            "repository and list them in the Dataset's `files` (llmops checks their columns); the "
            "full dataset belongs at its `storage_uri`"
        ),
    ),
    _route(
        r"catalog/datasets",
        "POST",
        lambda env, _: (
            "datasets are registered in git: "
            + _commit(
                "put this body as the `spec` of a Dataset manifest (e.g. in "
                "environments/_shared/catalog/<name>.yaml)"
            )
        ),
    ),
    _route(
        r"training/jobs",
        "POST",
        lambda env, _: (
            "training jobs are submitted in git: "
            + _commit(
                f"put this body as the `spec` of a TrainingJob manifest "
                f"in environments/{env}/training/<name>.yaml"
            )
        ),
    ),
    _route(
        r"prompts/experiments/(?P<id>[^/]+)/conclude",
        None,
        lambda env, id_: (
            "an experiment is concluded in git: set `winnerTemplateId` (and `notes`) in the "
            f"PromptExperiment {id_}'s manifest, then commit and push; the proxy stops splitting "
            "traffic once that is deployed"
        ),
        known=_experiment,
        placeholder="EXPERIMENT",
    ),
    _route(
        r"prompts/experiments",
        "POST",
        lambda env, _: (
            "experiments are started in git: "
            + _commit(
                f"put this body as the `spec` of a PromptExperiment manifest "
                f"in environments/{env}/ (with `endpoint` naming the "
                "endpoint it runs on)"
            )
        ),
    ),
    _route(
        r"prompts/templates",
        "POST",
        lambda env, _: (
            "prompt templates are written in git: "
            + _commit(
                "put this body as the `spec` of a PromptTemplate "
                "manifest (e.g. in environments/_shared/prompts/)"
            )
        ),
    ),
    _route(
        r"(?P<id>(serving|catalog|training|prompts)(/[^/]+)*)",
        None,
        lambda env, _: (
            "the platform API of llmops is read-only: endpoints, models, datasets, training jobs "
            "and experiments change as git commits to the manifests under environments/ "
            "(validate, commit, push)"
        ),
    ),
)
COLLECTIONS = re.compile(
    r"(serving/endpoints|catalog/(models|datasets)|training/jobs|prompts/(experiments|templates))"
    r"(/[^/]+)?/?"
)


def advise(method: str, path: str, config: ProxyConfig) -> Advice | None:
    """The advice for a write ``method`` on ``path``, or None when the path is not one of the
    platform's."""
    if method in READS or not path.startswith(API_PREFIX) or path.startswith(API_PREFIX + "serve/"):
        return None
    relative = path[len(API_PREFIX) :]
    for route in ROUTES:
        match = route.pattern.fullmatch(relative)
        if match is None or (route.methods is not None and method not in route.methods):
            continue
        given = match.groupdict().get("id") or ""
        known = (
            route.known is not None
            and SAFE_ID.fullmatch(given) is not None
            and route.known(config, given)
        )
        message = route.say(config.environment, given if known else route.placeholder)
        return Advice(message, READ_ONLY if COLLECTIONS.fullmatch(relative) else "")
    return None
