"""`make up` on the second day: the real stack deployed into the emulator and served locally,
then planned by someone else, throttled, changed, locked out, moved and destroyed, the way
users and failures do (tests/cycle.py: one deployment of a copy of the project; each test
starts from the stack as `make up` leaves it and sets up the rest itself). Taints,
interruptions and index changes are in tests/test_local_recovery.py, the API's answers on the
shared deployment in tests/test_local_api.py.
"""

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import pytest

from deploy import alarm_email, locks, make_up
from deploy.errors import DeployError
from deploy.smoke import request
from localaws import emulator
from stacks.remembered_backend import backend_changed

pytestmark = pytest.mark.emulator

HOLDER_START_SECONDS = 10


CYCLE_ENVIRONMENT = "cycle"  # the `cycle` fixture's deployment (tests/conftest.py)


@pytest.fixture(autouse=True)
def up(cycle) -> None:
    cycle.ensure_up()


def test_make_up_deploys_every_resource_and_serves_the_api(cycle):
    synthesized = json.loads((cycle.target().workspace.stack_dir / "cdk.tf.json").read_text())
    resources = sum(len(by_name) for by_name in synthesized["resource"].values())
    assert resources > 30  # the table, the function, the API, the user pool, the alarms, ...
    assert f"Apply complete! Resources: {resources} added, 0 changed, 0 destroyed." in cycle.printed[0]
    assert re.search(r"POST /reviews -> 201", cycle.printed[0])


def test_the_state_is_stored_sse_kms_with_the_state_key(cycle):
    target = cycle.target()
    backend = target.config.backend
    stored = target.client("s3").head_object(Bucket=backend.bucket, Key=backend.key)
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert stored["SSEKMSKeyId"] == backend.kms_key_id == "alias/product-reviews-tfstate-local"
    key = target.client("kms").describe_key(KeyId=stored["SSEKMSKeyId"])["KeyMetadata"]
    assert key["Enabled"] and key["KeyManager"] == "CUSTOMER"  # made with the state bucket


def test_another_person_deploying_the_same_stack_plans_no_changes(cycle):
    # Who deploys (user, CI actor, commit author) reaches no resource: a full plan, refresh
    # included, of the stack synthesized in their shell, finds nothing to do.
    someone_else = {"USER": "mallory", "COMMIT_AUTHOR": "mallory", "GITHUB_ACTOR": "mallory"}
    cycle.target(**someone_else).workspace.synthesize()
    plan = cycle.terraform("plan", "-input=false", "-detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout


def test_a_burst_beyond_the_stage_limits_gets_429s(cycle):
    gateway = cycle.target().gateway
    gateway.start()  # a gateway of its own: the stage's buckets (rate 10/s, burst 20) start full
    url = gateway.url + "/reviews?product_id=cycle-burst"
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: request("GET", url)[0], range(60)))
    finally:
        gateway.start()  # full buckets again for the next test
    assert set(statuses) <= {200, 429}
    assert statuses.count(429) >= 10 and statuses.count(200) >= 20


def test_a_handler_change_is_live_when_make_up_returns_and_changes_only_the_function(cycle):
    responses = cycle.project / "handlers" / "reviews" / "responses.py"
    served = re.search(r'MAX_AGE_SECONDS = "(\d+)"', responses.read_text())
    assert served, f"no MAX_AGE_SECONDS in {responses}"
    max_age = int(served[1]) + 1
    responses.write_text(re.sub(r'MAX_AGE_SECONDS = "\d+"', f'MAX_AGE_SECONDS = "{max_age}"', responses.read_text()))

    output = cycle.up()

    assert "skipping the refresh" in output  # state and emulator were ours alone
    assert "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." in output
    changed = re.findall(r"^(\S+): Modifying\.\.\.", (cycle.target().workspace.log_dir / "apply.log").read_text(), re.M)
    assert [address.split(".")[0] for address in changed] == ["aws_lambda_function"]
    preflight = urllib.request.Request(cycle.target().gateway.url + "/reviews", method="OPTIONS")
    with urllib.request.urlopen(preflight, timeout=10) as reply:
        assert reply.status == 204 and reply.headers["Access-Control-Max-Age"] == str(max_age)


def test_a_lock_a_running_deploy_holds_stops_make_up_with_who_and_the_release_command(cycle, tmp_path):
    lock_id = cycle.put_lock(f"root@{socket.gethostname()}")
    target = cycle.target()
    stack_dir = target.workspace.stack_dir
    # A Terraform process working on this state (a copy of sleep, named terraform, in the stack's folder).
    holder_binary = tmp_path / "terraform"
    holder_binary.write_bytes(Path("/bin/sleep").read_bytes())
    holder_binary.chmod(0o755)
    holder = subprocess.Popen([str(holder_binary), "60"], cwd=stack_dir)
    try:
        # Until the kernel shows the started program as a Terraform process in the stack's folder.
        deadline = time.monotonic() + HOLDER_START_SECONDS
        while not any(f"pid {holder.pid} " in found for found in locks.holders(target.workspace.backend)):
            assert time.monotonic() < deadline, "the lock holder never showed up as a Terraform process"
        with pytest.raises(DeployError) as error:
            make_up.release_stale_lock(target)
        assert f"pid {holder.pid}" in str(error.value) and lock_id in str(error.value)
        assert f"terraform -chdir={stack_dir} force-unlock {lock_id}" in str(error.value)
        assert cycle.lock_exists()
    finally:
        holder.kill()
        holder.wait()
        cycle.remove_lock()


