"""One full `make up` cycle: the real stack deployed by cdktf into the emulator, served by the
local gateway, changed, locked out and destroyed. The tests run in file order and share one
deployment of a copy of the project (so editing its handler never touches the real tree).
"""

import json
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from localaws import emulator, local_stack
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.emulator

# What a deploy needs from the project; the rest (tests, docs, localaws) stays behind.
PROJECT_FILES = ("main.py", "cdktf.json", "stacks", "handlers")
PROJECT_LINKS = (".venv", "node_modules")
# Functional requests stay under the stage's 10 requests/s; only the burst test exceeds it.
REQUEST_INTERVAL_SECONDS = 0.12


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, project / name)
    for name in PROJECT_LINKS:
        (project / name).symlink_to(PROJECT_ROOT / name)
    deployment = local_stack.LocalDeployment.from_environment(
        project_dir=project,
        state_dir=project / ".local",
        environ={
            "ENVIRONMENT_SUFFIX": "cycle",
            "REVIEWS_DELETION_PROTECTION": "false",  # on by default outside dev
            "REVIEWS_EMULATOR_PORT": str(emulator.free_port()),
            "REVIEWS_GATEWAY_PORT": str(emulator.free_port()),
        },
    )
    with local_stack.serving(deployment):
        yield deployment


@pytest.fixture(scope="module")
def api(local):
    """Calls the gateway at a pace under the stage's rate limit; returns (status, json body)."""
    api_key = local_stack.api_key_value(local, local.outputs()["api_key_id"])

    def call(method: str, path: str, body: dict | None = None, key: str | None = api_key):
        time.sleep(REQUEST_INTERVAL_SECONDS)
        headers = {"x-api-key": key} if key else {}
        status, text = local_stack.request(method, local.api_url + path, body, headers)
        return status, json.loads(text) if text else None

    return call


def terraform(local, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["terraform", *args, "-no-color"], cwd=local.stack_dir,
        env=local.cdktf_environment(), capture_output=True, text=True,
    )


def test_plan_right_after_apply_reports_no_changes(local):
    plan = terraform(local, "plan", "-input=false", "-detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout


def test_post_needs_the_api_key(api):
    review = {"product_id": "cycle-key", "reviewer_id": "r-1", "rating": 5}
    assert api("POST", "/reviews", review, key=None) == (403, {"message": "Forbidden"})
    assert api("POST", "/reviews", review, key="not-the-key")[0] == 403
    status, created = api("POST", "/reviews", review)
    assert status == 201 and created["rating"] == 5 and created["review_id"]


def test_listings_page_through_every_review_by_product_and_by_reviewer(api):
    created = []
    for n in range(5):
        status, review = api("POST", "/reviews", {
            "product_id": "cycle-list", "reviewer_id": f"lister-{n}", "rating": 1 + n % 5,
        })
        assert status == 201
        created.append(review["review_id"])
        assert api("POST", "/reviews", {
            "product_id": f"cycle-other-{n}", "reviewer_id": "lister-0", "rating": 4,
        })[0] == 201

    def walk(query: str) -> list[str]:
        seen, token = [], None
        for _ in range(10):
            status, page = api("GET", f"/reviews?{query}&limit=2" + (f"&next_token={token}" if token else ""))
            assert status == 200 and len(page["reviews"]) <= 2
            seen += [review["review_id"] for review in page["reviews"]]
            token = page["next_token"]
            if not token:
                return seen
        pytest.fail("pagination did not end")

    assert walk("product_id=cycle-list") == created[::-1]  # newest first
    by_reviewer = walk("reviewer_id=lister-0")
    assert len(by_reviewer) == len(set(by_reviewer)) == 6 and created[0] in by_reviewer


def test_rating_summary_counts_the_product_reviews(api):
    for n, rating in enumerate((5, 4, 4)):
        assert api("POST", "/reviews", {"product_id": "cycle-rated", "reviewer_id": f"rater-{n}", "rating": rating})[0] == 201
    status, summary = api("GET", "/products/cycle-rated/rating")
    assert status == 200
    assert summary["review_count"] == 3 and summary["average_rating"] == pytest.approx(13 / 3, abs=0.01)
    assert summary["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 2, "5": 1}


def test_unknown_routes_and_methods_are_missing_authentication_token(api):
    assert api("GET", "/nothing-here") == (403, {"message": "Missing Authentication Token"})
    assert api("DELETE", "/reviews")[0] == 403


def test_a_burst_beyond_the_stage_limits_gets_429s(local):
    time.sleep(2.5)  # let the token bucket (rate 10/s, burst 20) refill
    url = local.api_url + "/reviews?product_id=cycle-burst"
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: local_stack.request("GET", url)[0], range(60)))
    assert set(statuses) <= {200, 429}
    assert statuses.count(429) >= 10 and statuses.count(200) >= 20


