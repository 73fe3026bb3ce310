"""Approver ids and roles are things a person or a caller can actually be or hold.

A blank approver (`--by ' '`) counted as a second person and satisfied prod's two-approver rule;
allowedRoles entries no caller can send in X-User-Roles (`"ml,team"`, `" admin"`, `""`, control
characters, 70,000 characters) were accepted. Every role field now follows the requiredRole rule
(printable ASCII, no spaces or commas, at most 128 characters), every approver id is non-blank text
without padding or control characters, and ids differing only in case are one approver.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.spec.formats import MAX_ROLE_NAME, is_role_name, is_user_id
from tests.helpers.estate import copy_bundled_estate, run_cli

BOB = "environments/prod/approvals/example-base-model-1-0-bob.yaml"
ALICE = "environments/prod/approvals/example-base-model-1-0-alice.yaml"
ENDPOINT = "environments/dev/serving/example-model.yaml"
PROD = "environments/prod/environment.yaml"


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    return copy_bundled_estate(tmp_path)


def _replace(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("who", [" ", "", "\t", " bob", "bob ", "bob\u200b", "b\x1bob", "x" * 257])
def test_approve_refuses_an_approver_nobody_is_and_writes_nothing(estate: Path, who: str) -> None:
    (estate / BOB).unlink()
    result = run_cli(
        "approve", "example-base-model@1.0", "--env", "prod", "--by", who, "--role", "ml-lead",
        str(estate),
    )  # fmt: skip
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "not usable as an approver" in result.stderr
    assert sorted(p.name for p in (estate / BOB).parent.iterdir()) == [Path(ALICE).name]
    assert run_cli("validate", str(estate), "--env", "prod").exit_code == 1  # still one approver


@pytest.mark.parametrize("role", ["", " ml-lead", "ml,lead", "ml lead", "ml\nlead", "r" * 129])
def test_approve_refuses_a_role_no_caller_holds(estate: Path, role: str) -> None:
    result = run_cli(
        "approve", "example-base-model@1.0", "--env", "prod", "--by", "carol", "--role", role,
        str(estate),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not usable as a role" in result.stderr


@pytest.mark.parametrize("who", ['" "', '""', '"bob\\t"', '"\\u200b"', '"bob\\nx"'])
def test_a_hand_written_blank_approver_is_s005_and_counts_for_nobody(
    estate: Path, who: str
) -> None:
    _replace(estate, BOB, "approvedBy: bob", f"approvedBy: {who}")
    result = run_cli("validate", str(estate), "--env", "prod")
    assert result.exit_code == 1
    assert f"{BOB}:9:15: error[S005]: spec.approvedBy must be a user id" in result.stdout


@pytest.mark.parametrize("alias", ["ALICE", "Alice", "\uff41lice"])  # fullwidth a: NFKC folds it
def test_one_person_in_two_spellings_is_one_approver(estate: Path, alias: str) -> None:
    _replace(estate, BOB, "approvedBy: bob", f"approvedBy: {alias}")
    result = run_cli("validate", str(estate), "--env", "prod")
    assert result.exit_code == 1, result.stdout
    assert "error[P001]" in result.stdout
    assert "1 of 2 required approvals" in result.stdout


ROLE_FIELDS = {
    "allowedRoles": (ENDPOINT, "  useGpu: false\n", "  useGpu: false\n  allowedRoles: [{role}]\n"),
    "approval.roles": (PROD, "roles: [admin, ml-lead]", "roles: [admin, {role}]"),
    "Approval.role": (BOB, "role: ml-lead", "role: {role}"),
    "requiredRole": (
        PROD,
        "    tokenSecretName:",
        "    requiredRole: {role}\n    tokenSecretName:",
    ),
}
BAD_ROLES = ['"ml,team"', '" admin"', '""', '"a\\nb"', '"a\\u0000b"', '"a\\tb"', "r" * 70_000]


@pytest.mark.parametrize("field", sorted(ROLE_FIELDS))
@pytest.mark.parametrize("role", BAD_ROLES, ids=lambda r: r[:10])
def test_every_role_field_refuses_a_role_no_caller_can_hold(
    estate: Path, field: str, role: str
) -> None:
    file, old, new = ROLE_FIELDS[field]
    _replace(estate, file, old, new.format(role=role))
    result = run_cli("validate", str(estate))
    assert result.exit_code == 1, result.stdout
    assert "error[S005]" in result.stdout and "must be a role as callers send it" in result.stdout
    assert f"{file}:" in result.stdout


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_a_role_is_one_x_user_roles_entry(text: str) -> None:
    """A role is accepted exactly when a caller can send it as one comma-separated header entry."""
    sendable = (
        0 < len(text) <= MAX_ROLE_NAME
        and text.isascii()
        and text.isprintable()
        and " " not in text
        and "," not in text
    )
    assert is_role_name(text) == sendable


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_a_user_id_is_visible_unpadded_text(text: str) -> None:
    if is_user_id(text):
        assert text.strip() == text and text
        assert all(c.isprintable() or c == " " for c in text), repr(text)
