"""The Argo CD Config Management Plugin: plugin.yaml, its ConfigMap, the repo-server sidecar patch,
the Applications that name the plugin, and the generate command run as Argo CD runs it (a process in
a copy of the repository, environment from `plugin.env`, stdout taken as the manifests)."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from compiler.render.argocd import PLUGIN_ENV, PLUGIN_NAME, application_name, render_argocd
from llmops.cli.cmp import ENV_VARIABLE
from tests.deploy.embedded import ARGOCD_DIR, EMBEDDED
from tests.helpers.estate import PROJECT_ROOT, copy_bundled_estate, validate

PLUGIN_PATH = ARGOCD_DIR / "plugin.yaml"
PLUGIN_CONFIGMAP_PATH = ARGOCD_DIR / "cmp-plugin-configmap.yaml"
SIDECAR_PATH = ARGOCD_DIR / "repo-server-sidecar.yaml"
CONFIG_MOUNT = "/home/argocd/cmp-server/config/plugin.yaml"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def plugin() -> dict[str, Any]:
    loaded: dict[str, Any] = load(PLUGIN_PATH)
    return loaded


# --- plugin.yaml
# -----------------------------------------------------------------------------------------


def test_plugin_definition() -> None:
    definition = plugin()
    assert definition["apiVersion"] == "argoproj.io/v1alpha1"
    assert definition["kind"] == "ConfigManagementPlugin"
    # Without spec.version the plugin is called by its bare name, which is what the Applications
    # use.
    assert definition["metadata"]["name"] == PLUGIN_NAME
    assert "version" not in definition["spec"]
    # The environment comes through plugin.env, so no parameters are announced in the UI.
    assert "parameters" not in definition["spec"]
    assert "init" not in definition["spec"]


def generate_argv() -> list[str]:
    generate = plugin()["spec"]["generate"]
    return [*generate["command"], *generate.get("args", [])]


def test_generate_runs_llmops_cmp_generate_without_a_shell() -> None:
    assert generate_argv() == ["llmops", "cmp", "generate", "."]


def test_plugin_env_reaches_the_command_under_the_name_it_reads() -> None:
    # Argo CD prefixes every `plugin.env` name with ARGOCD_ENV_.
    assert f"ARGOCD_ENV_{PLUGIN_ENV}" == ENV_VARIABLE


def matches_discovery(app_dir: Path) -> bool:
    """Argo CD's discovery: spec.discover.fileName is a filepath.Glob pattern below the app
    directory."""
    discover = plugin()["spec"]["discover"]
    assert set(discover) == {"fileName"}
    return bool(glob.glob(str(app_dir / discover["fileName"])))


def test_discovery_matches_an_estate_only(tmp_path: Path) -> None:
    assert matches_discovery(copy_bundled_estate(tmp_path / "estate"))
    (tmp_path / "elsewhere" / "charts").mkdir(parents=True)
    assert not matches_discovery(tmp_path / "elsewhere")


def test_configmaps_embed_their_files_verbatim() -> None:
    assert sorted(item.configmap.name for item in EMBEDDED) == [
        "argocd-cm-health-llminferenceservice.yaml",
        "argocd-cm-health.yaml",
        "cmp-plugin-configmap.yaml",
    ]
    for item in EMBEDDED:
        assert item.configmap.read_text(encoding="utf-8") == item.expected(), (
            f"{item.configmap.relative_to(PROJECT_ROOT)} is stale: run `python3 -m "
            "tests.deploy.embedded`"
        )


def test_plugin_configmap() -> None:
    configmap = load(PLUGIN_CONFIGMAP_PATH)
    assert configmap["apiVersion"] == "v1" and configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["namespace"] == "argocd"
    assert configmap["data"] == {"plugin.yaml": PLUGIN_PATH.read_text(encoding="utf-8")}
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(configmap, kubernetes_validate.latest_version(), strict=True)


# --- the repo-server sidecar
# ------------------------------------------------------------------------------


def test_sidecar_patch() -> None:
    patch = load(SIDECAR_PATH)
    assert (patch["apiVersion"], patch["kind"]) == ("apps/v1", "Deployment")
    assert patch["metadata"] == {"name": "argocd-repo-server", "namespace": "argocd"}
    pod = patch["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    # the CMP server, under an init that reaps the warm servers it outlives (the image has it)
    assert container["command"] == ["/usr/bin/tini", "--", "/var/run/argocd/argocd-cmp-server"]
    version = load_pyproject_version()
    assert container["image"] == f"ghcr.io/llmops/llmops:{version}"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["runAsUser"] == 999
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    assert mounts["/var/run/argocd"]["name"] == "var-files"
    assert mounts["/home/argocd/cmp-server/plugins"]["name"] == "plugins"
    assert mounts["/tmp"]["name"] != "tmp", "the sidecar must not share the repo-server's /tmp"
    config = mounts[CONFIG_MOUNT]
    assert config["subPath"] == "plugin.yaml"
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    # var-files and plugins belong to the repo-server Deployment; the patch adds only its own
    # volumes.
    assert set(volumes) == {config["name"], mounts["/tmp"]["name"]}
    assert volumes[mounts["/tmp"]["name"]] == {"name": mounts["/tmp"]["name"], "emptyDir": {}}
    plugin_configmap = load(PLUGIN_CONFIGMAP_PATH)
    assert volumes[config["name"]]["configMap"]["name"] == plugin_configmap["metadata"]["name"]
    assert "plugin.yaml" in plugin_configmap["data"]
    # the warm server's socket: an absolute path in the sidecar's own /tmp, short enough for a
    # Unix socket (107 bytes)
    variables = {item["name"]: item["value"] for item in container["env"]}
    server = PurePosixPath(variables["LLMOPS_SERVER"])
    assert server.is_absolute() and server.parts[1] == "tmp" and len(str(server)) < 100


def load_pyproject_version() -> str:
    import tomllib

    with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        version: str = tomllib.load(handle)["project"]["version"]
    return version


def test_image_runs_as_the_sidecar_user() -> None:
    lines = [
        line.strip()
        for line in (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    ]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] == "999"
    assert 'ENTRYPOINT ["llmops"]' in lines
    # the final image installs tini, which the sidecar's command runs (Debian's package puts it in
    # /usr/bin)
    final_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    assert any("apt-get install" in line and " tini" in line for line in final_stage)


# --- the Applications
# -------------------------------------------------------------------------------------


def test_application_names_the_plugin_with_its_environment(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    result = validate(root)
    assert result.error_count == 0
    objects = render_argocd(result.estate.environments)
    applications = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "Application"}
    dev = next(env for env in result.estate.environments if env.name == "dev")
    source = applications[application_name(dev)]["spec"]["source"]
    assert source["plugin"] == {
        "name": plugin()["metadata"]["name"],
        "env": [{"name": "LLMOPS_ENV", "value": "dev"}],
    }
    # The plugin runs where the Application points, and discovery would find the estate there too.
    assert matches_discovery(root / source["path"])


# --- `llmops cmp generate`, run as Argo CD runs it
# -----------------------------------------------------


def run_generate(app_dir: Path, **plugin_env: str) -> subprocess.CompletedProcess[str]:
    """The generate command of plugin.yaml, with `llmops` being this checkout, in `app_dir`."""
    argv = generate_argv()
    assert argv[0] == "llmops"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ARGOCD_ENV_") and key not in {"NO_COLOR", "PYTHONPATH"}
    }
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(
        {
            "ARGOCD_APP_NAME": "llmops-dev",
            "ARGOCD_APP_NAMESPACE": "llm-ops-dev",
            "ARGOCD_APP_SOURCE_PATH": ".",
            "ARGOCD_APP_REVISION": "0123456789abcdef0123456789abcdef01234567",
        }
    )
    env.update({f"ARGOCD_ENV_{name}": value for name, value in plugin_env.items()})
    return subprocess.run(
        [sys.executable, "-m", "llmops.cli.main", *argv[1:]],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_generate_prints_only_kubernetes_objects(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    done = run_generate(root, **{PLUGIN_ENV: "dev"})
    assert done.returncode == 0, done.stderr
    documents = [doc for doc in yaml.safe_load_all(done.stdout) if doc is not None]
    assert documents
    for doc in documents:
        assert isinstance(doc, dict)
        assert isinstance(doc.get("apiVersion"), str) and isinstance(doc.get("kind"), str)
        assert isinstance(doc.get("metadata"), dict) and doc["metadata"].get("name")
    # Argo CD objects are not part of an environment's own output.
    assert not {doc["kind"] for doc in documents} & {"Application", "AppProject"}
    namespaced = [doc for doc in documents if doc["kind"] != "Namespace"]
    assert {doc["metadata"]["namespace"] for doc in namespaced} == {"llm-ops-dev"}
    assert f"llmops: generated {len(documents)} objects for environment `dev`" in done.stderr


RENDER_DEV = ("render", "--env", "dev")


def test_generate_without_repo_finds_the_estate_as_every_command_does(tmp_path: Path) -> None:
    """By hand, from inside the estate (the plugin itself passes `.`): the nearest folder upward
    holding environments/, as `llmops render` finds it, not "this is not an llmops estate"."""
    root = copy_bundled_estate(tmp_path / "estate")
    env = {key: value for key, value in os.environ.items() if key != "LLMOPS_REPO"}
    env.update({"PYTHONPATH": str(PROJECT_ROOT), ENV_VARIABLE: "dev", "LLMOPS_CACHE_DIR": "off"})
    outputs = []
    for argv, where in ((("cmp", "generate"), root / "environments" / "dev"), (RENDER_DEV, root)):
        command = [sys.executable, "-m", "llmops.cli.main", *argv]
        done = subprocess.run(
            command, cwd=where, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (argv, done.stderr)
        outputs.append(done.stdout)
    generated, rendered = outputs
    assert generated == rendered != ""


@pytest.mark.slow
def test_generate_without_the_environment_fails_with_empty_stdout(tmp_path: Path) -> None:
    done = run_generate(copy_bundled_estate(tmp_path))
    assert done.returncode != 0
    assert done.stdout == ""
    assert ENV_VARIABLE in done.stderr


@pytest.mark.slow
def test_generate_with_an_unknown_environment_fails_with_empty_stdout(tmp_path: Path) -> None:
    done = run_generate(copy_bundled_estate(tmp_path), **{PLUGIN_ENV: "qa"})
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip()


@pytest.mark.slow
def test_generate_with_a_validation_error_fails_with_empty_stdout(tmp_path: Path) -> None:
    root = copy_bundled_estate(tmp_path)
    endpoint = root / "environments" / "dev" / "serving" / "example-model.yaml"
    text = endpoint.read_text(encoding="utf-8")
    assert "  maxReplicas: 3\n" in text
    endpoint.write_text(text.replace("  maxReplicas: 3\n", "  maxReplica: 3\n"), encoding="utf-8")
    done = run_generate(root, **{PLUGIN_ENV: "dev"})
    assert done.returncode != 0
    assert done.stdout == ""
    assert "environments/dev/serving/example-model.yaml" in done.stderr
    assert "maxReplica" in done.stderr
    assert "nothing was generated" in done.stderr
