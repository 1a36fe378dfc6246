"""Shared fixtures: synthesized stacks, and the environment the jsii kernel must see.

The jsii node kernel copies the environment once, when cdktf is first imported, so the
variables Terraform needs are set here, before any test module imports cdktf.

The files that deploy the stack run first, slowest first: `make test` runs the files in two
processes (pytest-xdist, a file at a time each), and the longest chains must start at once.
"""

import json
import os
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.project_env import tool_settings
from stacks.jsii_kernel import enable_fast_synth

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TERRAFORMRC = PROJECT_ROOT / ".terraformrc"

# The tool settings make, pipenv and the CLI use (.env): jsii cache, Terraform CLI config, ...
os.environ.update(tool_settings())
if not TERRAFORMRC.exists():
    subprocess.run([str(PROJECT_ROOT / "scripts" / "terraformrc.sh"), str(TERRAFORMRC)], check=True)
enable_fast_synth()  # as main.py does, before any test module imports cdktf

# Settings every stack test starts from: the production shape, deployed to AWS. Stack tests
# read no environments/ file, so each states exactly the settings it depends on.
AWS_SETTINGS = {
    "REVIEWS_TARGET": "aws",
    "REVIEWS_ACCOUNT_ID": "111122223333",
    "REVIEWS_STATE_BUCKET": "example-terraform-state",
    "REVIEWS_STATE_KMS_KEY": "arn:aws:kms:us-east-2:111122223333:key/0b8f6a52-7c1e-4d3a-9f2b-5e6c7d8a9b01",
    "REVIEWS_REPOSITORY": "example/product-reviews",
}
NO_ENVIRONMENT_FILES = PROJECT_ROOT / "tests" / "events"  # a folder with no <environment>.json
# Measured (benchmarks/results.md), longest first; every other file follows in its usual order.
SLOWEST_FILES = (
    "test_bootstrap.py",
    "test_local_cycle.py",
    "test_local_recovery.py",
    "test_ci.py",
    "test_cli.py",
    "test_plan_review.py",
    "test_storefront.py",
    "test_api_contract.py",
    "test_contributing_recipes.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pytest-xdist knows tests by node id: of tests sharing one, it would run only the first.
    shared = sorted(nodeid for nodeid, count in Counter(item.nodeid for item in items).items() if count > 1)
    if shared:
        raise pytest.UsageError(f"tests share a node id (make test would run only one of each): {shared}")

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOWEST_FILES.index(name) if name in SLOWEST_FILES else len(SLOWEST_FILES)

    items.sort(key=rank)  # stable: the tests of a file keep their order


@dataclass(frozen=True)
class Synthesized:
    terraform: dict  # the parsed cdk.tf.json
    directory: Path  # the stack's folder in cdktf.out, ready for terraform init


def synth_stack(outdir: Path, environ: dict) -> Synthesized:
    """Synthesizes the stack for `environ` into `outdir`, as main.py does."""
    from stacks.config import load_config
    from stacks.framework import App
    from stacks.synthesis import synthesize

    directory = synthesize(App(outdir=str(outdir)), load_config({}, environ, NO_ENVIRONMENT_FILES))
    return Synthesized(json.loads((directory / "cdk.tf.json").read_text()), directory)


@pytest.fixture(scope="session")
def synth(tmp_path_factory):
    """synth(**settings) -> Synthesized, for AWS_SETTINGS plus `settings`; once per setting set."""
    cache: dict[tuple, Synthesized] = {}

    def _synth(**settings: str) -> Synthesized:
        key = tuple(sorted(settings.items()))
        if key not in cache:
            cache[key] = synth_stack(tmp_path_factory.mktemp("cdktf.out"), {**AWS_SETTINGS, **settings})
        return cache[key]

    return _synth


@pytest.fixture
def synth_default_into():
    """synth_default_into(outdir) -> Synthesized: the default stack synthesized afresh."""
    return lambda outdir: synth_stack(outdir, AWS_SETTINGS)


def synth_bootstrap(outdir: Path, environ: dict) -> dict[str, dict]:
    """The bootstrap stacks for `environ` (stacks/bootstrap), synthesized into `outdir` as
    `python -m stacks.bootstrap` does: their parsed cdk.tf.json by stack name."""
    from stacks.bootstrap.config import account_configs, environment_config
    from stacks.bootstrap.stacks import AccountStack, EnvironmentCiStack
    from stacks.config import load_config
    from stacks.framework import App

    config = load_config({}, environ, NO_ENVIRONMENT_FILES, bootstrapping=True)
    app = App(outdir=str(outdir))
    stacks = [
        *(AccountStack(app, account) for account in account_configs(config, None)),
        EnvironmentCiStack(app, environment_config(config)),
    ]
    app.synth()
    return {
        stack.node.id: json.loads((outdir / "stacks" / stack.node.id / "cdk.tf.json").read_text()) for stack in stacks
    }


@pytest.fixture(scope="session")
def bootstrap_synth(tmp_path_factory):
    """bootstrap_synth(**settings) -> {stack name: cdk.tf.json}, for AWS_SETTINGS plus
    `settings`; once per setting set."""
    cache: dict[tuple, dict[str, dict]] = {}

    def _synth(**settings: str) -> dict[str, dict]:
        key = tuple(sorted(settings.items()))
        if key not in cache:
            cache[key] = synth_bootstrap(tmp_path_factory.mktemp("cdktf.out"), {**AWS_SETTINGS, **settings})
        return cache[key]

    return _synth


@pytest.fixture(scope="session")
def running_emulator(tmp_path_factory):
    """One emulator (localaws) shared by the tests that only add uniquely named things to it."""
    from localaws import emulator

    state_dir = tmp_path_factory.mktemp("emulator")
    started = emulator.start(emulator.free_port(), state_dir)
    try:
        yield started
    finally:
        emulator.stop(started.port, state_dir)


@pytest.fixture(scope="session")
def shared_deployment(request, tmp_path_factory):
    """The stack deployed as `make up` deploys it (from a copy of the project, on ports of its
    own, tests.deployments.SHARED_SETTINGS) and served by the gateway and storefront: once per
    test run, by the first test process that needs it, for the tests that only read it; stopped
    when the run ends (pytest_sessionfinish). Who may use it: docs/contributing.md."""
    from tests.deployments import shared_deployment_in

    basetemp = tmp_path_factory.getbasetemp()
    return shared_deployment_in(basetemp.parent if is_test_process(request.config) else basetemp)


def is_test_process(config: pytest.Config) -> bool:
    """True in a test process of `make test` (a pytest-xdist worker, whose temporary folder is
    one inside the run's); False in the run's own process, and in a plain `pytest` (a pytest
    that a test runs, too: it inherits the worker's environment, so that cannot tell)."""
    return hasattr(config, "workerinput")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not is_test_process(session.config):  # the run's own process, after every test process ended
        from tests.deployments import stop_shared_deployment

        # pytest-xdist reads the run's folder the same way (a private attribute of pytest's).
        stop_shared_deployment(session.config._tmp_path_factory.getbasetemp())  # type: ignore[attr-defined]  # see above


@pytest.fixture(scope="module")
def cycle(request, tmp_path_factory):
    """tests.cycle.Cycle: a deployment of the module's own (environment CYCLE_ENVIRONMENT, a
    module constant) by `make up`, for tests that change, interrupt or destroy it."""
    from tests.cycle import deployed

    with deployed(tmp_path_factory, request.module.CYCLE_ENVIRONMENT) as cycle:
        yield cycle


@pytest.fixture(scope="session")
def stack(synth) -> dict:
    """The default stack (REVIEWS_TARGET=aws), synthesized once per session."""
    return synth().terraform
