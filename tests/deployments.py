"""Throwaway deployments of the stack on the local target, for tests and benchmarks.

Imported as `tests.deployments` (benchmarks put the project root on sys.path first).

A test either reads the deployment every test process of a run shares (the
`shared_deployment` fixture, SHARED_SETTINGS) or deploys its own with `serving`:
docs/contributing.md, "A deployment of your own, or the shared one", says which.
"""

import fcntl
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy import emulator_lifecycle
from deploy.local_target import LocalTarget
from deploy.make_up import deploy
from deploy.reviewers import create_demo_reviewers
from deploy.smoke import start_storefront
from localaws import emulator
from tests.support import copy_project


def disposable_settings(environment: str) -> dict[str, str]:
    """Settings for a throwaway deployment (tests, benchmarks): its own environment name, and
    an emulator, gateway and storefront on ports nothing else uses, so that it never meets
    `make up`'s or another test's. Deletion protection is off, as the deployment is discarded."""
    return {
        "ENVIRONMENT_SUFFIX": environment,
        "REVIEWS_DELETION_PROTECTION": "false",  # on by default outside dev
        "REVIEWS_EMULATOR_PORT": str(emulator.free_port()),
        "REVIEWS_GATEWAY_PORT": str(emulator.free_port()),
        "REVIEWS_STOREFRONT_PORT": str(emulator.free_port()),
        # Its reviewers sign in with a password, as in dev (the tests, make up's smoke test and
        # the storefront page do): off by default outside dev.
        "REVIEWS_USER_PASSWORD_AUTH": "true",
    }


# The shared deployment is the stack as `make up` leaves it, except that its stage allows 1,000
# requests a second: no test is throttled because of another's requests.
SHARED_SETTINGS = {"REVIEWS_THROTTLE_RATE": "1000", "REVIEWS_THROTTLE_BURST": "1000"}


# What the test process that deployed the shared deployment recorded for the others, in the
# test run's temporary folder.
SHARED_RECORD = "shared-deployment.json"


@contextmanager
def serving(target: LocalTarget) -> Iterator[LocalTarget]:
    """Emulator, deployment, gateway and storefront for as long as the block runs; stops them
    afterwards, which discards the deployment."""
    try:
        start_serving(target)
        yield target
    finally:
        stop_serving(target)


def start_serving(target: LocalTarget) -> None:
    """Emulator, deployment, gateway and storefront: `make up` as the tests need it."""
    create_demo_reviewers(target, deploy(target))
    target.gateway.start()
    start_storefront(target)


def shared_deployment_in(run_folder: Path) -> LocalTarget:
    """The shared deployment of the test run whose temporary folder (every test process's) is
    `run_folder`: the first process that asks deploys it and records it; the others wait for
    it (a file lock, released when the file closes) and read the record. Its servers run in
    sessions of their own, so they outlive the process that started them:
    `stop_shared_deployment` stops them when the run ends."""
    record = run_folder / SHARED_RECORD
    with open(run_folder / "shared-deployment.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record.exists():
            return _recorded(record)
        project = copy_project(Path(tempfile.mkdtemp(prefix="shared-deployment-", dir=run_folder)))
        settings = {**disposable_settings("shared"), **SHARED_SETTINGS}
        target = LocalTarget.load(settings, project)
        try:
            start_serving(target)
        except BaseException:
            stop_serving(target)  # the next process to ask deploys afresh
            raise
        record.write_text(json.dumps({"settings": settings, "project": str(project)}))
        return target


def stop_shared_deployment(run_folder: Path) -> None:
    """Stops the run's shared deployment, if a test process deployed one."""
    record = run_folder / SHARED_RECORD
    if record.exists():
        stop_serving(_recorded(record))
        record.unlink()


def _recorded(record: Path) -> LocalTarget:
    saved = json.loads(record.read_text())
    return LocalTarget.load(saved["settings"], Path(saved["project"]))


def stop_serving(target: LocalTarget) -> None:
    """Stops the storefront, gateway and emulator of `target`, and deletes the emulator's saved
    state and what deploys remember of it (as `make clean-data` does): the deployment is
    discarded, and the next deploy starts afresh instead of refusing to run without its state."""
    target.storefront.stop()
    target.gateway.stop()
    emulator_lifecycle.clean_data(target)
