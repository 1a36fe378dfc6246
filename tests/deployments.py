"""Throwaway deployments of the stack on the local target, for tests and benchmarks.

Imported as `tests.deployments` (benchmarks put the project root on sys.path first).

A test either reads the deployment every test process shares (the `shared_deployment`
fixture, SHARED_SETTINGS) or deploys its own with `serving`: docs/contributing.md, "A
deployment of your own, or the shared one", says which.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from deploy import emulator_lifecycle
from deploy.local_target import LocalTarget
from deploy.make_up import deploy
from deploy.reviewers import create_demo_reviewers
from deploy.smoke import start_storefront
from localaws import emulator


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


@contextmanager
def serving(target: LocalTarget) -> Iterator[LocalTarget]:
    """Emulator, deployment, gateway and storefront for as long as the block runs; stops them
    afterwards, which discards the deployment."""
    try:
        create_demo_reviewers(target, deploy(target))
        target.gateway.start()
        start_storefront(target)
        yield target
    finally:
        stop_serving(target)


def stop_serving(target: LocalTarget) -> None:
    """Stops the storefront, gateway and emulator of `target`, and deletes the emulator's saved
    state and what deploys remember of it (as `make clean-data` does): the deployment is
    discarded, and the next deploy starts afresh instead of refusing to run without its state."""
    target.storefront.stop()
    target.gateway.stop()
    emulator_lifecycle.clean_data(target)
