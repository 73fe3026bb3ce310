"""The proxy's configuration: `proxy.json` version 1 (compiler/render/proxy_config.py writes it),
typed.

Unknown keys are ignored so an older proxy can read a newer file of the same version; a different
`version` is refused.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compiler.errors import LlmopsError

SUPPORTED_VERSION = 1
ROUTE_PREFIX = "/llm-ops/v1/serve/"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Access(_Model):
    """`required_role` None: no role is required (the environment's `proxy.requiredRole: null`).
    `required_role_is_default`: environment.yaml does not write the setting (a file without the
    key is read as written, which it was before the key existed)."""

    required_role: str | None = Field("llm-ops-user", alias="requiredRole")
    required_role_is_default: bool = Field(False, alias="requiredRoleIsDefault")
    bearer_token_secret: str | None = Field(None, alias="bearerTokenSecret")


class Backend(_Model):
    url: str
    api: Literal["kserve-openai", "vllm-openai"] = "kserve-openai"
    openai_prefix: str | None = Field(None, alias="openaiPrefix")
    served_model_name: str = Field(alias="servedModelName")


class Limits(_Model):
    max_concurrent_requests: int = Field(alias="maxConcurrentRequests", gt=0)
    max_input_tokens: int = Field(alias="maxInputTokens", gt=0)
    max_output_tokens: int = Field(alias="maxOutputTokens", gt=0)


class ModelRef(_Model):
    name: str
    version: str


class Adapter(_Model):
    """A LoRA adapter the endpoint's model server also serves: a request whose OpenAI `model` field
    is `name` gets it."""

    name: str
    model: ModelRef


class CanaryBackend(_Model):
    """A second model version beside the endpoint's, on its own model server: users whose bucket
    (0-99) is below `weight` get it (llmops/proxy/canary.py)."""

    weight: int = Field(ge=0, le=100)
    model_id: str = Field(alias="modelId")
    model: ModelRef
    backend: Backend
    limits: Limits | None = None
    min_replicas: int = Field(1, alias="minReplicas")
    max_replicas: int = Field(1, alias="maxReplicas")


class Endpoint(_Model):
    name: str
    route: str
    environment: str
    model_id: str = Field(alias="modelId")
    model: ModelRef
    serve_target: str = Field("GENERATION", alias="serveTarget")
    backend: Backend
    limits: Limits | None = None
    allowed_roles: tuple[str, ...] = Field((), alias="allowedRoles")
    min_replicas: int = Field(1, alias="minReplicas")
    max_replicas: int = Field(1, alias="maxReplicas")
    adapters: tuple[Adapter, ...] = ()
    canary: CanaryBackend | None = None

    def served_name_for(self, requested: object) -> str:
        """The model server's name for a request's `model` field: an adapter's when it names one,
        the base model's otherwise (callers may write anything there, as with one model)."""
        if self.adapters and any(adapter.name == requested for adapter in self.adapters):
            assert isinstance(requested, str)
            return requested
        return self.backend.served_model_name

    @property
    def route_name(self) -> str:
        """The `<name>` of `/llm-ops/v1/serve/<name>`: what callers put in the URL."""
        route = self.route.rstrip("/")
        return (
            route[len(ROUTE_PREFIX) :]
            if route.startswith(ROUTE_PREFIX)
            else route.rsplit("/", 1)[-1]
        )


class Template(_Model):
    name: str
    version: str | None = None
    template: str
    variables: dict[str, str] = Field(default_factory=dict)


class Experiment(_Model):
    id: str
    endpoint: str | None = None
    template_a_id: str = Field(alias="templateAId")
    template_b_id: str = Field(alias="templateBId")
    allocation: int = Field(ge=0, le=100)
    metric: str
    status: str = "running"
    winner_template_id: str | None = Field(None, alias="winnerTemplateId")
    notes: str | None = None

    @property
    def is_running(self) -> bool:
        return self.status == "running"


class CatalogEntry(_Model):
    """A model, dataset or training job as the catalog routes answer it: the manifest's spec as
    written, with its `id` (and `name`, `version` for versioned kinds, which may also be asked for
    as `name-version`)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    id: str
    name: str | None = None
    version: str | None = None

    @property
    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=False)

    def answers_to(self, wanted: str) -> bool:
        return wanted == self.id or (
            self.version is not None and wanted == f"{self.name}-{self.version}"
        )


class ProxyConfig(_Model):
    version: int
    environment: str
    namespace: str | None = None
    access: Access = Field(default_factory=Access)
    endpoints: tuple[Endpoint, ...] = ()
    templates: tuple[Template, ...] = ()
    experiments: tuple[Experiment, ...] = ()
    models: tuple[CatalogEntry, ...] = ()
    datasets: tuple[CatalogEntry, ...] = ()
    training_jobs: tuple[CatalogEntry, ...] = Field((), alias="trainingJobs")

    def endpoint_named(self, name: str) -> Endpoint | None:
        return next((endpoint for endpoint in self.endpoints if endpoint.name == name), None)


def parse_config(document: Any, source: str) -> ProxyConfig:
    """Check and type a proxy.json document.

    **Parameters:** ``document`` the parsed JSON; ``source`` names it in error messages.
    **Returns:** the typed configuration.
    **Raises:** ``LlmopsError`` for a document of another version or shape, naming the first
      problem.
    """
    if not isinstance(document, dict):
        raise LlmopsError(f"{source}: the proxy configuration must be a JSON object")
    version = document.get("version")
    if type(version) is not int or version != SUPPORTED_VERSION:  # `true` equals 1 in Python
        raise LlmopsError(
            f"{source}: proxy configuration version {version!r} is not supported "
            f"(this llmops reads version {SUPPORTED_VERSION})",
            hint="render the configuration with the same llmops version as the proxy",
        )
    try:
        config = ProxyConfig.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise LlmopsError(f"{source}: {where}: {first['msg']}") from None
    _check_references(config, source)
    return config


def _check_references(config: ProxyConfig, source: str) -> None:
    """Experiments must name templates the file defines: a typo would otherwise fail on the first
    request."""
    templates = {template.name for template in config.templates}
    for experiment in config.experiments:
        for template_id in (experiment.template_a_id, experiment.template_b_id):
            if template_id not in templates:
                raise LlmopsError(
                    f"{source}: experiment {experiment.id!r} names template {template_id!r}, "
                    "which the configuration does not define"
                )
    routes = [endpoint.route_name for endpoint in config.endpoints]
    duplicates = sorted({route for route in routes if routes.count(route) > 1})
    if duplicates:
        raise LlmopsError(f"{source}: more than one endpoint is served at {', '.join(duplicates)}")
