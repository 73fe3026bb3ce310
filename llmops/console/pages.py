"""The console's pages: aiohttp handlers that render Jinja2 templates from the estate view, the
cluster's verdicts and the proxy's own metrics and experiments. Every page is a GET; nothing here
changes anything (changes are commits, and the pages name the `llmops` command for each)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from compiler.capacity.explain import explain_endpoint, format_text
from compiler.records import record
from llmops.console import charts
from llmops.console.access import page_caller, signed_in, signed_out
from llmops.console.estate_view import (
    EnvironmentView,
    EstateView,
    approvals_of,
    lineage_text,
    model_summary,
    place,
    spec_yaml,
)
from llmops.console.figures import endpoint_figures
from llmops.console.history import last_committed, recent_history
from llmops.console.verdicts import ClusterVerdicts
from llmops.proxy.config import ProxyConfig
from llmops.proxy.governance import Caller, Denied, authorize, shown
from llmops.proxy.state import STATE, ProxyState

PAGE_SIZE = 50
MODEL_PAGE_SIZE = 20  # a model is a card with its approvals: heavier than a row
SHOWN_DIAGNOSTICS = 200
STATIC = {"console.css": "text/css", "chat.js": "text/javascript", "console.js": "text/javascript"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Console:
    estate: EstateView
    verdicts: ClusterVerdicts
    templates: jinja2.Environment = field(init=False)
    static: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("llmops.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        folder = files("llmops.console").joinpath("static")
        self.static = {name: folder.joinpath(name).read_bytes() for name in STATIC}


CONSOLE = web.AppKey("llmops_console", Console)


def _render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    console = request.app[CONSOLE]
    state = request.app[STATE]
    html = console.templates.get_template(template).render(
        served=console.estate.served,
        environments=list(console.estate.environments),
        token_required=state.options.token is not None,
        **values,
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        "frame-ancestors 'none'"
    )
    return _guarded(response)


def _guarded(response: web.Response, cache: str = "no-store") -> web.Response:
    """What every console answer says beside its body: not to be read as another type, framed
    (for browsers without CSP's frame-ancestors), or kept when it holds a caller's data."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = cache
    return response


class Missing(Exception):
    """What a page was asked for is not there: a 404 page saying what."""


def governed(handler: Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]) -> Handler:
    """The API's rules for every page: 401 shows how to sign in, 403 names the missing role."""

    async def page(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request, page_caller(request))
        except Denied as denied:
            return _render(
                request,
                "denied.html.j2",
                status=denied.status,
                code=denied.status,
                reason=denied.message,
            )
        except Missing as missing:
            return _render(request, "denied.html.j2", status=404, code=404, reason=str(missing))

    return page


def _environment(request: web.Request) -> EnvironmentView:
    console = request.app[CONSOLE]
    name = request.match_info.get("env", console.estate.served)
    view = console.estate.environments.get(name)
    if view is None:
        known = ", ".join(console.estate.environments)
        raise Missing(f"no environment {shown(name)!r} here (environments: {known})")
    return view


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"/console/env/{request.app[CONSOLE].estate.served}")


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["file"]
    console = request.app[CONSOLE]
    if name not in console.static:
        raise web.HTTPNotFound()
    response = web.Response(body=console.static[name], content_type=STATIC[name])
    return _guarded(response, cache="max-age=300")


async def signin(request: web.Request) -> web.StreamResponse:
    """Open to anyone: it only holds the form that keeps the token in the browser."""
    return _render(request, "signin.html.j2")


async def sign_in(request: web.Request) -> web.StreamResponse:
    """The form's fetch, with the token as `Authorization`: the page cookie, or a 401."""
    response = _guarded(web.Response(status=204))
    if not signed_in(request, response):
        return _guarded(web.Response(status=401, text="the bearer token is not this proxy's"))
    return response


async def sign_out(request: web.Request) -> web.StreamResponse:
    response = _guarded(web.Response(status=204))
    signed_out(response)
    return response


