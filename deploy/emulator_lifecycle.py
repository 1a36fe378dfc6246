"""The emulator as deploy commands need it: started (or reused) with its state bucket and key, and
stopped again after a run that had to start it."""

from collections.abc import Iterator
from contextlib import contextmanager

from localaws import emulator

from .local_target import LocalTarget
from .progress import step


def start_emulator(target: LocalTarget) -> emulator.Emulator:
    with step(f"Starting the emulator (moto server) on 127.0.0.1:{target.config.target.emulator_port}"):
        running = emulator.start(target.config.target.emulator_port, target.state_dir)
        print(f"    {'reusing' if running.reused else 'started'} pid {running.pid}")
    backend, region = target.config.backend, target.config.target.region
    with step(f"Checking the Terraform state bucket {backend.bucket} and its key {backend.kms_key_id}"):
        if emulator.ensure_state_bucket(target.endpoint, backend.bucket, region):
            print("    the emulator holds no state (new or restarted): nothing is deployed there yet")
        emulator.ensure_state_key(target.endpoint, backend.kms_key_id, region)
    return running


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
