"""The Terraform state lock, and when a lock left behind may be released without asking.

The S3 backend (use_lockfile) keeps the lock as `<state key>.tflock` beside the state:
{"ID", "Operation", "Who": "user@host", "Created", ...}. Only a running Terraform process
holds a lock. So a lock is stale, and safe to release, when it was taken on this machine and
no Terraform process on this machine works on that state: none whose working directory's
configuration names the same backend (bucket, key and endpoint). A process we cannot inspect
counts as a holder. That proof exists only for the local target, whose emulator listens on
this machine's loopback; for a real account the lock is never released here.
"""

import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .errors import DeployError


@dataclass(frozen=True)
class Backend:
    """Which state a configuration uses."""

    bucket: str
    key: str
    endpoint: str | None

    @classmethod
    def of(cls, configuration: dict[str, Any]) -> "Backend | None":
        s3 = configuration.get("terraform", {}).get("backend", {}).get("s3")
        if not s3:
            return None
        return cls(s3["bucket"], s3["key"], s3.get("endpoints", {}).get("s3"))

    @property
    def lock_key(self) -> str:
        return f"{self.key}.tflock"


@dataclass(frozen=True)
class StateLock:
    id: str
    who: str
    operation: str
    created: str
    etag: str  # of the lock object as read: it is released only if it is still this object

    @property
    def host(self) -> str:
        return self.who.rpartition("@")[2]

    def describe(self) -> str:
        return f"lock {self.id} ({self.operation} by {self.who} since {self.created})"


def read_lock(s3: Any, backend: Backend) -> StateLock | None:
    try:
        found = s3.get_object(Bucket=backend.bucket, Key=backend.lock_key)
    except s3.exceptions.NoSuchKey:
        return None
    info = json.loads(found["Body"].read())
    lock_id, who, operation, created = (info.get(name, "?") for name in ("ID", "Who", "Operation", "Created"))
    return StateLock(lock_id, who, operation, created, etag=found["ETag"])


def holders(backend: Backend, proc: Path = Path("/proc")) -> list[str]:
    """Terraform processes on this machine that work on `backend`'s state (or cannot be inspected)."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "terraform":  # readable for any process
                continue
            working_directory = Path(os.readlink(entry / "cwd"))
        except FileNotFoundError:  # exited meanwhile
            continue
        except PermissionError:  # another user's terraform: it might be working on this state
            found.append(f"pid {entry.name} (cannot be inspected)")
            continue
        if backend in _backends_configured_in(working_directory):
            found.append(f"pid {entry.name} in {working_directory}")
    return found


def _backends_configured_in(directory: Path) -> list[Backend]:
    backends = []
    for path in directory.glob("*.tf.json"):
        try:
            backend = Backend.of(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
        if backend:
            backends.append(backend)
    return backends


def stale_reason(lock: StateLock, backend: Backend, proc: Path = Path("/proc")) -> str | None:
    """Why `lock` is provably stale, or None if something may still hold it."""
    if lock.host != socket.gethostname():
        return None
    if holders(backend, proc):
        return None
    return f"it was taken on this machine ({lock.who}) and no Terraform process here works on this state"


def release(s3: Any, backend: Backend, lock: StateLock) -> None:
    """Deletes the lock object only if it is still the object judged stale (a conditional
    delete on its ETag): a run that took the lock meanwhile keeps it. S3 answers 412 when the
    ETag no longer matches, and 404 when the lock is gone already."""
    try:
        s3.delete_object(Bucket=backend.bucket, Key=backend.lock_key, IfMatch=lock.etag)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("PreconditionFailed", "412"):
            raise DeployError(
                f"the Terraform state lock changed while make up judged it stale ({lock.describe()}): another "
                "run took it. Nothing was released; wait for that run, then run make up again."
            ) from None
        if code not in ("NoSuchKey", "404"):
            raise


def release_stale_lock(s3: Any, backend: Backend, stack_dir: Path) -> None:
    """A lock left by an interrupted run is released when its holder is provably gone; a lock
    that may still be held stops the deploy, saying who holds it and how to release it."""
    lock = read_lock(s3, backend)
    if lock is None:
        return
    reason = stale_reason(lock, backend)
    if reason is None:
        found = ", ".join(holders(backend)) or f"a process on {lock.host}"
        raise DeployError(
            f"the Terraform state {backend.key} is locked by a run that may still be going ({lock.describe()}; "
            f"held by {found}). Wait for it to finish, or stop it, then run make up again. If it is "
            f"certainly gone, release the lock with:\n  {force_unlock_command(stack_dir, lock.id)}"
        )
    release(s3, backend, lock)
    print(f"    released a stale {lock.describe()}: {reason}")


def force_unlock_command(stack_dir: Path, lock_id: str) -> str:
    return f"terraform -chdir={stack_dir} force-unlock {lock_id}"


def lock_error_message(terraform_output: str, stack_dir: Path) -> str | None:
    """For Terraform's "Error acquiring the state lock" output: who holds the lock and the exact
    command that releases it, to run only once that run is known to be gone. None otherwise."""
    if "Error acquiring the state lock" not in terraform_output:
        return None
    info = dict(re.findall(r"^\W*(ID|Who|Operation|Created):\s+(\S.*?)\s*$", terraform_output, re.MULTILINE))
    lock_id = info.get("ID", "<lock id>")
    return (
        f"the Terraform state is locked by another run: lock {lock_id}, {info.get('Operation', '?')} by "
        f"{info.get('Who', '?')} since {info.get('Created', '?')}. Wait for that run to finish. If it is "
        f"certainly gone (its machine or job stopped), release the lock with:\n  "
        f"{force_unlock_command(stack_dir, lock_id)}"
    )
