"""Files llmops edits keep their line endings: a CRLF file rolled back, promoted into or
re-approved stays CRLF throughout (no file of mixed endings), as the git binary stores it."""

from __future__ import annotations

import subprocess

import git

from tests.helpers.estate import run_cli
from tests.helpers.git_repo import commit_all, root_of

DEV_ENDPOINT = "environments/dev/serving/example-model.yaml"
STG_ENDPOINT = "environments/stg/serving/example-model.yaml"
STG_APPROVAL = "environments/stg/approvals/example-base-model-1-0-admin.yaml"


def to_crlf(repo: git.Repo, relative: str, before: str = "") -> None:
    path = root_of(repo) / relative
    text = before + path.read_text(encoding="utf-8")
    path.write_bytes(text.replace("\n", "\r\n").encode())


def committed(repo: git.Repo, revision: str, relative: str) -> bytes:
    """The blob as the git binary stores it (bytes: text mode would translate line endings)."""
    return subprocess.run(
        ["git", "show", f"{revision}:{relative}"],
        cwd=root_of(repo),
        check=True,
        capture_output=True,
    ).stdout


def all_crlf(data: bytes) -> bool:
    return data.count(b"\n") == data.count(b"\r\n") > 0


def second_endpoint(repo: git.Repo) -> str:
    text = (root_of(repo) / DEV_ENDPOINT).read_text(encoding="utf-8")
    second = text.replace("name: example-model", "name: second")
    return second.replace("/serve/example-model", "/serve/second") + "---\n"


def test_a_rollback_keeps_a_crlf_files_line_endings(repo: git.Repo) -> None:
    to_crlf(repo, DEV_ENDPOINT, second_endpoint(repo))
    commit_all(repo, "dev: two endpoints in one CRLF file, example-model second")
    path = root_of(repo) / DEV_ENDPOINT
    data = path.read_bytes()
    at = data.index(b"name: example-model")
    path.write_bytes(data[:at] + data[at:].replace(b"maxReplicas: 3\r\n", b"maxReplicas: 5\r\n"))
    commit_all(repo, "dev: maxReplicas 5")

    result = run_cli("rollback", "example-model", "--env", "dev", str(root_of(repo)))
    assert result.exit_code == 0, result.stdout + result.stderr
    data = committed(repo, "HEAD", DEV_ENDPOINT)
    assert b"maxReplicas: 5" not in data and all_crlf(data)
    assert path.read_bytes() == data


def test_a_promotion_keeps_the_targets_line_endings(repo: git.Repo) -> None:
    to_crlf(repo, STG_ENDPOINT)
    commit_all(repo, "stg: CRLF")
    dev = root_of(repo) / DEV_ENDPOINT
    dev.write_text(dev.read_text(encoding="utf-8").replace("1024", "512"), encoding="utf-8")
    commit_all(repo, "dev: shorter answers")
    result = run_cli("promote", "example-model", "--from", "dev", "--to", "stg", str(root_of(repo)))
    assert result.exit_code == 0, result.stdout + result.stderr
    data = committed(repo, "promote/example-model-dev-to-stg", STG_ENDPOINT)
    assert b"max_output_tokens: 512\r\n" in data and all_crlf(data)


def test_approving_again_keeps_the_approvals_line_endings(repo: git.Repo) -> None:
    to_crlf(repo, STG_APPROVAL)
    commit_all(repo, "stg approval: CRLF")
    result = run_cli(
        "approve",
        "example-base-model@1.0",
        "--env",
        "stg",
        "--by",
        "admin",
        "--role",
        "admin",
        "--notes",
        "again",
        str(root_of(repo)),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == STG_APPROVAL
    data = (root_of(repo) / STG_APPROVAL).read_bytes()
    assert b"notes: again\r\n" in data and all_crlf(data)


def test_a_byte_order_mark_is_kept_by_rollback_and_promote(repo: git.Repo) -> None:
    """A file opening with a BOM (which the loader allows) came back from a rollback or a
    promotion without it: a change to another document's first line, on the diff of a change to
    one endpoint."""
    bom = b"\xef\xbb\xbf"
    to_crlf(repo, DEV_ENDPOINT, "# lead\n" + second_endpoint(repo))
    to_crlf(repo, STG_ENDPOINT, "# lead\n")
    for relative in (DEV_ENDPOINT, STG_ENDPOINT):
        path = root_of(repo) / relative
        path.write_bytes(bom + path.read_bytes())
    commit_all(repo, "dev and stg: BOM and CRLF")
    dev = root_of(repo) / DEV_ENDPOINT
    data = dev.read_bytes()
    at = data.index(b"name: example-model")
    dev.write_bytes(
        data[:at] + data[at:].replace(b"max_output_tokens: 1024", b"max_output_tokens: 512")
    )
    commit_all(repo, "dev: shorter answers")

    promoted = run_cli(
        "promote", "example-model", "--from", "dev", "--to", "stg", str(root_of(repo))
    )
    assert promoted.exit_code == 0, promoted.stdout + promoted.stderr
    data = committed(repo, "promote/example-model-dev-to-stg", STG_ENDPOINT)
    assert data.startswith(bom + b"# lead\r\n") and b"max_output_tokens: 512\r\n" in data
    assert all_crlf(data)

    rolled = run_cli("rollback", "example-model", "--env", "dev", str(root_of(repo)))
    assert rolled.exit_code == 0, rolled.stdout + rolled.stderr
    data = committed(repo, "HEAD", DEV_ENDPOINT)
    assert data.startswith(bom + b"# lead\r\n") and b"max_output_tokens: 1024\r\n" in data
    assert data.count(bom) == 1 and all_crlf(data)