@governed
async def overview(request: web.Request, caller: Caller) -> web.StreamResponse:
    view = _environment(request)
    console = request.app[CONSOLE]
    listed = _paged(request, view.endpoints)
    verdicts = await console.verdicts.current()
    return _render(
        request,
        "overview.html.j2",
        env=view,
        rows=[
            (
                row,
                *verdicts.endpoint(view.name, row.name),
                verdicts.canary(view.name, row.name) if row.canary else None,
            )
            for row in listed.items
        ],
        verdicts=verdicts,
        application=verdicts.applications.get(view.name),
        listed=listed,
        diagnostics=view.diagnostics[:SHOWN_DIAGNOSTICS],
        estate_known=view.resolved is not None,
        caller=caller,
    )


@governed
async def endpoint_page(request: web.Request, caller: Caller) -> web.StreamResponse:
    view = _environment(request)
    console = request.app[CONSOLE]
    state = request.app[STATE]
    name = request.match_info["name"]
    row = next((r for r in view.endpoints if r.name == name), None)
    if row is None:
        raise Missing(f"no endpoint {shown(name)!r} in {view.name}")
    served_here = view.name == state.config.environment
    configured = state.config.endpoint_named(name) if served_here else None
    if configured is not None:
        authorize(caller, configured)
    manifest = console.estate.endpoint(view.name, name)
    allowed = manifest.spec.allowed_roles if manifest is not None else []
    if allowed and caller.roles.isdisjoint(allowed):  # another environment's endpoint
        raise Denied(
            403,
            f"endpoint {name} in {view.name} is open to the roles {', '.join(allowed)} (its "
            f"allowedRoles); {shown(caller.user_id)} has {shown(', '.join(sorted(caller.roles)))}",
        )
    explanation_text = spec_text = where = None
    verdict_text = None
    if manifest is not None and view.resolved is not None:
        spec_text = spec_yaml(manifest)
        where = place(manifest)
        diagnostics = console.estate.result.diagnostics if console.estate.result else []
        explained = explain_endpoint(view.resolved, manifest, diagnostics)
        if explained is not None:
            explanation, capacity = explained
            explanation_text = format_text(explanation, capacity)
            verdict_text = explanation["verdict"]
    history: list[dict[str, Any]] = []
    history_note: str | None = "the estate's manifests are not available to this proxy"
    if console.estate.root is not None:
        history, history_note = await asyncio.to_thread(
            recent_history, console.estate.root, view.name, name
        )
    verdicts = await console.verdicts.current()
    verdict, reason = verdicts.endpoint(view.name, name)
    figures = endpoint_figures(state.metrics, name) if served_here else None
    split = _canary_split(state, name) if served_here else None
    return _render(
        request,
        "endpoint.html.j2",
        env=view,
        row=row,
        verdict=verdict,
        reason=reason,
        configured=configured,
        spec_text=spec_text,
        where=where,
        explanation_text=explanation_text,
        capacity_verdict=verdict_text,
        history=history,
        history_note=history_note,
        figures=figures,
        served_here=served_here,
        canary_verdict=verdicts.canary(view.name, name) if row.canary else None,
        split=(split, _variant_charts(split, _model_version)) if split else None,
    )


def _canary_split(state: ProxyState, name: str) -> dict[str, Any] | None:
    """The endpoint's canary split as this proxy counts it (None without a canary)."""
    runtime = next((r for r in state.by_route.values() if r.endpoint.name == name), None)
    if runtime is None or runtime.split is None:
        return None
    return {"id": name, **runtime.split.snapshot()}


@governed
async def endpoint_figures_json(request: web.Request, caller: Caller) -> web.StreamResponse:
    """The live figures for the page's script to refresh (only this proxy's environment)."""
    state = request.app[STATE]
    name = request.match_info["name"]
    configured = state.config.endpoint_named(name)
    if configured is None:
        raise web.HTTPNotFound()
    authorize(caller, configured)  # as its page: an endpoint's allowedRoles cover its figures
    shown = endpoint_figures(state.metrics, name).to_json()
    split = _canary_split(state, name)
    if split is not None:  # each variant's, for the canary table
        shown["variants"] = {
            variant: {
                "requests": v["requests"],
                "errors": v["errors"],
                "meanMs": v["latencyMs"]["mean"] if v["latencyMs"] else None,
            }
            for variant, v in split["variants"].items()
        }
    return _guarded(web.json_response(shown))  # the figures of an endpoint the caller may see


@record
class Page:
    """One page of a list: its items, its number and how many there are, and the query key that
    turns it (each list of a page has its own)."""

    items: list[Any]
    number: int
    pages: int
    key: str
    total: int


