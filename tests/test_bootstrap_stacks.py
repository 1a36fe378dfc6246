"""The bootstrap's stacks as synthesized (stacks/bootstrap): what an account needs before its
first plan, split so that environments sharing an account never fight; and the app stack that
no longer manages the account-wide API Gateway setting. tests/test_bootstrap.py deploys them."""

import json
import subprocess
import sys

import pytest

from stacks.bootstrap import docs
from stacks.bootstrap.api_gateway_logging import PUSH_TO_CLOUDWATCH_POLICY
from stacks.bootstrap.config import STATE_KEY_ALIAS, plan_key_alias
from stacks.config import ConfigError, load_config
from stacks.migrations import ACCOUNT_LOGGING_ADDRESSES
from tests.support import PROJECT_ROOT, terraform_validate

ACCOUNT = "111122223333"  # tests/conftest.py AWS_SETTINGS
BUCKET = "example-terraform-state"
HOME = "product-reviews-bootstrap-account-us-east-2"


def resources(stack: dict, resource_type: str) -> list[dict]:
    return list(stack.get("resource", {}).get(resource_type, {}).values())


def one(stack: dict, resource_type: str) -> dict:
    [found] = resources(stack, resource_type)
    return found


def references(stack: dict, resource_type: str, attribute: str) -> str:
    [name] = stack["resource"][resource_type]
    return f"${{{resource_type}.{name}.{attribute}}}"


@pytest.fixture(scope="module")
def dev(bootstrap_synth) -> dict[str, dict]:
    return bootstrap_synth()


def test_an_environment_needs_one_account_stack_and_one_of_its_own(dev):
    assert sorted(dev) == [HOME, "product-reviews-bootstrap-dev"]
    backends = {name: stack["terraform"]["backend"]["s3"] for name, stack in dev.items()}
    assert {name: (b["bucket"], b["key"]) for name, b in backends.items()} == {
        HOME: (BUCKET, "bootstrap/account/us-east-2/terraform.tfstate"),
        "product-reviews-bootstrap-dev": (BUCKET, "bootstrap/environments/dev/terraform.tfstate"),
    }
    # The state bucket's default encryption (the state key) applies: `encrypt` would ask for SSE-S3.
    assert all("encrypt" not in backend and backend["use_lockfile"] for backend in backends.values())


