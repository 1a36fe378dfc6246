"""A stack refuses to deploy into an account other than the one its environment names."""

import pytest

from deploy.errors import DeployError
from deploy.local_target import LocalTarget
from deploy.make_up import deploy
from localaws import emulator
from tests.support import copy_project

pytestmark = pytest.mark.emulator


def test_a_deploy_with_another_accounts_credentials_changes_nothing_and_says_why(tmp_path, monkeypatch):
    # An emulator answering as account 999999999999, where the local stack is pinned to moto's
    # default account: the same check that stops a deploy with the wrong account's credentials.
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    target = LocalTarget.load(
        {
            "ENVIRONMENT_SUFFIX": "wrong-account",
            "REVIEWS_EMULATOR_PORT": str(emulator.free_port()),
        },
        project_dir=copy_project(tmp_path),
    )
    running = emulator.start(target.config.target.emulator_port, target.state_dir)
    try:
        emulator.ensure_state_bucket(target.endpoint, target.config.backend.bucket, target.config.target.region)
        with pytest.raises(DeployError) as refused:
            deploy(target)
        message = str(refused.value)
        assert "account 999999999999" in message and "only to account 123456789012" in message
        assert "REVIEWS_ACCOUNT_ID" in message and "Nothing was changed" in message
        assert target.client("dynamodb").list_tables()["TableNames"] == []
    finally:
        emulator.stop(running.port, target.state_dir)
