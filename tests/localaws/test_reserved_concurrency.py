"""A reservation the account cannot hold stops plan, apply and make up before anything changes
(deploy/account_limits.py), on emulators whose accounts have the limits AWS reports through
Lambda's GetAccountSettings (localaws/moto_fixes.py): a new account's 10, and the default 1,000.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from deploy import make_up
from deploy.account_limits import check_reserved_concurrency
from deploy.errors import DeployError
from deploy.local_target import LocalTarget
from localaws import emulator
from stacks.config import load_config
from tests.localaws.apis import aws_client, create_function_role, create_test_function
from tests.support import copy_project

pytestmark = pytest.mark.emulator

NEW_ACCOUNT_LIMIT = "10"


@contextmanager
def emulator_with_limit(limit: str, state_dir) -> Iterator[emulator.Emulator]:
    """An emulator of its own whose account's concurrent-executions limit is `limit`."""
    previous = os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA")
    os.environ["MOTO_LAMBDA_CONCURRENCY_QUOTA"] = limit  # the emulator's process copies it at start
    try:
        running = emulator.start(emulator.free_port(), state_dir)
    finally:
        if previous is None:
            del os.environ["MOTO_LAMBDA_CONCURRENCY_QUOTA"]
        else:
            os.environ["MOTO_LAMBDA_CONCURRENCY_QUOTA"] = previous
    try:
        yield running
    finally:
        emulator.stop(running.port, state_dir)


@pytest.fixture(scope="module")
def new_account(tmp_path_factory) -> Iterator[emulator.Emulator]:
    with emulator_with_limit(NEW_ACCOUNT_LIMIT, tmp_path_factory.mktemp("emulator")) as running:
        yield running


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("project"))


def test_a_plan_in_a_new_account_fails_before_any_change_naming_the_setting_and_the_limit(new_account, project):
    settings = {"ENVIRONMENT_SUFFIX": "new-account", "REVIEWS_EMULATOR_PORT": str(new_account.port)}
    plan = subprocess.run(
        [sys.executable, "-m", "deploy", "plan", "--target", "local"],
        cwd=project,
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plan.returncode == 1, plan.stdout + plan.stderr
    assert "make plan failed: REVIEWS_RESERVED_CONCURRENCY=50 does not fit in account 123456789012" in plan.stderr
    assert "its concurrent-executions limit is 10" in plan.stderr
    assert "reservedConcurrency in environments/new-account.json) to `off`," in plan.stderr
    assert "Nothing was changed" in plan.stderr
    # Stopped before synth: nothing planned, no state written.
    assert not (project / "cdktf.out" / "stacks" / "product-reviews-new-account-local").exists()
    assert not (project / "build" / "plan" / "new-account" / "plan.bin").exists()
    s3 = emulator.client("s3", new_account.endpoint, "us-east-2")
    assert s3.list_objects_v2(Bucket="product-reviews-tfstate-local").get("KeyCount") == 0


def test_make_up_in_a_new_account_stops_before_terraform_and_off_is_the_way_out(new_account, project):
    settings = {"ENVIRONMENT_SUFFIX": "new-account-up", "REVIEWS_EMULATOR_PORT": str(new_account.port)}
    with pytest.raises(DeployError, match="limit is 10, other functions reserve 0") as refused:
        make_up.deploy(LocalTarget.load(settings, project_dir=project))
    assert "can reserve at most 0" in str(refused.value)
    assert aws_client(new_account.endpoint, "lambda").list_functions()["Functions"] == []
    # What the message says to set is accepted by the same check.
    off = load_config({}, {**settings, "REVIEWS_RESERVED_CONCURRENCY": "off"}, project / "no-environments")
    check_reserved_concurrency(aws_client(new_account.endpoint, "lambda"), off)


def test_other_functions_reservations_count_and_the_functions_own_is_given_back(tmp_path):
    with emulator_with_limit("1000", tmp_path) as running:
        endpoint, lambda_client = running.endpoint, aws_client(running.endpoint, "lambda")
        role = create_function_role(endpoint, "concurrency-test")
        lambda_client.put_function_concurrency(
            FunctionName=create_test_function(endpoint, role, "others", "echo"), ReservedConcurrentExecutions=850
        )

        def check(reservation: int) -> None:
            environ = {"ENVIRONMENT_SUFFIX": "busy", "REVIEWS_RESERVED_CONCURRENCY": str(reservation)}
            check_reserved_concurrency(lambda_client, load_config({}, environ, tmp_path))

        check(50)  # 1,000 - 850 - the 100 Lambda keeps unreserved
        with pytest.raises(DeployError, match="other functions reserve 850 .* at most 50. .* to `off`, or at most 50"):
            check(51)
        ours = create_test_function(endpoint, role, "ReviewProcessor", "busy")  # ReviewProcessor-busy
        lambda_client.put_function_concurrency(FunctionName=ours, ReservedConcurrentExecutions=40)
        check(50)  # its own 40 come back when the reservation changes
        with pytest.raises(DeployError, match="at most 50"):
            check(51)