def _paged(
    request: web.Request, items: list[Any], key: str = "page", size: int = PAGE_SIZE
) -> Page:
    pages = max(1, math.ceil(len(items) / size))
    try:
        number = int(request.query.get(key, "1"))
    except ValueError:
        number = 1
    number = min(max(number, 1), pages)
    shown = items[(number - 1) * size : number * size]
    return Page(shown, number, pages, key, len(items))


@governed
async def catalog(request: web.Request, caller: Caller) -> web.StreamResponse:
    """Models (with approvals and lineage, worked out only for the page shown), datasets and
    training jobs, each list paged on its own."""
    view = _environment(request)
    state = request.app[STATE]
    env = view.resolved
    if env is not None:
        models = _paged(request, list(env.of_kind("Model")), "models", MODEL_PAGE_SIZE)
        shown_models = [
            {
                "id": f"{model.name}@{model.version}",
                "spec": model.spec,
                "place": model.file,
                "approval": model_summary(env, model),
                "approvals": approvals_of(env, model),
            }
            for model in models.items
        ]
        datasets = _paged(
            request,
            [
                {"id": f"{d.name}@{d.version}", "spec": d.spec, "place": d.file}
                for d in env.of_kind("Dataset")
            ],
            "datasets",
        )
        verdicts = await request.app[CONSOLE].verdicts.current()
        jobs = _paged(
            request,
            [
                {
                    "id": j.name,
                    "spec": j.spec,
                    "place": j.file,
                    "status": verdicts.training_job(view.name, j.name),
                }
                for j in env.of_kind("TrainingJob")
            ],
            "jobs",
        )
    else:
        config = state.config if view.name == state.config.environment else None
        entries = (config.models, config.datasets, config.training_jobs) if config else ((), (), ())
        models = _paged(request, list(entries[0]), "models", MODEL_PAGE_SIZE)
        shown_models = [{"id": m.id, "document": m.document} for m in models.items]
        datasets = _paged(
            request, [{"id": d.id, "document": d.document} for d in entries[1]], "datasets"
        )
        jobs = _paged(request, [{"id": j.id, "document": j.document} for j in entries[2]], "jobs")
    models_page = Page(shown_models, models.number, models.pages, models.key, models.total)
    return _render(
        request,
        "catalog.html.j2",
        env=view,
        models=models_page,
        datasets=datasets,
        jobs=jobs,
        estate_known=env is not None,
    )


@governed
async def model_page(request: web.Request, caller: Caller) -> web.StreamResponse:
    """One model: its facts, approvals and lineage (`llmops lineage`'s text; it walks every
    endpoint, so only here, not in the list)."""
    view = _environment(request)
    console = request.app[CONSOLE]
    env = view.resolved
    wanted = request.match_info["id"]
    if env is None:
        raise Missing(f"the models' manifests are not available to this proxy ({shown(wanted)})")
    model = env.resolve_model(wanted).manifest
    if model is None:
        raise Missing(f"no model {shown(wanted)!r} in {view.name} (name@version)")
    approvals = approvals_of(env, model)
    dates: dict[str, str] = {}
    dates_note: str | None = "the estate's manifests are not available to this proxy"
    if console.estate.root is not None:
        dates, dates_note = await asyncio.to_thread(
            last_committed, console.estate.root, [a.file for a in approvals]
        )
    return _render(
        request,
        "model.html.j2",
        env=view,
        m={
            "id": f"{model.name}@{model.version}",
            "spec": model.spec,
            "place": place(model),
            "approval": model_summary(env, model),
            "approvals": approvals,
        },
        dates=dates,
        dates_note=dates_note,
        lineage=lineage_text(console.estate, env, model),
    )


def _template(variant: dict[str, Any]) -> str:
    return str(variant["templateId"])


def _model_version(variant: dict[str, Any]) -> str:
    """A canary split's variant by its model's version (the name is the same, and long)."""
    return str(variant["model"]).rpartition("@")[2]


