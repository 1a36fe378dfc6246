"""Whether Terraform must initialize a stack again (stacks/remembered_backend.py): it refuses to
plan after a backend setting changed, and remembers unset settings as null, false or empty."""

import json

from stacks.remembered_backend import REMEMBERED_BACKEND, backend_changed

CONFIGURED = {
    "bucket": "example-terraform-state",
    "key": "product-reviews/dev/terraform.tfstate",
    "region": "us-east-2",
    "encrypt": True,
    "kms_key_id": "arn:aws:kms:us-east-2:111122223333:key/0b8f6a52-7c1e-4d3a-9f2b-5e6c7d8a9b01",
    "use_lockfile": True,
}
UNSET_ENDPOINTS: dict[str, str | None] = {"dynamodb": None, "iam": None, "s3": None, "sso": None, "sts": None}
# What `terraform init` writes for CONFIGURED: every setting the backend knows.
REMEMBERED = {
    **CONFIGURED,
    "access_key": None,
    "dynamodb_table": None,
    "endpoints": UNSET_ENDPOINTS,
    "skip_credentials_validation": False,
    "use_path_style": False,
    "workspace_key_prefix": None,
}


def stack_directory(tmp_path, remembered: dict | None):
    (tmp_path / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": {"s3": CONFIGURED}}}))
    if remembered is not None:
        (tmp_path / REMEMBERED_BACKEND).parent.mkdir()
        (tmp_path / REMEMBERED_BACKEND).write_text(json.dumps({"backend": {"type": "s3", "config": remembered}}))
    return tmp_path


def test_unset_settings_terraform_remembers_are_no_change(tmp_path):
    assert not backend_changed(stack_directory(tmp_path, REMEMBERED))


def test_a_state_key_added_to_a_backend_initialized_without_it_is_a_change(tmp_path):
    assert backend_changed(stack_directory(tmp_path, {**REMEMBERED, "kms_key_id": None}))


def test_a_moved_endpoint_is_a_change(tmp_path):
    moved = {**REMEMBERED, "endpoints": {**UNSET_ENDPOINTS, "s3": "http://127.0.0.1:1"}}
    assert backend_changed(stack_directory(tmp_path, moved))


def test_a_directory_never_initialized_has_nothing_to_change(tmp_path):
    assert not backend_changed(stack_directory(tmp_path, None))
