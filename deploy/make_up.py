"""`make up` and `make down` on the local target: the real stack, deployed by Terraform into
the emulator and served on localhost by the local gateway.

Every step says what it does and how long it took. An interrupted `make up` (Ctrl-C, kill)
stops Terraform safely; the next `make up` releases a lock left behind only when it can
prove its holder is gone (deploy/locks.py), replaces what was left half-created (tainted),
and carries on.
"""

import json
from concurrent.futures import ThreadPoolExecutor

from localaws import emulator, runtimes

from . import alarm_email, emulator_lifecycle, locks, skip_cache
from .account_limits import check_account
from .emulator_lifecycle import start_emulator, stop_emulator
from .errors import DeployError
from .failures import explain
from .live_code import reconcile_pushed_code
from .local_target import LocalTarget
from .private_files import write_private
from .progress import step, summary, terraform_progress
from .reviewers import create_demo_reviewers
from .secrets import redact_text, secrets_in_state
from .smoke import banner, smoke_test, start_storefront
from .terraform import NON_INTERACTIVE, TerraformFailed


def up(target: LocalTarget) -> None:
    create_demo_reviewers(target, deploy(target))
    prepare_runtime(target)
    with step(f"Starting the local API gateway on 127.0.0.1:{target.config.target.gateway_port}"):
        gateway_pid = target.gateway.start()
    smoke_test(target, gateway_pid)
    banner(target, start_storefront(target))


def prepare_runtime(target: LocalTarget) -> None:
    """The Python the deployed function declares, with its SDK, for the gateway's workers."""
    function = target.client("lambda").get_function_configuration(FunctionName=target.config.function.name)
    with step(f"Preparing the Lambda runtime {function['Runtime']} for the gateway's workers"):
        print(f"    {runtimes.ensure_environment(target.state_dir, function['Runtime'])}")


def deploy(target: LocalTarget) -> dict[str, str]:
    """Starts the emulator unless it runs, synthesizing meanwhile, and applies the stack after
    checking the account (deploy/account_limits.py); keeps the alarm e-mail subscribed
    (deploy/alarm_email.py); returns the stack's outputs."""
    workspace = target.workspace
    with ThreadPoolExecutor(max_workers=1) as background:
        synthesized = background.submit(workspace.synthesize)
        start_emulator(target)
        with step(f"Synthesizing {target.config.stack_name} (started alongside the emulator)"):
            synthesized.result()
    with step("Preparing Terraform (init when needed, stale lock check)"):
        _initialize(target)
        state = reconcile_pushed_code(target, target.state())
        refresh = skip_cache.refresh_needed(target, state)
    if not refresh and skip_cache.unchanged_since_last_deploy(target):
        print("--> Nothing to apply: this exact configuration is what the last deploy applied")
        outputs = target.outputs()
    else:
        check_account(workspace)
        outputs = _apply(target, refresh)
    alarm_email.keep_subscribed(target.client("sns"), target.config)
    return outputs


def _apply(target: LocalTarget, refresh: bool) -> dict[str, str]:
    """terraform apply (without refreshing when `refresh` is False); returns the outputs."""
    with step(f"Applying {target.config.stack_name} (terraform apply)"):
        print(f"    {_terraform(target, 'apply', *(() if refresh else ('-refresh=false',)))}")
    state = target.state()
    skip_cache.remember_deploy(target, state)
    outputs = {name: output["value"] for name, output in state.get("outputs", {}).items()}
    write_private(target.workspace.log_dir / "outputs.json", json.dumps(outputs, indent=1))
    return outputs


def destroy(target: LocalTarget) -> None:
    """Destroys the deployment in a running emulator (nothing to do if it holds no state)."""
    with step(f"Destroying {target.config.stack_name} (terraform destroy)"):
        if emulator.ensure_state_bucket(target.endpoint, target.config.backend.bucket, target.config.target.region):
            print("    no state on the emulator: nothing to destroy")
            return
        target.workspace.synthesize()
        _initialize(target)
        print(f"    {_terraform(target, 'destroy')}")
        skip_cache.forget_deploy(target)


def down(target: LocalTarget) -> None:
    """Destroys the deployment and stops everything; the emulator's saved state goes with it."""
    stop_servers(target)
    if emulator.status(target.config.target.emulator_port):
        destroy(target)
    with step(f"Stopping the emulator on port {target.config.target.emulator_port} and deleting its saved state"):
        print("    stopped" if stop_emulator(target) else "    none running")
        emulator.discard_data(target.config.target.emulator_port, target.state_dir)


def clean_data(target: LocalTarget) -> None:
    """`make clean-data`: the deployment's data and state are deleted on purpose, without
    Terraform; the next make up deploys afresh (new tables, new API key)."""
    stop_servers(target)
    with step(f"Stopping the emulator on port {target.config.target.emulator_port} and deleting its saved state"):
        found = emulator_lifecycle.clean_data(target)
        print(
            f"    deleted {emulator.data_dir(target.config.target.emulator_port, target.state_dir)}"
            if found
            else "    none saved"
        )


def stop_servers(target: LocalTarget) -> None:
    with step("Stopping the storefront demo page"):
        print("    stopped" if target.storefront.stop() else "    none running")
    with step("Stopping the local API gateway"):
        print("    stopped" if target.gateway.stop() else "    none running")


def _initialize(target: LocalTarget) -> None:
    """terraform init when needed, then the state lock released if its holder is provably gone."""
    target.workspace.initialize()
    release_stale_lock(target)


def release_stale_lock(target: LocalTarget) -> None:
    locks.release_stale_lock(target.client("s3"), target.workspace.backend, target.workspace.stack_dir)


# What each command's closing line starts with, and what to say without one.
_OUTCOMES = {
    "apply": (("Apply complete", "No changes"), "applied"),
    "destroy": (("Destroy complete", "No changes"), "destroyed"),
}


def _terraform(target: LocalTarget, command: str, *options: str) -> str:
    """`terraform <command> -auto-approve` in the stack, secrets redacted from its output and
    log; returns Terraform's closing line. A failure is explained in words a user can act on."""
    workspace = target.workspace
    secrets = secrets_in_state(target.state())
    starts, otherwise = _OUTCOMES[command]
    try:
        with workspace.terraform_session(lambda text: redact_text(text, secrets)) as stack:
            output = stack.run(
                command, "-auto-approve", *options, *NON_INTERACTIVE, log_name=command, echo=terraform_progress
            )
    except TerraformFailed as failure:
        raise DeployError(explain(failure, workspace)) from None
    return summary(output, starts, otherwise)
