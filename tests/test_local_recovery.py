"""`make up` after failures (a tainted function and API key, an apply interrupted halfway) and
index changes (a projection changed while the autoscaler moved its capacity, a second index on
the provisioned table), each handled by `make up` alone with every review kept; and through
all of it, the API key is in no file or log
(tests/cycle.py: one deployment of a copy of the project; each test seeds its own reviews).
"""

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from deploy.review.render import render_review
from localaws import emulator

pytestmark = pytest.mark.emulator


CYCLE_ENVIRONMENT = "recovery"  # the `cycle` fixture's deployment (tests/conftest.py)


@pytest.fixture(autouse=True)
def up(cycle) -> None:
    cycle.ensure_up()


def test_a_tainted_function_and_api_key_are_replaced_keeping_every_review(cycle):
    before = cycle.seed("recovery-tainted")
    old_key = cycle.api_key()
    workspace = cycle.target().workspace
    addresses = cycle.addresses("aws_lambda_function", "aws_api_gateway_api_key")
    for address in addresses:
        assert cycle.terraform("taint", address).returncode == 0

    output = cycle.up()

    assert "Apply complete!" in output and "0 destroyed" not in output
    assert cycle.reviews_of("recovery-tainted") == before  # the table was never touched
    assert cycle.api_key() != old_key
    after = {"product_id": "recovery-tainted", "rating": 3}
    assert cycle.call("POST", "/reviews", after, by="after-taint")[0] == 201
    assert cycle.call("POST", "/reviews", after, key=old_key, by="old-key")[0] == 403
    assert "(sensitive)" in (workspace.log_dir / "apply.log").read_text()  # the replaced key's value