def test_a_lock_taken_on_another_machine_is_never_released(cycle):
    cycle.put_lock("runner@ci-host")
    try:
        with pytest.raises(DeployError, match="force-unlock"):
            make_up.release_stale_lock(cycle.target())
        assert cycle.lock_exists()
    finally:
        cycle.remove_lock()


def test_a_lock_left_by_a_deploy_that_died_is_released_and_make_up_carries_on(cycle):
    lock_id = cycle.put_lock(f"root@{socket.gethostname()}")  # nothing on this machine holds it
    output = cycle.up()
    assert f"released a stale lock {lock_id}" in output
    assert not cycle.lock_exists()


def test_a_moved_emulator_port_needs_no_reconfigure(cycle):
    # Terraform remembers the backend's endpoint in .terraform/; synth forgets it when it moved.
    remembered = cycle.target().workspace.stack_dir / ".terraform" / "terraform.tfstate"
    cached = json.loads(remembered.read_text())
    cached["backend"]["config"]["endpoints"]["s3"] = "http://127.0.0.1:1"
    remembered.write_text(json.dumps(cached))
    cycle.target().workspace.synthesize()
    assert not remembered.exists()

    output = cycle.up()  # init again, against the current endpoint, then nothing to do

    assert "Nothing to apply" in output and remembered.exists()


def test_a_state_written_before_the_state_key_is_encrypted_with_it_by_the_next_apply(cycle):
    target = cycle.target()
    workspace, backend, s3 = target.workspace, target.config.backend, target.client("s3")
    # A stack directory initialized, and a state written, by a version without the key.
    configuration = workspace.stack_dir / "cdk.tf.json"
    synthesized = configuration.read_text()
    without_key = json.loads(synthesized)
    del without_key["terraform"]["backend"]["s3"]["kms_key_id"]
    configuration.write_text(json.dumps(without_key))
    assert cycle.terraform("init", "-reconfigure", "-input=false").returncode == 0
    configuration.write_text(synthesized)
    state = {"Bucket": backend.bucket, "Key": backend.key}
    s3.copy_object(**state, CopySource=state, ServerSideEncryption="AES256", MetadataDirective="REPLACE")
    assert s3.head_object(**state)["ServerSideEncryption"] == "AES256"
    assert backend_changed(workspace.stack_dir)  # Terraform would refuse to plan

    workspace.initialize()  # init -reconfigure: the state stays where it is (the aws target's way)
    assert not backend_changed(workspace.stack_dir)
    (workspace.log_dir / "deployed.json").unlink()  # so make up applies, which writes the state
    output = cycle.up()

    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in output
    stored = s3.head_object(**state)
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"]) == ("aws:kms", backend.kms_key_id)


def test_a_subscription_an_earlier_version_managed_is_forgotten_not_unsubscribed(cycle):
    target = cycle.target()
    topic, sns = alarm_email.topic_arn(target.config), target.client("sns")
    subscribed = sns.subscribe(
        TopicArn=topic, Protocol="email", Endpoint="oncall@example.com", ReturnSubscriptionArn=True
    )
    assert emulator.confirm_subscription(target.endpoint, target.config.target.region, topic, "oncall@example.com")
    arn = subscribed["SubscriptionArn"]
    # The state as the version that managed it left it.
    state = json.loads(cycle.terraform("state", "pull").stdout)
    state["serial"] += 1
    state["resources"].append(
        {
            "mode": "managed",
            "type": "aws_sns_topic_subscription",
            "name": "monitoring_alarm_email_49646F11",
            "provider": state["resources"][0]["provider"],
            "instances": [
                {
                    "schema_version": 0,
                    "attributes": {
                        "id": arn,
                        "arn": arn,
                        "topic_arn": topic,
                        "protocol": "email",
                        "endpoint": "oncall@example.com",
                        "confirmation_timeout_in_minutes": 1,
                        "endpoint_auto_confirms": False,
                        "raw_message_delivery": False,
                    },
                    "sensitive_attributes": [],
                }
            ],
        }
    )
    pushed = target.workspace.stack_dir / "earlier.tfstate"
    pushed.write_text(json.dumps(state))
    assert cycle.terraform("state", "push", str(pushed)).returncode == 0
    pushed.unlink()

    output = cycle.up()

    # Terraform forgot it without unsubscribing: after the apply it was still there, confirmed,
    # for the deploy to unsubscribe, as the cycle's settings name no alarm e-mail.
    assert "Apply complete!" in output and "Destroying" not in output
    assert "aws_sns_topic_subscription" not in cycle.terraform("state", "list").stdout
    assert "unsubscribed `oncall@example.com`: not the configured address" in output
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def _kill_emulator(cycle) -> None:
    running = emulator.status(cycle.target().config.target.emulator_port)
    assert running
    os.kill(running.pid, signal.SIGKILL)  # a crash: nothing is flushed or said on the way out
    emulator.wait_until(lambda: not emulator.pid_alive(running.pid))