def test_the_state_bucket_is_versioned_encrypted_with_its_own_key_private_and_tls_only(dev):
    account = dev[HOME]
    bucket, key = one(account, "aws_s3_bucket"), one(account, "aws_kms_key")
    assert bucket["bucket"] == BUCKET and bucket["lifecycle"] == {"prevent_destroy": True}
    assert key["enable_key_rotation"] is True and key["lifecycle"] == {"prevent_destroy": True}
    assert one(account, "aws_kms_alias")["name"] == STATE_KEY_ALIAS
    assert one(account, "aws_s3_bucket_versioning")["versioning_configuration"] == {"status": "Enabled"}
    [rule] = one(account, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule == {
        "apply_server_side_encryption_by_default": {
            "kms_master_key_id": references(account, "aws_kms_key", "arn"),
            "sse_algorithm": "aws:kms",
        },
        "bucket_key_enabled": True,
    }
    public = one(account, "aws_s3_bucket_public_access_block")
    assert all(
        public[name] is True
        for name in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert one(account, "aws_s3_bucket_ownership_controls")["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    [statement] = json.loads(one(account, "aws_s3_bucket_policy")["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Action"] == "s3:*" and statement["Principal"] == "*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_replaced_states_are_kept_for_the_retention_setting(bootstrap_synth):
    account = bootstrap_synth(REVIEWS_STATE_VERSION_RETENTION_DAYS="30")[HOME]
    [rule] = one(account, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["status"] == "Enabled" and rule["filter"] == [{"prefix": ""}]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]


def test_the_emulator_gets_no_tls_only_policy_it_could_never_satisfy(bootstrap_synth):
    local = bootstrap_synth(REVIEWS_TARGET="local")
    account = local[f"{HOME}-local"]
    assert one(account, "aws_s3_bucket")["bucket"] == "product-reviews-tfstate-123456789012"
    assert resources(account, "aws_s3_bucket_policy") == []


def test_the_github_oidc_provider_is_created_or_an_existing_one_is_used(dev, bootstrap_synth):
    created = one(dev[HOME], "aws_iam_openid_connect_provider")
    assert created["url"] == "https://token.actions.githubusercontent.com"
    assert created["client_id_list"] == ["sts.amazonaws.com"] and "thumbprint_list" not in created
    existing = bootstrap_synth(REVIEWS_GITHUB_OIDC_PROVIDER="existing")[HOME]
    assert resources(existing, "aws_iam_openid_connect_provider") == []
    [lookup] = existing["data"]["aws_iam_openid_connect_provider"].values()
    assert lookup["arn"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"


def test_the_account_stack_owns_the_api_gateway_logging_role_and_no_environment_stack_does(dev, synth):
    account = dev[HOME]
    role = one(account, "aws_iam_role")
    assert role["name"] == "ProductReviews-ApiGatewayCloudWatch-us-east-2"
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    assert one(account, "aws_iam_role_policy_attachment")["policy_arn"] == PUSH_TO_CLOUDWATCH_POLICY
    logging = one(account, "aws_api_gateway_account")
    assert logging["cloudwatch_role_arn"] == references(account, "aws_iam_role", "arn")
    assert "reset_on_delete" not in logging  # destroying it leaves the setting in place
    assert "aws_api_gateway_account" not in dev["product-reviews-bootstrap-dev"].get("resource", {})
    assert "aws_api_gateway_account" not in synth().terraform["resource"]


def test_an_environment_in_another_region_gets_that_regions_logging_role_only(bootstrap_synth):
    stacks = bootstrap_synth(REVIEWS_REGION="eu-west-1", REVIEWS_STATE_REGION="us-east-2")
    assert sorted(stacks) == ["product-reviews-bootstrap-account-eu-west-1", HOME, "product-reviews-bootstrap-dev"]
    regional = stacks["product-reviews-bootstrap-account-eu-west-1"]
    assert sorted(regional["resource"]) == ["aws_api_gateway_account", "aws_iam_role", "aws_iam_role_policy_attachment"]
    assert regional["provider"]["aws"][0]["region"] == "eu-west-1"
    assert regional["terraform"]["backend"]["s3"]["region"] == "us-east-2"  # where the bucket is
    environment = stacks["product-reviews-bootstrap-dev"]
    [state_key] = environment["data"]["aws_kms_alias"].values()
    assert state_key["provider"] == "aws.us-east-2"  # the state key lives beside the bucket


def test_the_environment_stack_has_its_roles_plan_key_and_the_boundary_the_app_names(dev, synth):
    environment = dev["product-reviews-bootstrap-dev"]
    roles = {role["name"]: role for role in resources(environment, "aws_iam_role")}
    assert sorted(roles) == ["ProductReviews-dev-deploy", "ProductReviews-dev-plan"]
    assert all(role["max_session_duration"] == 3600 for role in roles.values())
    assert sorted(policy["role"].split(".")[1] for policy in resources(environment, "aws_iam_role_policy")) == sorted(
        environment["resource"]["aws_iam_role"]
    )
    boundary = one(environment, "aws_iam_policy")
    [function_role] = [
        r for r in synth().terraform["resource"]["aws_iam_role"].values() if r["name"] == "ReviewProcessor-dev-role"
    ]
    assert function_role["permissions_boundary"] == f"arn:aws:iam::{ACCOUNT}:policy/{boundary['name']}"
    assert one(environment, "aws_kms_alias")["name"] == plan_key_alias("dev")
    assert one(environment, "aws_kms_key")["enable_key_rotation"] is True


def test_only_the_deploy_role_decrypts_plans_and_only_of_this_repository_and_environment(dev):
    environment = dev["product-reviews-bootstrap-dev"]
    roles = {role["name"]: name for name, role in environment["resource"]["aws_iam_role"].items()}
    deploy_arn = f"${{aws_iam_role.{roles['ProductReviews-dev-deploy']}.arn}}"
    plan_arn = f"${{aws_iam_role.{roles['ProductReviews-dev-plan']}.arn}}"
    statements = {s["Sid"]: s for s in json.loads(one(environment, "aws_kms_key")["policy"])["Statement"]}
    context = {
        "kms:EncryptionContext:repository": "example/product-reviews",
        "kms:EncryptionContext:environment": "dev",
    }
    assert statements["PlanRoleEncryptsPlans"]["Principal"] == {"AWS": plan_arn}
    assert statements["PlanRoleEncryptsPlans"]["Action"] == "kms:GenerateDataKey"
    assert statements["DeployRoleDecryptsPlans"]["Principal"] == {"AWS": deploy_arn}
    for sid in ("PlanRoleEncryptsPlans", "DeployRoleDecryptsPlans"):
        assert statements[sid]["Condition"] == {"StringEquals": context}
    deny = statements["NoOneElseDecryptsPlans"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "kms:Decrypt")
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": deploy_arn}}


def test_the_bootstrap_stacks_are_valid_terraform(dev, tmp_path_factory):
    """(The local target's are deployed by tests/test_bootstrap.py.)"""
    for name, stack in dev.items():
        directory = tmp_path_factory.mktemp(name)
        (directory / "cdk.tf.json").write_text(json.dumps(stack))
        (directory / ".terraform.lock.hcl").write_bytes((PROJECT_ROOT / ".terraform.lock.hcl").read_bytes())
        result = terraform_validate(directory)
        assert result["valid"] is True, (name, result["diagnostics"])


def test_the_bootstrap_creates_the_state_key_every_plan_then_needs(bootstrap_synth, tmp_path):
    assert HOME in bootstrap_synth(REVIEWS_STATE_KMS_KEY="")  # there is none before the first bootstrap
    planning = {"REVIEWS_TARGET": "aws", "REVIEWS_ACCOUNT_ID": ACCOUNT, "REVIEWS_STATE_BUCKET": BUCKET}
    with pytest.raises(ConfigError, match="REVIEWS_STATE_KMS_KEY='' is invalid: .*the bootstrap prints it"):
        load_config({}, planning, tmp_path)  # no environments/ files there


def test_the_bootstrap_needs_the_repository_as_owner_and_name(bootstrap_synth):
    with pytest.raises(ConfigError, match="REVIEWS_REPOSITORY='product-reviews' is invalid: .*owner/name"):
        bootstrap_synth(REVIEWS_REPOSITORY="product-reviews")


def test_the_app_forgets_the_account_logging_role_earlier_versions_managed_without_destroying_it(synth):
    stack = synth().terraform
    forgotten = {block["from"]: block["lifecycle"] for block in stack["removed"]}
    assert {address: forgotten.get(address) for address in ACCOUNT_LOGGING_ADDRESSES} == dict.fromkeys(
        ACCOUNT_LOGGING_ADDRESSES, {"destroy": False}
    )
    resources_by_type = stack["resource"]
    assert not [a for a in ACCOUNT_LOGGING_ADDRESSES if a.split(".")[1] in resources_by_type.get(a.split(".")[0], {})]
    assert [r["name"] for r in resources_by_type["aws_iam_role"].values()] == ["ReviewProcessor-dev-role"]


def test_the_rendered_policies_in_the_docs_are_current():
    written = (PROJECT_ROOT / "docs" / "bootstrap-policies.md").read_text()
    assert written == docs.render(), "docs/bootstrap-policies.md is stale: run `make docs`"
    printed = subprocess.run(
        [sys.executable, "-m", "stacks.bootstrap.docs"], capture_output=True, text=True, check=True
    )
    assert printed.stdout == written
