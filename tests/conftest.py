"""Shared fixtures: synthesized stacks, and the environment the jsii kernel must see.

The jsii node kernel copies the environment once, when cdktf is first imported, so the
variables Terraform needs are set here, before any test module imports cdktf.
"""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from stacks.jsii_kernel import enable_fast_synth

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TERRAFORMRC = PROJECT_ROOT / ".terraformrc"

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CHECKPOINT_DISABLE", "1")
if not TERRAFORMRC.exists():
    subprocess.run([str(PROJECT_ROOT / "scripts" / "terraformrc.sh"), str(TERRAFORMRC)], check=True)
os.environ["TF_CLI_CONFIG_FILE"] = str(TERRAFORMRC)
enable_fast_synth()  # as main.py does, before any test module imports cdktf

# Settings every stack test starts from: the production shape, deployed to AWS.
AWS_SETTINGS = {
    "REVIEWS_TARGET": "aws",
    "REVIEWS_STATE_BUCKET": "example-terraform-state",
    "REPOSITORY": "example/product-reviews",
    "COMMIT_AUTHOR": "ci-bot",
}


@dataclass(frozen=True)
class Synthesized:
    terraform: dict  # the parsed cdk.tf.json
    directory: Path  # the stack's folder in cdktf.out, ready for terraform init


def synth_stack(outdir: Path, environ: dict) -> Synthesized:
    """Synthesizes the stack for `environ` into `outdir`, as main.py does."""
    from cdktf import App

    from stacks.config import load_config
    from stacks.reviews_stack import ReviewsStack

    config = load_config({}, environ)
    app = App(outdir=str(outdir))
    ReviewsStack(app, config)
    app.synth()
    directory = outdir / "stacks" / config.stack_name
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
def stack(synth) -> dict:
    """The default stack (REVIEWS_TARGET=aws), synthesized once per session."""
    return synth().terraform
