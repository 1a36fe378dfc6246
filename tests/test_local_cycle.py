"""`make up` on the second day: the real stack deployed into the emulator and served locally,
then changed, interrupted, tainted, locked out and destroyed, the way users and failures do.

The tests run in file order and share one deployment of a copy of the project (so editing
its handler or contract never touches the real tree). Each step checks what a user relies
on: the API answers, the reviews in the table survive, and the API key leaks nowhere.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import pytest

from deploy import make_up
from deploy.errors import DeployError
from deploy.local_target import LocalTarget
from deploy.review.render import render_review
from deploy.smoke import request
from handlers.reviews import contract
from localaws import emulator
from tests.deployments import disposable_settings, stop_serving
from tests.localaws.identity import claims_of, create_user, deployed_pool, sign_in
from tests.support import copy_project

pytestmark = pytest.mark.emulator

# Functional requests stay under the stage's 10 requests/s; only the burst test exceeds it.
REQUEST_INTERVAL_SECONDS = 0.12
PRODUCT = "cycle-kept"


class Cycle:
    """The shared deployment, and everything it printed (to search for secrets at the end)."""

    def __init__(self, project: Path, settings: dict[str, str]):
        self.project = project
        self.settings = settings
        self.printed: list[str] = []
        self.api_keys: set[str] = set()
        self.reviewers: dict[str, tuple[str, str]] = {}  # name -> (password, ID token)

    def target(self, **extra: str) -> LocalTarget:
        return LocalTarget.load({**self.settings, **extra}, project_dir=self.project)

    def up(self, **extra: str) -> str:
        output = StringIO()
        with redirect_stdout(output):
            make_up.up(self.target(**extra))
        self.printed.append(output.getvalue())
        self.api_keys.add(self.api_key())
        return output.getvalue()

    def api_key(self) -> str:
        return self.target().api_key()

    def sign_in(self, name: str) -> str:
        """The ID token of reviewer `name`, a user of the deployed pool made on first use."""
        if name not in self.reviewers:
            pool = deployed_pool(self.target())
            email = f"{name}@example.com"
            password = create_user(pool, email, {"email": email, contract.DISPLAY_NAME_ATTRIBUTE: name})
            self.reviewers[name] = (password, sign_in(pool, email, password)["IdToken"])
        return self.reviewers[name][1]

    def reviewer_id(self, name: str) -> str:
        return claims_of(self.sign_in(name))[contract.REVIEWER_CLAIM]

    def call(
        self, method: str, path: str, body: dict | None = None, key: str | None = "current", by: str | None = None
    ):
        """(status, body) of a request through the gateway, with the API key and, `by` a reviewer, their token."""
        time.sleep(REQUEST_INTERVAL_SECONDS)
        headers = {contract.API_KEY_HEADER: self.api_key() if key == "current" else key} if key else {}
        if by is not None:
            headers[contract.AUTHORIZATION_HEADER] = self.sign_in(by)
        status, text = request(method, self.target().gateway.url + path, body, headers)
        return status, json.loads(text) if text else None

    def terraform(self, *args: str) -> subprocess.CompletedProcess:
        """`terraform <args>` in the stack, run as make up runs Terraform (one provider process)."""
        with self.target().workspace.terraform_session() as stack:
            return subprocess.run(
                ["terraform", f"-chdir={stack.directory}", *args, "-no-color"],
                env=stack.env(),
                capture_output=True,
                text=True,
            )

    def reviews_of(self, product: str) -> list[str]:
        status, page = self.call("GET", f"/reviews?product_id={product}&limit=100")
        assert status == 200
        return [review["review_id"] for review in page["reviews"]]


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("project"))
    cycle = Cycle(project, disposable_settings("cycle"))
    try:
        cycle.up()
        yield cycle
    finally:
        stop_serving(cycle.target())


def test_make_up_deploys_every_resource_and_serves_the_api(cycle):
    assert "Apply complete! Resources: 45 added, 0 changed, 0 destroyed." in cycle.printed[0]
    assert re.search(r"POST /reviews -> 201", cycle.printed[0])


def test_another_person_deploying_the_same_stack_plans_no_changes(cycle):
    # Who deploys (user, CI actor, commit author) reaches no resource: a full plan, refresh
    # included, of the stack synthesized in their shell, finds nothing to do.
    someone_else = {"USER": "mallory", "COMMIT_AUTHOR": "mallory", "GITHUB_ACTOR": "mallory"}
    cycle.target(**someone_else).workspace.synthesize()
    plan = cycle.terraform("plan", "-input=false", "-detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout


def test_a_write_needs_a_signed_in_reviewer_and_the_api_key(cycle):
    review = {"product_id": "cycle-key", "rating": 5}
    assert cycle.call("POST", "/reviews", review) == (401, {"message": "Unauthorized"})
    assert cycle.call("POST", "/reviews", review, key=None, by="r-1") == (403, {"message": "Forbidden"})
    assert cycle.call("POST", "/reviews", review, key="not-the-key", by="r-1")[0] == 403
    status, created = cycle.call("POST", "/reviews", review, by="r-1")
    assert status == 201 and created["rating"] == 5 and created["review_id"]
    assert (created["reviewer_id"], created["reviewer_name"]) == (cycle.reviewer_id("r-1"), "r-1")


def test_listings_page_through_every_review_by_product_and_by_reviewer(cycle):
    created = []
    for n in range(5):
        listed = {"product_id": PRODUCT, "rating": 1 + n % 5}
        status, review = cycle.call("POST", "/reviews", listed, by=f"lister-{n}")
        assert status == 201
        created.append(review["review_id"])
        other_product = {"product_id": f"cycle-other-{n}", "rating": 4}
        assert cycle.call("POST", "/reviews", other_product, by="lister-0")[0] == 201

    def walk(query: str) -> list[str]:
        seen, token = [], None
        for _ in range(10):
            status, page = cycle.call("GET", f"/reviews?{query}&limit=2" + (f"&next_token={token}" if token else ""))
            assert status == 200 and len(page["reviews"]) <= 2
            seen += [review["review_id"] for review in page["reviews"]]
            token = page["next_token"]
            if not token:
                return seen
        pytest.fail("pagination did not end")

    assert walk(f"product_id={PRODUCT}") == created[::-1]  # newest first
    by_reviewer = walk(f"reviewer_id={cycle.reviewer_id('lister-0')}")
    assert len(by_reviewer) == len(set(by_reviewer)) == 6 and created[0] in by_reviewer


def test_rating_summary_counts_the_product_reviews(cycle):
    status, summary = cycle.call("GET", f"/products/{PRODUCT}/rating")
    assert status == 200
    assert summary["review_count"] == 5 and summary["ratings"] == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1}


def test_unknown_routes_and_methods_are_missing_authentication_token(cycle):
    assert cycle.call("GET", "/nothing-here") == (403, {"message": "Missing Authentication Token"})
    assert cycle.call("DELETE", "/reviews")[0] == 403


def test_a_burst_beyond_the_stage_limits_gets_429s(cycle):
    time.sleep(2.5)  # let the token bucket (rate 10/s, burst 20) refill
    url = cycle.target().gateway.url + f"/reviews?product_id={PRODUCT}"
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: request("GET", url)[0], range(60)))
    assert set(statuses) <= {200, 429}
    assert statuses.count(429) >= 10 and statuses.count(200) >= 20
    time.sleep(2.5)


def test_a_handler_change_is_live_when_make_up_returns_and_changes_only_the_function(cycle):
    responses = cycle.project / "handlers" / "reviews" / "responses.py"
    responses.write_text(responses.read_text().replace('MAX_AGE_SECONDS = "600"', 'MAX_AGE_SECONDS = "601"'))

    output = cycle.up()

    assert "skipping the refresh" in output  # state and emulator were ours alone
    assert "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." in output
    changed = re.findall(r"^(\S+): Modifying\.\.\.", (cycle.target().workspace.log_dir / "apply.log").read_text(), re.M)
    assert [address.split(".")[0] for address in changed] == ["aws_lambda_function"]
    preflight = urllib.request.Request(cycle.target().gateway.url + "/reviews", method="OPTIONS")
    with urllib.request.urlopen(preflight, timeout=10) as reply:
        assert reply.status == 204 and reply.headers["Access-Control-Max-Age"] == "601"


def _put_lock(cycle, who: str) -> str:
    target = cycle.target()
    lock_id = "11111111-2222-3333-4444-555555555555"
    target.client("s3").put_object(
        Bucket=target.config.backend.bucket,
        Key=target.config.backend.key + ".tflock",
        Body=json.dumps(
            {
                "ID": lock_id,
                "Operation": "OperationTypeApply",
                "Who": who,
                "Version": "1.11.4",
                "Created": "2026-11-28T05:00:00Z",
            }
        ),
    )
    return lock_id


def _lock_exists(cycle) -> bool:
    target = cycle.target()
    backend = target.config.backend
    listed = target.client("s3").list_objects_v2(Bucket=backend.bucket, Prefix=backend.key + ".tflock")
    return listed.get("KeyCount", 0) > 0


def test_a_lock_a_running_deploy_holds_stops_make_up_with_who_and_the_release_command(cycle, tmp_path):
    lock_id = _put_lock(cycle, f"root@{socket.gethostname()}")
    stack_dir = cycle.target().workspace.stack_dir
    # A Terraform process working on this state (a copy of sleep, named terraform, in the stack's folder).
    holder_binary = tmp_path / "terraform"
    holder_binary.write_bytes(Path("/bin/sleep").read_bytes())
    holder_binary.chmod(0o755)
    holder = subprocess.Popen([str(holder_binary), "60"], cwd=stack_dir)
    try:
        time.sleep(0.2)
        with pytest.raises(DeployError) as error:
            make_up.release_stale_lock(cycle.target())
        assert f"pid {holder.pid}" in str(error.value) and lock_id in str(error.value)
        assert f"terraform -chdir={stack_dir} force-unlock {lock_id}" in str(error.value)
        assert _lock_exists(cycle)
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_taken_on_another_machine_is_never_released(cycle):
    _put_lock(cycle, "runner@ci-host")
    with pytest.raises(DeployError, match="force-unlock"):
        make_up.release_stale_lock(cycle.target())
    assert _lock_exists(cycle)


def test_a_lock_left_by_a_deploy_that_died_is_released_and_make_up_carries_on(cycle):
    _put_lock(cycle, f"root@{socket.gethostname()}")  # nothing on this machine holds it
    output = cycle.up()
    assert "released a stale lock 11111111-2222-3333-4444-555555555555" in output
    assert not _lock_exists(cycle)


def test_a_tainted_function_and_api_key_are_replaced_keeping_every_review(cycle):
    before = cycle.reviews_of(PRODUCT)
    old_key = cycle.api_key()
    workspace = cycle.target().workspace
    addresses = _addresses(cycle, "aws_lambda_function", "aws_api_gateway_api_key")
    for address in addresses:
        assert cycle.terraform("taint", address).returncode == 0

    output = cycle.up()

    assert "Apply complete!" in output and "0 destroyed" not in output
    assert cycle.reviews_of(PRODUCT) == before  # the table was never touched
    assert cycle.api_key() != old_key
    assert cycle.call("POST", "/reviews", {"product_id": PRODUCT, "rating": 3}, by="after-taint")[0] == 201
    assert cycle.call("POST", "/reviews", {"product_id": PRODUCT, "rating": 3}, key=old_key, by="old-key")[0] == 403
    assert "(sensitive)" in (workspace.log_dir / "apply.log").read_text()  # the replaced key's value


def _addresses(cycle, *resource_types: str) -> list[str]:
    listed = cycle.terraform("state", "list").stdout.split()
    return [address for address in listed if address.split(".")[0] in resource_types]


def test_an_interrupted_make_up_recovers_by_itself_with_the_data_kept(cycle):
    before = cycle.reviews_of(PRODUCT)
    for address in _addresses(cycle, "aws_lambda_function", "aws_iam_role", "aws_cloudwatch_log_group"):
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
    assert not _lock_exists(cycle)  # Terraform released it on the way out

    output = cycle.up()  # no manual step in between

    assert "Apply complete!" in output
    assert cycle.reviews_of(PRODUCT) == before
    assert cycle.call("GET", f"/products/{PRODUCT}/rating")[0] == 200


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
    [described] = dynamodb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
    assert described["Projection"]["ProjectionType"] == "KEYS_ONLY"
    assert described["ProvisionedThroughput"]["ReadCapacityUnits"] == 17


def test_the_api_key_and_the_reviewers_passwords_are_in_no_file_or_log(cycle):
    assert len(cycle.api_keys) >= 2  # the first key and the one that replaced it
    passwords = [password for password, _ in cycle.reviewers.values()]
    assert passwords
    written = [
        path
        for folder in (".local", "cdktf.out", "build")
        for path in (cycle.project / folder).rglob("*")
        if path.is_file() and "providers" not in path.parts
    ]
    for secret in [*cycle.api_keys, *passwords]:
        for path in written:
            assert secret.encode() not in path.read_bytes(), f"{path} holds the API key or a password"
        for printed in cycle.printed:
            assert secret not in printed
    # What deploys write (logs, outputs) is readable by its owner alone.
    logs = list((cycle.project / ".local" / cycle.target().config.stack_name).iterdir())
    assert logs and all(path.stat().st_mode & 0o077 == 0 for path in logs)


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
