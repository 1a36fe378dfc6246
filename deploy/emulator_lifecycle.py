"""The emulator as deploy commands need it: started (or reused) with its state bucket and key, and
stopped again after a run that had to start it."""

from collections.abc import Iterator
from contextlib import contextmanager

from localaws import emulator

from . import skip_cache
from .errors import DeployError
from .local_target import LocalTarget
from .progress import step


def start_emulator(target: LocalTarget) -> emulator.Emulator:
    port = target.config.target.emulator_port
    with step(f"Starting the emulator (moto server) on 127.0.0.1:{port}"):
        running = emulator.start(port, target.state_dir, target.config.target.storefront_origin)
        print(f"    {'reusing' if running.reused else 'started'} pid {running.pid}, state saved in {_data(target)}")
    backend, region = target.config.backend, target.config.target.region
    with step(f"Checking the Terraform state bucket {backend.bucket} and its key {backend.kms_key_id}"):
        require_saved_state(target)
        if emulator.ensure_state_bucket(target.endpoint, backend.bucket, region):
            print("    the emulator holds no state (new, or its data was cleaned): nothing is deployed there yet")
        emulator.ensure_state_key(target.endpoint, backend.kms_key_id, region)
    return running


def require_saved_state(target: LocalTarget) -> None:
    """Before anything is created: a deployment we remember must be in the emulator. If its
    saved state is gone, deploying would make an empty stack with a new API key and no reviews."""
    if skip_cache.deployed(target) and not emulator.state_bucket_exists(
        target.endpoint, target.config.backend.bucket, target.config.target.region
    ):
        raise DeployError(
            f"{target.config.stack_name} was deployed (.local/{target.config.stack_name}/deployed.json), but the "
            f"emulator on port {target.config.target.emulator_port} holds no state: its saved state in "
            f"{_data(target)} is missing (deleted, or REVIEWS_EMULATOR_PORT changed). Nothing was created. Restore "
            "that folder and run make up again, or start afresh, losing the deployment's data, with "
            "`make clean-data` then `make up`."
        )


def clean_data(target: LocalTarget) -> bool:
    """Stops the emulator and deletes its saved state and what deploys remember of it."""
    stop_emulator(target)
    skip_cache.forget_deploy(target)
    (target.workspace.log_dir / "outputs.json").unlink(missing_ok=True)
    return emulator.discard_data(target.config.target.emulator_port, target.state_dir)


def _data(target: LocalTarget) -> str:
    return str(emulator.data_dir(target.config.target.emulator_port, target.state_dir))


def stop_emulator(target: LocalTarget) -> bool:
    """Stops the target's emulator; False if none was running."""
    return emulator.stop(target.config.target.emulator_port, target.state_dir)


@contextmanager
def emulator_running(target: LocalTarget) -> Iterator[emulator.Emulator]:
    """The emulator, started as `make up` starts it, for the duration of a plan or apply;
    stopped afterwards only if it was started here (`make up`'s keeps running)."""
    running = start_emulator(target)
    try:
        yield running
    finally:
        if not running.reused:
            with step(f"Stopping the emulator started for this run (port {running.port})"):
                stop_emulator(target)
