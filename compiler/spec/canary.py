"""A ServingEndpoint's canary: a second model version served beside the endpoint's model, taking a
percentage of the traffic (its own InferenceService; the proxy splits by user)."""

from __future__ import annotations

from pydantic import Field

from compiler.spec.base import StrictModel
from compiler.spec.serving import DeploymentResources, RuntimeLimits

MAX_WEIGHT = 100


class CanaryDeploymentSpec(StrictModel):
    """What a canary may serve differently from the endpoint: its resources per replica and its
    runtime limits. Everything else (serve target, family, routes, roles) is the endpoint's."""

    resources: DeploymentResources | None = Field(
        None,
        description="Per canary replica; replaces the endpoint's deploymentSpec.resources whole.",
    )
    runtime: RuntimeLimits | None = Field(
        None,
        description="Limits for requests the canary serves; replaces the endpoint's whole.",
    )


class Canary(StrictModel):
    model: str = Field(
        description=(
            "The canary's model: `name@version` or `name-version`, like modelId; it must be "
            "approved for this environment and differ from modelId."
        )
    )
    # The range is rule T003's (a check with its own code and hint), documented here for the
    # schema.
    weight: int = Field(
        json_schema_extra={"minimum": 0, "maximum": MAX_WEIGHT},
        description=(
            "Percent of users (0-100) whose requests the canary serves, sticky per user. 0 runs "
            "the canary without traffic."
        ),
    )
    deployment_spec: CanaryDeploymentSpec | None = Field(
        None,
        alias="deploymentSpec",
        description="Where the canary differs from the endpoint's deploymentSpec.",
    )