def test_a_held_state_lock_fails_the_deploy_with_a_clear_error(local):
    s3 = emulator.client("s3", local.endpoint, local.region)
    lock_key = local.config.backend.key + ".tflock"
    s3.put_object(Bucket=local.config.backend.bucket, Key=lock_key, Body=json.dumps({
        "ID": "11111111-2222-3333-4444-555555555555", "Operation": "OperationTypeApply",
        "Who": "someone@elsewhere", "Version": "1.11.4", "Created": "2026-01-01T00:00:00Z",
        "Path": f"{local.config.backend.bucket}/{local.config.backend.key}",
    }))
    try:
        with pytest.raises(local_stack.DeployError) as error:
            local_stack.run_cdktf(local, "deploy")
        assert "locked by another run" in str(error.value)
        assert "11111111-2222-3333-4444-555555555555" in str(error.value)
    finally:
        s3.delete_object(Bucket=local.config.backend.bucket, Key=lock_key)


def test_a_handler_code_change_redeploys_only_the_function(local, api):
    lambda_client = emulator.client("lambda", local.endpoint, local.region)
    function_name = local.config.function.name
    before = lambda_client.get_function(FunctionName=function_name)["Configuration"]["CodeSha256"]
    app = local.project_dir / "handlers" / "reviews" / "app.py"
    app.write_text(app.read_text() + "\n# a code change: only the function should redeploy\n")

    synth = subprocess.run(
        [str(local.project_dir / ".venv" / "bin" / "python"), "main.py"],
        cwd=local.project_dir, env=local.cdktf_environment(), capture_output=True, text=True,
    )
    assert synth.returncode == 0, synth.stderr
    plan = terraform(local, "plan", "-input=false", "-out=tfplan")
    assert plan.returncode == 0, plan.stderr
    changes = json.loads(terraform(local, "show", "-json", "tfplan").stdout)["resource_changes"]
    changed = [(c["type"], c["change"]["actions"]) for c in changes if c["change"]["actions"] != ["no-op"]]
    assert changed == [("aws_lambda_function", ["update"])]

    local_stack.deploy(local)
    after = lambda_client.get_function(FunctionName=function_name)["Configuration"]["CodeSha256"]
    assert after != before
    assert api("GET", "/products/cycle-rated/rating")[0] == 200


def test_a_deploy_after_the_emulator_moved_ports_reinitializes_the_backend(local):
    # Terraform caches backend settings in .terraform/; make it remember another endpoint,
    # as after `make up` on a different REVIEWS_EMULATOR_PORT.
    cache = local.stack_dir / ".terraform" / "terraform.tfstate"
    cached = json.loads(cache.read_text())
    cached["backend"]["config"]["endpoints"]["s3"] = "http://127.0.0.1:1"
    cached["backend"]["hash"] += 1
    cache.write_text(json.dumps(cached))

    output = local_stack.run_cdktf(local, "deploy")
    assert "No changes" in output or "0 added, 0 changed, 0 destroyed" in output


def test_destroy_leaves_nothing_behind_and_down_stops_everything(local):
    local_stack.run_cdktf(local, "destroy")
    client = lambda service: emulator.client(service, local.endpoint, local.region)
    assert client("dynamodb").list_tables()["TableNames"] == []
    assert client("lambda").list_functions()["Functions"] == []
    assert client("apigateway").get_rest_apis()["items"] == []
    assert client("apigateway").get_api_keys()["items"] == []
    assert client("ssm").describe_parameters()["Parameters"] == []
    assert client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert client("logs").describe_log_groups()["logGroups"] == []
    assert client("sns").list_topics()["Topics"] == []
    assert client("application-autoscaling").describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"] == []
    roles = [r["RoleName"] for r in client("iam").list_roles()["Roles"]]
    assert not [r for r in roles if "cycle" in r]
    state = client("s3").get_object(Bucket=local.config.backend.bucket, Key=local.config.backend.key)
    assert json.loads(state["Body"].read())["resources"] == []

    local_stack.down(local)
    assert emulator.status(local.emulator_port) is None
    assert not local_stack.gateway_state_file(local).exists()
