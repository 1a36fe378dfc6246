"""Start, find and stop the emulator process (moto server + `moto_fixes`).

The state directory (default `.local/` in the project root) holds `emulator.json`
({"pid", "port", "start_ticks"}), `emulator-<port>.log` and `emulator-<port>.data/`: the
state of every service, saved after each write and loaded when the emulator starts again
(`persistence`). Only `discard_data` deletes it, and with it the Terraform state bucket and
its key (see `ensure_state_bucket`, `ensure_state_key`).

The emulator is stopped only when it is provably the process started here (`processes`):
this user's `python -m localaws.moto_server --port <port>`, listening on that port.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws.processes import Identity, listening_pids, signal_if_same

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 4566
DEFAULT_STATE_DIR = PROJECT_ROOT / ".local"
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10

# Fake credentials: moto accepts any, and they keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@dataclass
class Emulator:
    pid: int
    port: int
    reused: bool = False  # True when start() found one already running

    @property
    def endpoint(self) -> str:
        return endpoint_for(self.port)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def endpoint_for(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def health(endpoint: str, timeout: float = 1.0) -> dict | None:
    """The emulator's health answer, or None if nothing of ours answers there."""
    try:
        with urllib.request.urlopen(f"{endpoint}/_localaws/health", timeout=timeout) as reply:
            return json.load(reply)
    except (OSError, ValueError):
        return None


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _state_file(state_dir: Path) -> Path:
    return Path(state_dir) / "emulator.json"


def data_dir(port: int, state_dir: Path = DEFAULT_STATE_DIR) -> Path:
    """Where the emulator on `port` saves the state of every service."""
    return Path(state_dir) / f"emulator-{port}.data"


def discard_data(port: int, state_dir: Path = DEFAULT_STATE_DIR) -> bool:
    """Deletes the saved state of the emulator on `port` (stop it first); False if there was none."""
    found = data_dir(port, state_dir)
    existed = found.exists()
    shutil.rmtree(found, ignore_errors=True)
    return existed


def _command(port: int) -> tuple[str, ...]:
    return ("-m", "localaws.moto_server", "--port", str(port))


def ours(pid: int, port: int) -> Identity | None:
    """The emulator process `pid`, if it is provably ours on `port`: this user's moto_server
    for that port, holding the socket that listens there."""
    found = Identity.of(pid)
    if found and found.runs(*_command(port)) and pid in listening_pids(port):
        return found
    return None


def start(port: int = DEFAULT_PORT, state_dir: Path = DEFAULT_STATE_DIR, browser_origin: str | None = None) -> Emulator:
    """Start the emulator on 127.0.0.1:port, or reuse ours if it already runs there. A
    browser may call its Cognito from `browser_origin` (emulator_app.BROWSER_ALLOWANCES)."""
    running = health(endpoint_for(port))
    identity = ours(running["pid"], port) if running else None
    if identity:
        _write_state(state_dir, identity, port)
        return Emulator(identity.pid, port, reused=True)
    if running or port_in_use(port):
        raise RuntimeError(f"port {port} is taken by something that is not this project's emulator")

    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / f"emulator-{port}.log"
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "MOTO_DISABLE_GLOBAL_CORS": "true"}
    options = ["--data-dir", str(data_dir(port, state_dir))]
    options += ["--storefront-origin", browser_origin] if browser_origin else []
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, *_command(port), *options],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the shell that started it, and its Ctrl-C
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        answer = health(endpoint_for(port))
        identity = Identity.of(process.pid)
        if answer and answer["pid"] == process.pid and identity:
            _write_state(state_dir, identity, port)
            return Emulator(process.pid, port)
        if process.poll() is not None:
            raise RuntimeError(
                f"the emulator exited with {process.returncode}: {_last_line(log_path)} (log: {log_path})"
            )
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"emulator did not answer within {START_TIMEOUT_SECONDS}s; see {log_path}")


def _last_line(log_path: Path) -> str:
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def status(port: int = DEFAULT_PORT) -> Emulator | None:
    running = health(endpoint_for(port))
    return Emulator(running["pid"], port) if running else None


