"""Argo CD: one AppProject per project name, restricted to its environments' namespaces, and one
Application per environment that runs the compiler through the llmops config-management plugin."""

from __future__ import annotations

from typing import Any

from compiler.render.context import MANAGED_BY
from compiler.render.templating import render_template
from compiler.resolve.environment import ResolvedEnvironment

PLUGIN_NAME = "llmops"
PLUGIN_ENV = "LLMOPS_ENV"  # Argo CD hands it to the plugin as ARGOCD_ENV_LLMOPS_ENV
# Kinds the Applications may create; everything else is refused by the project.
NAMESPACED_KINDS = (
    ("", "ConfigMap"),
    ("", "Service"),
    ("apps", "Deployment"),
    ("batch", "Job"),
    ("networking.k8s.io", "Ingress"),
    ("serving.kserve.io", "InferenceService"),
    ("serving.kserve.io", "LLMInferenceService"),
    ("trainer.kubeflow.org", "TrainJob"),
)
CLUSTER_KINDS = (("", "Namespace"),)
# KServe's webhook mutates InferenceServices; the server-side diff includes what it adds.
COMPARE_OPTIONS = "ServerSideDiff=true,IncludeMutationWebhook=true"
# Deleting an Application deletes its resources (cascade) instead of orphaning them.
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"


def application_name(env: ResolvedEnvironment) -> str:
    return f"llmops-{env.name}"


def render_argocd(environments: list[ResolvedEnvironment]) -> list[dict[str, Any]]:
    """AppProjects then Applications, for the environments that name a repository."""
    deployed = [env for env in environments if env.settings.argocd.repo_url]
    projects: dict[tuple[str, str], list[ResolvedEnvironment]] = {}
    for env in deployed:
        projects.setdefault(
            (env.settings.argocd.namespace, env.settings.argocd.project), []
        ).append(env)
    objects = []
    for (namespace, project), members in projects.items():
        objects.append(
            render_template(
                "argocd/appproject.json.j2",
                metadata={"name": project, "namespace": namespace, "labels": dict(MANAGED_BY)},
                description=f"llmops environments: {', '.join(env.name for env in members)}",
                repos=sorted({str(env.settings.argocd.repo_url) for env in members}),
                destinations=[
                    {"server": env.settings.argocd.server, "namespace": env.namespace}
                    for env in members
                ],
                cluster_kinds=[{"group": g, "kind": k} for g, k in CLUSTER_KINDS],
                namespaced_kinds=[{"group": g, "kind": k} for g, k in NAMESPACED_KINDS],
            )
        )
    for env in deployed:
        settings = env.settings.argocd
        objects.append(
            render_template(
                "argocd/application.json.j2",
                metadata={
                    "name": application_name(env),
                    "namespace": settings.namespace,
                    "finalizers": [RESOURCES_FINALIZER],
                    "labels": {**MANAGED_BY, "llmops.io/environment": env.name},
                    "annotations": {"argocd.argoproj.io/compare-options": COMPARE_OPTIONS},
                },
                project=settings.project,
                repo=settings.repo_url,
                revision=settings.target_revision,
                path=settings.path,
                plugin=PLUGIN_NAME,
                plugin_env=[{"name": PLUGIN_ENV, "value": env.name}],
                server=settings.server,
                namespace=env.namespace,
            )
        )
    return objects