def test_an_interrupted_make_up_recovers_by_itself_with_the_data_kept(cycle):
    before = cycle.seed("recovery-interrupted")
    for address in cycle.addresses("aws_lambda_function", "aws_iam_role", "aws_cloudwatch_log_group"):
        cycle.terraform("taint", address)
    environ = {**os.environ, **cycle.settings}
    make_up = subprocess.Popen(
        [sys.executable, "-m", "deploy", "up"],
        cwd=cycle.project,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert make_up.stdout  # the pipe just asked for (typed optional)
    printed = []
    for line in make_up.stdout:
        printed.append(line)
        if re.search(r": (Destroying|Creating)\.\.\.", line):
            make_up.send_signal(signal.SIGINT)  # Ctrl-C in the middle of the apply
            break
    printed += make_up.stdout.readlines()
    assert make_up.wait(timeout=300) == 130, "".join(printed)
    cycle.printed.append("".join(printed))
    assert "stopped safely" in "".join(printed)
    assert not cycle.lock_exists()  # Terraform released it on the way out

    output = cycle.up()  # no manual step in between

    assert "Apply complete!" in output
    assert cycle.reviews_of("recovery-interrupted") == before
    assert cycle.call("GET", "/products/recovery-interrupted/rating")[0] == 200


def test_index_changes_plan_and_apply_while_autoscaled_capacity_never_drifts(cycle):
    target = cycle.target()
    dynamodb = target.client("dynamodb")
    table, index = target.config.table.name, "ReviewerIdIndex"
    # The autoscaler raises capacity: never a change Terraform wants to undo.
    dynamodb.update_table(
        TableName=table,
        ProvisionedThroughput={"ReadCapacityUnits": 9, "WriteCapacityUnits": 8},
        GlobalSecondaryIndexUpdates=[
            {
                "Update": {
                    "IndexName": index,
                    "ProvisionedThroughput": {"ReadCapacityUnits": 17, "WriteCapacityUnits": 13},
                }
            }
        ],
    )
    plan = cycle.terraform("plan", "-input=false", "-detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr

    # A user changes the index's projection: the plan shows it, with the review's callout ...
    contract = cycle.project / "handlers" / "reviews" / "contract.py"
    contract.write_text(contract.read_text().replace('projection="ALL"', 'projection="KEYS_ONLY"'))
    target.workspace.synthesize()
    assert cycle.terraform("plan", "-input=false", "-out=index.plan").returncode == 0
    plan = json.loads(cycle.terraform("show", "-json", "index.plan").stdout)
    (target.workspace.stack_dir / "index.plan").unlink()  # it embeds the state, API key included
    changed = [
        (c["address"].split(".")[0], c["change"]["actions"])
        for c in plan["resource_changes"]
        if c["change"]["actions"] != ["no-op"]
    ]
    assert ("aws_dynamodb_table", ["update"]) in changed
    assert all(
        kind
        in (
            "aws_dynamodb_table",
            "aws_lambda_function",
            "aws_api_gateway_rest_api",
            "aws_api_gateway_deployment",
            "aws_api_gateway_stage",
        )
        for kind, _ in changed
    )
    assert "rebuilt" in render_review(plan, "cycle").lower()

    # ... and make up applies it, keeping the autoscaler's capacity.
    cycle.up()
    indexes = dynamodb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
    described = {i["IndexName"]: i for i in indexes}[index]  # another test may have added one
    assert described["Projection"]["ProjectionType"] == "KEYS_ONLY"
    assert described["ProvisionedThroughput"]["ReadCapacityUnits"] == 17


def test_a_second_index_on_the_provisioned_table_plans_with_the_minimum_capacity_and_applies(cycle):
    target = cycle.target()
    dynamodb, table = target.client("dynamodb"), target.config.table.name
    autoscaled = {"ReadCapacityUnits": 17, "WriteCapacityUnits": 13}
    dynamodb.update_table(
        TableName=table,
        GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "ReviewerIdIndex", "ProvisionedThroughput": autoscaled}}],
    )
    contract = cycle.project / "handlers" / "reviews" / "contract.py"
    second = 'Index("ProductReviewerIndex", partition_key="product_id", sort_key="reviewer_id", projection="KEYS_ONLY")'
    contract.write_text(
        contract.read_text().replace(
            "INDEXES: tuple[Index, ...] = (REVIEWER_INDEX,)", f"INDEXES: tuple[Index, ...] = (REVIEWER_INDEX, {second})"
        )
    )
    target.workspace.synthesize()
    assert cycle.terraform("plan", "-input=false", "-out=index.plan").returncode == 0
    plan = json.loads(cycle.terraform("show", "-json", "index.plan").stdout)
    (target.workspace.stack_dir / "index.plan").unlink()  # it embeds the state, API key included
    [table_change] = [c for c in plan["resource_changes"] if c["type"] == "aws_dynamodb_table"]
    planned = {i["name"]: i for i in table_change["change"]["after"]["global_secondary_index"]}
    # The new index has no live capacity yet: the configured minimum, not null.
    new_index = planned["ProductReviewerIndex"]
    assert (new_index.get("read_capacity"), new_index.get("write_capacity")) == (5, 5)
    assert planned["ReviewerIdIndex"]["read_capacity"] == 17  # the autoscaler's, kept

    assert "Apply complete!" in cycle.up()

    described = {i["IndexName"]: i for i in dynamodb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]}
    assert described["ProductReviewerIndex"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 5


def test_the_api_key_is_in_no_file_or_log(cycle):
    if len(cycle.api_keys) < 2:  # the first key and one that replaced it, unless a test replaced it already
        [api_key] = cycle.addresses("aws_api_gateway_api_key")
        assert cycle.terraform("taint", api_key).returncode == 0
        cycle.up()
    assert len(cycle.api_keys) >= 2
    target = cycle.target()
    # The emulator's saved state is where the key lives, as it does in AWS: it must survive a
    # reboot. It alone holds it, readable by its owner alone.
    saved_state = emulator.data_dir(target.config.target.emulator_port, target.state_dir)
    assert [path for path in saved_state.iterdir() if path.stat().st_mode & 0o077] == []
    assert saved_state.stat().st_mode & 0o077 == 0
    written = [
        path
        for folder in (".local", "cdktf.out", "build")
        for path in (cycle.project / folder).rglob("*")
        if path.is_file() and "providers" not in path.parts and saved_state not in path.parents
    ]
    for key in cycle.api_keys:
        for path in written:
            assert key.encode() not in path.read_bytes(), f"{path} holds the API key"
        for printed in cycle.printed:
            assert key not in printed
    # What deploys write (logs, outputs) is readable by its owner alone.
    logs = list((cycle.project / ".local" / cycle.target().config.stack_name).iterdir())
    assert logs and all(path.stat().st_mode & 0o077 == 0 for path in logs)