def stop(port: int = DEFAULT_PORT, state_dir: Path = DEFAULT_STATE_DIR) -> bool:
    """Stop our emulator on `port`; returns False if none was running. Whatever else answers
    there (a health route can name any pid) is never signalled: that is an error."""
    running = health(endpoint_for(port))
    identity = ours(running["pid"], port) if running else None
    if running and not identity:
        raise RuntimeError(
            f"the process answering on port {port} (it says pid {running['pid']}) is not this project's "
            "emulator: nothing was stopped"
        )
    _clear_state(state_dir, port)
    if not identity:
        return False
    signal_if_same(identity, signal.SIGTERM)
    if not wait_until(lambda: not pid_alive(identity.pid) and not port_in_use(port)):
        signal_if_same(identity, signal.SIGKILL)
        wait_until(lambda: not pid_alive(identity.pid))
    return True


def wait_until(condition, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A process that exited stays a zombie until its parent reaps it: count it as gone.
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:  # not our child: its parent (or init, for an orphan) reaps it
        return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """True if `pid` has exited and waits to be reaped. Where /proc is missing, or it has
    just been reaped, False (the next os.kill says whether it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"  # the state follows the (command name)


def _write_state(state_dir: Path, identity: Identity, port: int) -> None:
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    record = {"pid": identity.pid, "port": port, "start_ticks": identity.start_ticks}
    _state_file(state_dir).write_text(json.dumps(record) + "\n")


def _clear_state(state_dir: Path, port: int) -> None:
    path = _state_file(state_dir)
    try:
        if json.loads(path.read_text())["port"] == port:
            path.unlink()
    except (OSError, ValueError, KeyError):
        pass


def client(service: str, endpoint: str, region: str) -> Any:
    """A boto3 client for the emulator (fake credentials, no retries to hide errors)."""
    any_service: Callable[..., Any] = boto3.client  # boto3-stubs type a client only by a literal name
    return any_service(
        service,
        endpoint_url=endpoint,
        region_name=region,
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60),
        **FAKE_CREDENTIALS,
    )


def state_bucket_exists(endpoint: str, bucket: str, region: str = "us-east-1") -> bool:
    try:
        client("s3", endpoint, region).head_bucket(Bucket=bucket)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    return False


def ensure_state_bucket(endpoint: str, bucket: str, region: str = "us-east-1") -> bool:
    """Create the Terraform state bucket if missing; True if it had to be created (a new
    emulator, or one whose saved state was discarded)."""
    if state_bucket_exists(endpoint, bucket, region):
        return False
    s3 = client("s3", endpoint, region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    return True


def ensure_state_key(endpoint: str, alias: str, region: str = "us-east-1") -> bool:
    """Create the KMS key the Terraform state is encrypted with, known by `alias`, if missing;
    True if it had to be created (the emulator is new or restarted, as for the bucket)."""
    kms = client("kms", endpoint, region)
    try:
        kms.describe_key(KeyId=alias)
        return False
    except kms.exceptions.NotFoundException:
        pass
    key = kms.create_key(Description="Encrypts the local Terraform state (the bootstrap's state key on AWS)")
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyMetadata"]["KeyId"])
    return True


def confirm_subscription(endpoint: str, region: str, topic_arn: str, address: str) -> bool:
    """What the recipient does by following the link SNS mails: confirms `address`'s pending
    subscription to the topic (tests; moto_fixes). False if there was none."""
    query = {"region": region, "topic": topic_arn, "endpoint": address}
    return _sns_hook(endpoint, "confirm", query)["confirmed"] == 1


def expire_unconfirmed_subscriptions(endpoint: str, region: str) -> int:
    """What SNS does 48 hours after a subscription nobody confirmed: deletes it (tests;
    moto_fixes). Returns how many."""
    return _sns_hook(endpoint, "expire-unconfirmed", {"region": region})["expired"]


def _sns_hook(endpoint: str, action: str, query: dict[str, str]) -> dict[str, int]:
    url = f"{endpoint}/_localaws/sns/{action}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as reply:
        return json.load(reply)
