"""Saved plans sealed for the trip from CI's plan job to its apply job (deploy/sealed_plan.py),
against the emulator's KMS: what comes out is what went in, and only for the repository,
environment and commit it was sealed for, before it expires and as long as nobody changed it.
(tests/test_bootstrap.py seals a real plan with the bootstrap's key and applies it.)"""

import base64
import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from deploy.sealed_plan import SEALED_FILE, Seal, seal, unseal
from deploy.workspace import DeployError, Workspace
from localaws import emulator
from stacks.bootstrap.config import plan_key_alias
from tests.support import PROJECT_ROOT

ENVIRONMENT = "sealing"
SECRET = b"the prior state, API key and all: 7Yq0sFhK2vB9"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def workspace(running_emulator) -> Workspace:
    """A local-target workspace whose environment has a plan key in the emulator."""
    environ = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("REVIEWS_", "ENVIRONMENT_"))},
        "REVIEWS_EMULATOR_PORT": str(running_emulator.port),
        "REVIEWS_REPOSITORY": "example/product-reviews",
        "REVIEWS_PLAN_RETENTION_DAYS": "7",
    }
    found = Workspace.load(environ, target="local", environment=ENVIRONMENT, project_dir=PROJECT_ROOT)
    kms = emulator.client("kms", running_emulator.endpoint, found.config.target.region)
    key = kms.create_key(Description="test plan key")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=plan_key_alias(ENVIRONMENT), TargetKeyId=key)
    return found


@pytest.fixture
def plan_dir(tmp_path):
    (tmp_path / "plan.bin").write_bytes(SECRET)
    (tmp_path / "plan-record.json").write_text(json.dumps({"stack": "s", "plan_sha256": "x"}))
    return tmp_path


COMMIT = Seal("example/product-reviews", ENVIRONMENT, "c" * 40)


def test_a_sealed_plan_hides_the_plan_and_unseals_to_the_same_bytes(workspace, plan_dir, tmp_path_factory):
    sealed = seal(workspace, plan_dir, COMMIT, now=NOW)
    assert sealed.name == SEALED_FILE and sealed.stat().st_mode & 0o777 == 0o600
    assert SECRET not in sealed.read_bytes() and b"API key" not in sealed.read_bytes()
    header = json.loads(sealed.read_bytes().partition(b"\n")[0])
    assert header["context"] == {
        "repository": "example/product-reviews",
        "environment": ENVIRONMENT,
        "commit": "c" * 40,
    }
    assert datetime.fromisoformat(header["expires_at"]) == NOW + timedelta(days=7)

    into = tmp_path_factory.mktemp("unsealed")
    plan_bin = unseal(workspace, sealed, COMMIT, into, now=NOW + timedelta(days=6))
    assert plan_bin.read_bytes() == SECRET
    assert (into / "plan-record.json").read_text() == (plan_dir / "plan-record.json").read_text()


def test_a_plan_sealed_for_another_commit_or_environment_is_refused(workspace, plan_dir, tmp_path):
    sealed = seal(workspace, plan_dir, COMMIT, now=NOW)
    for other in (Seal(COMMIT.repository, ENVIRONMENT, "d" * 40), Seal(COMMIT.repository, "prod", COMMIT.commit)):
        with pytest.raises(DeployError, match="not the plan reviewed for this commit.*Plan again"):
            unseal(workspace, sealed, other, tmp_path / "out", now=NOW)
    assert not (tmp_path / "out").exists()


def test_an_expired_plan_is_refused_with_plan_again(workspace, plan_dir, tmp_path):
    sealed = seal(workspace, plan_dir, COMMIT, now=NOW)
    with pytest.raises(DeployError, match="expired at .*REVIEWS_PLAN_RETENTION_DAYS.*Plan again"):
        unseal(workspace, sealed, COMMIT, tmp_path / "out", now=NOW + timedelta(days=7, seconds=1))


def test_a_missing_plan_is_refused_with_plan_again(workspace, tmp_path):
    with pytest.raises(DeployError, match="is missing: the reviewed plan's artifact expired.*Plan again"):
        unseal(workspace, tmp_path / SEALED_FILE, COMMIT, tmp_path / "out", now=NOW)


def test_a_changed_header_or_ciphertext_is_refused(workspace, plan_dir, tmp_path):
    sealed = seal(workspace, plan_dir, COMMIT, now=NOW)
    line, _, ciphertext = sealed.read_bytes().partition(b"\n")
    later = line.replace(b'"expires_at": "2026-03-08', b'"expires_at": "2027-03-08')
    assert later != line
    for altered in (later + b"\n" + ciphertext, line + b"\n" + ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])):
        sealed.write_bytes(altered)
        with pytest.raises(DeployError, match="was altered after it was sealed"):
            unseal(workspace, sealed, COMMIT, tmp_path / "out", now=NOW)


def test_kms_itself_refuses_the_data_key_for_another_context(workspace, plan_dir, tmp_path):
    """Even past our own checks: the encryption context is bound into the data key's ciphertext."""
    sealed = seal(workspace, plan_dir, COMMIT, now=NOW)
    header = json.loads(sealed.read_bytes().partition(b"\n")[0])
    kms = workspace.client("kms")
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(
            CiphertextBlob=base64.b64decode(header["encrypted_data_key"]),
            EncryptionContext={**header["context"], "commit": "d" * 40},
        )
