"""`llmops promote` of an endpoint serving a LoRA adapter trained in the source environment."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import commit_all, init_repository
from tests.helpers.lineage_estate import write_lineage_estate

ADAPTER = "environments/_shared/catalog/support-sft.yaml"


def test_the_adapter_follows_and_still_names_its_dev_job(tmp_path: Path) -> None:
    root = write_lineage_estate(tmp_path / "repo", approve=False)
    # the adapter lives in dev, next to the job that trains it, and names the job as dev's own
    adapter = (root / ADAPTER).read_text().replace("dev/support-sft", "support-sft")
    (root / ADAPTER).unlink()
    (root / "environments/dev/catalog").mkdir()
    (root / "environments/dev/catalog/support-sft.yaml").write_text(adapter)
    (root / "environments/stg/serving/support-chat.yaml").unlink()
    for model in ("support-model@1.0", "support-sft@1.0"):
        assert (
            run_cli(
                "approve", model, str(root), "--env", "dev", "--by", "alice", "--role", "admin"
            ).exit_code
            == 0
        )
    repository = init_repository(root)
    commit_all(repository, "support-sft trained and served in dev")

    result = run_cli("promote", "support-chat", "--from", "dev", "--to", "stg", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    commit = repository.commit("promote/support-chat-dev-to-stg")
    copied = yaml.safe_load(
        commit.tree["environments/stg/catalog/support-sft.yaml"].data_stream.read()
    )
    assert copied["spec"]["trainedBy"] == "dev/support-sft"
    # both the base and the adapter need stg's approvals, and the output says how to give them
    assert "llmops approve support-model@1.0 --env stg" in result.stdout
    assert "llmops approve support-sft@1.0 --env stg" in result.stdout
