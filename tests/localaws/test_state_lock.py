"""A stale state lock is released only if it is still the lock that was judged stale: the
delete is conditional on its ETag, and the emulator applies that condition atomically."""

import json

import pytest

from deploy import locks
from deploy.errors import DeployError
from localaws import emulator

REGION = "us-east-1"
BACKEND = locks.Backend("lock-test-state", "product-reviews/dev/terraform.tfstate", None)


def put_lock(s3, lock_id: str) -> None:
    body = {"ID": lock_id, "Who": "someone@here", "Operation": "OperationTypeApply", "Created": "2026-12-01T00:00:00Z"}
    s3.put_object(Bucket=BACKEND.bucket, Key=BACKEND.lock_key, Body=json.dumps(body))


@pytest.fixture
def s3(running_emulator):
    client = emulator.client("s3", running_emulator.endpoint, REGION)
    emulator.ensure_state_bucket(running_emulator.endpoint, BACKEND.bucket, REGION)
    yield client
    client.delete_object(Bucket=BACKEND.bucket, Key=BACKEND.lock_key)


def test_a_lock_taken_again_between_the_check_and_the_delete_is_kept(s3):
    put_lock(s3, "judged-stale")
    judged = locks.read_lock(s3, BACKEND)
    assert judged is not None

    def another_run_takes_the_lock(**_):  # just before the delete request is sent
        put_lock(s3, "another-run")

    s3.meta.events.register_first("before-call.s3.DeleteObject", another_run_takes_the_lock)
    try:
        with pytest.raises(DeployError, match="lock changed"):
            locks.release(s3, BACKEND, judged)
    finally:
        s3.meta.events.unregister("before-call.s3.DeleteObject", another_run_takes_the_lock)
    current = locks.read_lock(s3, BACKEND)
    assert current is not None and current.id == "another-run"


def test_the_lock_judged_stale_is_released(s3):
    put_lock(s3, "judged-stale")
    judged = locks.read_lock(s3, BACKEND)
    assert judged is not None
    locks.release(s3, BACKEND, judged)
    assert locks.read_lock(s3, BACKEND) is None
