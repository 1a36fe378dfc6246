"""Running Terraform: an interrupted caller stops Terraform safely, and locks are judged right.

A stand-in `terraform` (a small script first on the PATH) records the signals it receives, so
these tests run in a fraction of a second without the emulator.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from deploy import locks
from deploy.terraform import Interrupted, Stack, TerraformFailed

FAKE_TERRAFORM = """#!{python}
import os, signal, sys, time
received = []
def stop(signum, frame):
    received.append(signal.Signals(signum).name)
signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
print("Applying: resource Creating...", flush=True)
deadline = time.monotonic() + float(os.environ.get("FAKE_APPLY_SECONDS", "0"))
while not received and time.monotonic() < deadline:
    time.sleep(0.01)
time.sleep(0.3)  # finishing what it started, saving the state, releasing the lock
open("{record}", "w").write(" ".join(received))
print("Interrupt received: stopped safely" if received else "Apply complete! Resources: 1 added", flush=True)
sys.exit(1 if received else 0)
"""


@pytest.fixture
def fake_stack(tmp_path) -> tuple[Stack, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "signals.txt"
    script = bin_dir / "terraform"
    script.write_text(FAKE_TERRAFORM.format(python=sys.executable, record=record))
    script.chmod(0o755)
    environ = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return Stack(tmp_path / "stack", tmp_path / "logs", environ), record


def send_when_started(signals: list[signal.Signals], lines: list[str]) -> threading.Thread:
    """Sends `signals` to this process, 50 ms apart, once the fake Terraform printed a line."""

    def send() -> None:
        while not lines:
            time.sleep(0.01)
        for signum in signals:
            os.kill(os.getpid(), signum)
            time.sleep(0.05)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_an_interrupt_is_forwarded_once_and_terraform_is_waited_for(fake_stack, first):
    stack, record = fake_stack
    stack.environ["FAKE_APPLY_SECONDS"] = "10"  # long enough to be interrupted
    lines: list[str] = []
    handler_before = signal.getsignal(signal.SIGINT)
    sender = send_when_started([first, signal.SIGINT], lines)

    with pytest.raises(Interrupted) as interrupted:
        stack.run("apply", log_name="apply", echo=lines.append)

    sender.join()
    # One SIGINT reached Terraform, whatever the caller got, and a second interrupt did not
    # abort it: it finished and said so before the caller gave up.
    assert record.read_text() == "SIGINT"
    assert lines[-1] == "Interrupt received: stopped safely"
    assert first.name in str(interrupted.value)
    assert signal.getsignal(signal.SIGINT) is handler_before  # handlers restored


def test_a_normal_run_returns_its_output_and_logs_it_privately(fake_stack):
    stack, _ = fake_stack
    output = stack.run("apply", log_name="apply")
    assert "Apply complete!" in output
    log = stack.log_dir / "apply.log"
    assert log.read_text() == output and log.stat().st_mode & 0o077 == 0


def test_a_failed_run_raises_with_its_output(fake_stack, tmp_path):
    stack, _ = fake_stack
    failing = tmp_path / "bin" / "terraform"
    failing.write_text(f"#!{sys.executable}\nprint('Error: nope'); raise SystemExit(1)\n")
    with pytest.raises(TerraformFailed) as failed:
        stack.run("plan")
    assert failed.value.returncode == 1 and "Error: nope" in failed.value.output


def test_every_line_is_redacted_before_anyone_sees_it(fake_stack):
    stack, _ = fake_stack
    stack.redact = lambda line: line.replace("Creating", "(sensitive)")
    seen: list[str] = []
    output = stack.run("apply", log_name="apply", echo=seen.append)
    assert "Creating" not in output + "".join(seen) + (stack.log_dir / "apply.log").read_text()


# --- locks ------------------------------------------------------------------------------------

BACKEND = locks.Backend("state-bucket", "product-reviews/dev/terraform.tfstate", "http://127.0.0.1:4566")


def lock_from(host: str) -> locks.StateLock:
    return locks.StateLock("6f1c", f"someone@{host}", "OperationTypeApply", "2026-11-28T05:00:00Z", etag='"0"')


def terraform_working_on(directory: Path, backend: locks.Backend) -> subprocess.Popen:
    """A process named terraform whose working directory configures `backend`."""
    directory.mkdir(parents=True, exist_ok=True)
    s3 = {"bucket": backend.bucket, "key": backend.key, "endpoints": {"s3": backend.endpoint}}
    (directory / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": {"s3": s3}}}))
    sleeper = directory / "terraform"
    sleeper.write_bytes(Path("/bin/sleep").read_bytes())
    sleeper.chmod(0o755)
    process = subprocess.Popen([str(sleeper), "30"], cwd=directory)
    comm = Path(f"/proc/{process.pid}/comm")
    deadline = time.monotonic() + 5
    while comm.read_text().strip() != "terraform" and time.monotonic() < deadline:
        time.sleep(0.01)  # until the kernel shows the new program's name
    return process


def test_a_lock_taken_here_with_no_terraform_working_on_the_state_is_stale():
    assert locks.stale_reason(lock_from(socket.gethostname()), BACKEND) is not None


def test_a_lock_is_not_stale_while_a_terraform_process_here_works_on_that_state(tmp_path):
    holder = terraform_working_on(tmp_path / "stack", BACKEND)
    try:
        assert any(str(holder.pid) in found for found in locks.holders(BACKEND))
        assert locks.stale_reason(lock_from(socket.gethostname()), BACKEND) is None
        other_state = locks.Backend(BACKEND.bucket, "product-reviews/prod/terraform.tfstate", BACKEND.endpoint)
        assert not any(str(holder.pid) in found for found in locks.holders(other_state))
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_taken_on_another_machine_is_never_stale():
    assert locks.stale_reason(lock_from("build-agent-7"), BACKEND) is None


def test_a_lock_error_names_the_holder_and_the_exact_release_command(tmp_path):
    output = """Error: Error acquiring the state lock
Lock Info:
  ID:        9d4f5a0e-1111-2222-3333-444455556666
  Path:      state-bucket/product-reviews/prod/terraform.tfstate
  Operation: OperationTypeApply
  Who:       runner@ci-host
  Version:   1.11.4
  Created:   2026-11-28 05:00:00.000000 +0000 UTC
"""
    message = locks.lock_error_message(output, tmp_path / "stack")
    assert message is not None
    assert "runner@ci-host" in message and "OperationTypeApply" in message
    assert message.endswith(f"terraform -chdir={tmp_path / 'stack'} force-unlock 9d4f5a0e-1111-2222-3333-444455556666")
    assert locks.lock_error_message("Error: something else", tmp_path) is None
