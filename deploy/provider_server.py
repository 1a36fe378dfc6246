"""One AWS provider process serving every Terraform run in a block, on the local target.

Each Terraform command starts the AWS provider plugin afresh for every phase it runs (schema,
validate, plan, apply): a 700 MB binary whose start and first schema request cost about a
second of CPU each time. Started once in debug mode (`terraform-provider-aws -debug`), the
provider prints a TF_REATTACH_PROVIDERS value, and every Terraform run given that value talks
to the running process instead of starting its own. `make up`, `make plan` and the CI commands
on the local target run their Terraform commands in one such block (Workspace.terraform_session).

What keeps it correct:
- one provider per block, and a block runs its Terraform commands one after the other: a
  provider is reconfigured by each run (ConfigureProvider), so two runs must never share it
  at once;
- it runs in the stack directory, because the provider resolves the relative paths synth
  writes (the function's zip in assets/) against its own working directory;
- only on the local target: its environment holds no AWS_* variables (Workspace drops them),
  and the provider cannot configure itself a second time in one process with a custom CA
  bundle (AWS_CA_BUNDLE), which a real account's environment may set;
- in a session of its own, so the Ctrl-C meant for Terraform never stops it while Terraform
  is still finishing what it started; it is stopped when the block ends, interrupted or not;
- its logging off (TF_LOG_SDK, TF_LOG_PROVIDER_AWS): in debug mode it would otherwise log every
  request and response at trace level, API keys included, and spend seconds doing so. What it
  still logs is discarded, as Terraform discards a plugin's log unless TF_LOG is set; its
  start-up banner goes to provider.log in the stack's log directory.

Most of its CPU went to ValidateProviderConfig, which Terraform calls in every phase and in
which the plugin SDK validates the schemas of all ~1,500 resource types (InternalValidate):
~2 s a time. Terraform now reaches the provider through a relay that answers that call and
the schema request from a cache (deploy/provider_answers.py). One long-lived process can
afford to collect garbage only near a memory limit (GOGC=off, GOMEMLIMIT=1GiB): 20% less CPU
than .env's GOGC=400, for a 1.2 GB peak instead of 0.75 GB.
"""

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from .private_files import private_directory, private_opener
from .project_env import PROJECT_ROOT
from .provider_answers import AnswerCache, relayed
from .terraform import Stack

PROVIDER = "registry.terraform.io/hashicorp/aws"
SETTINGS = {"TF_LOG_SDK": "off", "TF_LOG_PROVIDER_AWS": "off", "GOGC": "off", "GOMEMLIMIT": "1GiB"}
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10
# What the provider answered to its costly, pure calls (deploy/provider_answers.py): shared by
# every run and every copy of the project that shares its .cache.
ANSWERS = PROJECT_ROOT / ".cache" / "provider-answers"


class ProviderServerError(RuntimeError):
    pass


@contextmanager
def shared_provider(stack: Stack, answers: Path = ANSWERS) -> Iterator[Stack]:
    """`stack` (initialized) with every Terraform run in the block served by one provider
    process, through a relay that keeps its costly answers in `answers`."""
    log = private_directory(stack.log_dir) / "provider.log"
    binary = provider_binary(stack.directory)
    with open(log, "wb", opener=private_opener) as output:
        process = subprocess.Popen(
            [str(binary), "-debug"],
            cwd=stack.directory,
            env={**stack.env(), **SETTINGS},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        with relayed(_reattach_value(process, log), AnswerCache(answers, binary)) as reattach:
            yield replace(stack, environ={**stack.environ, "TF_REATTACH_PROVIDERS": reattach})
    finally:
        _stop(process)


def provider_binary(stack_dir: Path) -> Path:
    """The AWS provider `terraform init` installed in `stack_dir`, at the version its lock file pins."""
    lock = (stack_dir / ".terraform.lock.hcl").read_text()
    version = re.search(rf'provider "{re.escape(PROVIDER)}" {{\s*version\s*=\s*"([^"]+)"', lock)
    installed = stack_dir / ".terraform" / "providers" / PROVIDER / (version[1] if version else "?")
    binaries = sorted(installed.glob("*/terraform-provider-aws_*"))
    if len(binaries) != 1:
        raise ProviderServerError(f"no single AWS provider binary in {installed} (run terraform init)")
    return binaries[0]


def _reattach_value(process: subprocess.Popen[bytes], log: Path) -> str:
    """What the provider prints once it listens: TF_REATTACH_PROVIDERS='{...}'."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = re.search(r"TF_REATTACH_PROVIDERS='([^']+)'", log.read_text(errors="replace"))
        if found:
            return found[1]
        if process.poll() is not None:
            raise ProviderServerError(f"the AWS provider exited with {process.returncode} on start; see {log}")
        time.sleep(0.02)
    raise ProviderServerError(f"the AWS provider did not start within {START_TIMEOUT_SECONDS} s; see {log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT is how a provider in debug mode is asked to stop (it removes its socket)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
