"""A stack refuses to deploy into an account other than the one its environment names."""

import pytest

from deploy import local as local_target
from deploy.workspace import DeployError
from localaws import emulator
from tests.support import copy_project

pytestmark = pytest.mark.emulator


def test_a_deploy_with_another_accounts_credentials_changes_nothing_and_says_why(tmp_path, monkeypatch):
    # An emulator answering as account 999999999999, where the local stack is pinned to moto's
    # default account: the same check that stops a deploy with the wrong account's credentials.
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    local = local_target.Local.load(
        {
            "ENVIRONMENT_SUFFIX": "wrong-account",
            "REVIEWS_EMULATOR_PORT": str(emulator.free_port()),
        },
        project_dir=copy_project(tmp_path),
    )
    running = emulator.start(local.config.target.emulator_port, local.state_dir)
    try:
        emulator.ensure_state_bucket(local.endpoint, local.config.backend.bucket, local.config.target.region)
        with pytest.raises(DeployError) as refused:
            local_target.deploy(local)
        message = str(refused.value)
        assert "account 999999999999" in message and "only to account 123456789012" in message
        assert "REVIEWS_ACCOUNT_ID" in message and "Nothing was changed" in message
        assert local.client("dynamodb").list_tables()["TableNames"] == []
    finally:
        emulator.stop(running.port, local.state_dir)