def test_after_the_emulator_is_killed_make_up_brings_everything_back_and_adds_nothing(cycle):
    before, key = cycle.seed("cycle-kept", 3), cycle.api_key()
    _kill_emulator(cycle)

    output = cycle.up()

    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in output
    assert cycle.reviews_of("cycle-kept") == before
    assert cycle.api_key() == key  # compared, never printed


def test_make_up_refuses_to_start_afresh_when_the_saved_state_is_gone(cycle):
    target = cycle.target()
    saved = emulator.data_dir(target.config.target.emulator_port, target.state_dir)
    moved = saved.with_name(saved.name + ".moved")
    _kill_emulator(cycle)
    saved.rename(moved)
    try:
        with pytest.raises(DeployError, match="holds no state: its saved state in .* is missing.*make clean-data"):
            make_up.deploy(target)
        backend = target.config.backend
        assert not emulator.state_bucket_exists(target.endpoint, backend.bucket, target.config.target.region)
    finally:
        make_up.stop_emulator(target)
        shutil.rmtree(saved, ignore_errors=True)
        moved.rename(saved)
    assert "0 added" in cycle.up()


def served_max_age(cycle) -> str:
    preflight = urllib.request.Request(cycle.target().gateway.url + "/reviews", method="OPTIONS")
    with urllib.request.urlopen(preflight, timeout=10) as reply:
        return reply.headers["Access-Control-Max-Age"]


def lines_of(process: subprocess.Popen) -> queue.Queue:
    """The process's output, line by line, read in a thread: a test waits for a line with a
    timeout instead of hanging."""
    lines: queue.Queue = queue.Queue()
    output = process.stdout
    assert output  # the pipe asked for (typed optional)

    def read() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_make_watch_serves_a_handler_edit_without_terraform_and_make_up_then_uploads_nothing(cycle):
    responses = cycle.project / "handlers" / "reviews" / "responses.py"
    served = re.search(r'MAX_AGE_SECONDS = "(\d+)"', responses.read_text())
    assert served, f"no MAX_AGE_SECONDS in {responses}"
    edited = str(int(served[1]) + 1)
    watching = subprocess.Popen(
        [sys.executable, "-m", "deploy", "watch"],
        cwd=cycle.project,
        env={**os.environ, **cycle.settings},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = lines_of(watching)
        assert "Watching" in output.get(timeout=120)
        responses.write_text(responses.read_text().replace(served[0], f'MAX_AGE_SECONDS = "{edited}"'))
        assert "changed: handlers/reviews/responses.py" in output.get(timeout=120)
        assert "live in" in output.get(timeout=120)  # pushed, and the gateway reloaded
        assert served_max_age(cycle) == edited
    finally:
        watching.send_signal(signal.SIGINT)
        watching.wait(timeout=30)

    printed = cycle.up()

    assert "recorded in the state, nothing to upload" in printed
    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in printed
    apply_log = (cycle.target().workspace.log_dir / "apply.log").read_text()
    assert not re.search(r"aws_lambda_function\.\S+: Modifying", apply_log)
    assert served_max_age(cycle) == edited


def test_destroy_leaves_nothing_behind_and_down_stops_everything(cycle):
    target = cycle.target()
    output = StringIO()
    with redirect_stdout(output):
        make_up.destroy(target)
    cycle.printed.append(output.getvalue())
    client = target.client
    assert client("dynamodb").list_tables()["TableNames"] == []
    assert client("lambda").list_functions()["Functions"] == []
    assert client("apigateway").get_rest_apis()["items"] == []
    assert client("apigateway").get_api_keys()["items"] == []
    assert client("ssm").describe_parameters()["Parameters"] == []
    assert client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert client("logs").describe_log_groups()["logGroups"] == []
    assert client("sns").list_topics()["Topics"] == []
    autoscaling = client("application-autoscaling")
    assert autoscaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"] == []
    assert not [r for r in client("iam").list_roles()["Roles"] if "cycle" in r["RoleName"]]
    assert target.state()["resources"] == []

    with redirect_stdout(StringIO()):
        make_up.down(target)
    assert emulator.status(target.config.target.emulator_port) is None
    assert not target.gateway.state_file.exists() and not target.storefront.state_file.exists()
