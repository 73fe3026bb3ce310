"""The canary example (examples/canary): what `llmops render -o` writes for it, and that the API
server would accept it."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.helpers.estate import PROJECT_ROOT, run_cli

CANARY_EXAMPLE = PROJECT_ROOT / "examples" / "canary"


def _estate(tmp_path: Path) -> Path:
    estate = tmp_path / "estate"
    shutil.copytree(CANARY_EXAMPLE / "environments", estate / "environments")
    return estate


def test_the_canary_is_a_second_inference_service_of_its_own_version(tmp_path: Path) -> None:
    result = run_cli("render", str(_estate(tmp_path)), "--env", "prod", "--verify")
    assert result.exit_code == 0, result.stderr
    services = {
        document["metadata"]["name"]: document
        for document in yaml.safe_load_all(result.stdout)
        if document and document["kind"] == "InferenceService"
    }
    assert sorted(services) == ["example-model", "example-model-canary"]
    stable, canary = services["example-model"], services["example-model-canary"]
    assert canary["metadata"]["labels"]["llmops.io/variant"] == "canary"
    assert canary["metadata"]["labels"]["llmops.io/endpoint"] == "example-model"
    assert canary["metadata"]["annotations"]["llmops.io/canary-weight"] == "10"
    model = canary["spec"]["predictor"]["model"]
    assert model["storageUri"] == "s3://models/example-base-model/1.1/"
    assert stable["spec"]["predictor"]["model"]["storageUri"].endswith("/1.0/")
    # one served model name for both, so callers see one model whichever answers
    assert "--model_name=example-model" in model["args"]
    # 10% of 2-6 replicas: one, fixed
    assert (
        canary["spec"]["predictor"]["minReplicas"],
        canary["spec"]["predictor"]["maxReplicas"],
    ) == (1, 1)
    # the canary's replica takes prod's one spare GPU: the endpoint rolls without surge
    assert stable["spec"]["predictor"]["deploymentStrategy"]["rollingUpdate"]["maxSurge"] == 0