def _variant_charts(
    snapshot: dict[str, Any], label: Callable[[dict[str, Any]], str] = _template
) -> dict[str, str]:
    """Requests and mean latency per variant; ``label`` names what a variant serves (an A/B's
    template, a canary split's model version)."""
    variants = snapshot["variants"]

    def bars(value: Callable[[dict[str, Any]], float], text: Callable[[float], str]) -> list[Any]:
        return [
            charts.Bar(f"{name} ({label(v)})", value(v), text(value(v)))
            for name, v in variants.items()
        ]

    def mean(v: dict[str, Any]) -> float:
        return float(v["latencyMs"]["mean"]) if v["latencyMs"] else 0.0

    return {
        "requests": charts.bar_chart(
            f"requests per variant of {snapshot['id']}",
            bars(lambda v: float(v["requests"]), lambda x: f"{x:.0f}"),
        ),
        "latency": charts.bar_chart(
            f"mean latency per variant of {snapshot['id']}", bars(mean, lambda x: f"{x:.1f} ms")
        ),
    }


@governed
async def experiments(request: web.Request, caller: Caller) -> web.StreamResponse:
    state = request.app[STATE]
    snapshots = [
        snapshot
        for snapshot in (run.snapshot() for run in state.experiments.values())
        if _may_see(caller, state, snapshot["endpoint"])  # filtered as the canaries are
    ]
    splits = [
        {"id": r.endpoint.name, **r.split.snapshot()}
        for r in sorted(state.by_route.values(), key=lambda r: r.endpoint.name)
        if r.split is not None
        and (not r.endpoint.allowed_roles or not caller.roles.isdisjoint(r.endpoint.allowed_roles))
    ]
    return _render(
        request,
        "experiments.html.j2",
        env=request.app[CONSOLE].estate.environments[state.config.environment],
        experiments=[(s, _variant_charts(s)) for s in snapshots],
        canaries=[(s, _variant_charts(s, _model_version)) for s in splits],
    )


def _may_see(caller: Caller, state: ProxyState, endpoint: str) -> bool:
    """Whether ``caller`` may see figures of ``endpoint`` (its allowedRoles, if any)."""
    configured = state.config.endpoint_named(endpoint)
    allowed = configured.allowed_roles if configured is not None else ()
    return not allowed or not caller.roles.isdisjoint(allowed)


@governed
async def chat(request: web.Request, caller: Caller) -> web.StreamResponse:
    state = request.app[STATE]
    endpoints = [
        e
        for e in state.config.endpoints
        if e.serve_target == "GENERATION"
        and (not e.allowed_roles or not caller.roles.isdisjoint(e.allowed_roles))
    ]
    return _render(
        request,
        "chat.html.j2",
        env=request.app[CONSOLE].estate.environments[state.config.environment],
        endpoints=endpoints,
    )


async def _first_reading(app: web.Application) -> None:
    """Start reading the cluster when the proxy starts, so the first page finds verdicts."""
    await app[CONSOLE].verdicts.current(wait=0)


def add_routes(app: web.Application, console: Console) -> None:
    app[CONSOLE] = console
    app.on_startup.append(_first_reading)
    router = app.router
    router.add_get("/console", root)
    router.add_get("/console/", root)
    router.add_get("/console/static/{file}", static)
    router.add_get("/console/signin", signin)
    router.add_post("/console/signin", sign_in)
    router.add_post("/console/signout", sign_out)
    router.add_get("/console/experiments", experiments)
    router.add_get("/console/chat", chat)
    router.add_get("/console/env/{env}", overview)
    router.add_get("/console/env/{env}/catalog", catalog)
    router.add_get("/console/env/{env}/catalog/models/{id}", model_page)
    router.add_get("/console/env/{env}/endpoints/{name}", endpoint_page)
    router.add_get("/console/env/{env}/endpoints/{name}/figures", endpoint_figures_json)


def console_from_estate(root: Path, served: str) -> Console:
    """The whole estate: every environment, its diagnostics, and verdicts for those that
    validate (rendering, which status compares against, needs that)."""
    view = EstateView.from_estate(root, served)
    checkable = {name for name, env in view.environments.items() if env.errors == 0}
    estate = view.result.estate if view.result is not None else None
    return Console(view, ClusterVerdicts(estate, checkable))


def console_from_config(config: ProxyConfig) -> Console:
    """Only what proxy.json carries (a proxy in the cluster without the manifests)."""
    return Console(EstateView.from_config(config), ClusterVerdicts(None, set()))
