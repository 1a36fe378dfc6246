"""A saved plan sealed for the trip from CI's plan job to its apply job: envelope encryption with
the environment's plan key (stacks/bootstrap/plan_key.py).

plan.bin holds the prior state, every secret in clear, and workflow artifacts can be downloaded
by anyone who can read the repository. So the plan job uploads only `plan.sealed`:

    {header as one line of JSON}\\n{AES-256-GCM ciphertext of plan.bin and plan-record.json}

- The plan role asks KMS for a data key (GenerateDataKey on the plan key's alias), encrypts
  with it locally and keeps only the data key's encrypted copy, in the header.
- The deploy role alone may decrypt that copy (the key policy denies everyone else), and KMS
  returns it only for the same encryption context: this repository, this environment and this
  commit. The header, expiry included, is the cipher's associated data: changing a byte of it
  makes decryption fail.
- A sealed plan expires REVIEWS_PLAN_RETENTION_DAYS after it was made, when GitHub deletes the
  artifact too: an expired, missing or foreign plan is refused with "plan again".
"""

import base64
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stacks.bootstrap.config import plan_key_alias

from .private_files import private_directory, write_private
from .workspace import DeployError, Workspace

FORMAT = "product-reviews-sealed-plan/1"
SEALED_FILE = "plan.sealed"
SEALED_MEMBERS = ("plan.bin", "plan-record.json")  # sealed together, restored side by side
NONCE_BYTES = 12  # AES-GCM's standard nonce; a fresh data key per plan, so never reused


@dataclass(frozen=True)
class Seal:
    """What a sealed plan is bound to: KMS refuses its data key for any other context."""

    repository: str
    environment: str
    commit: str

    @classmethod
    def of(cls, workspace: Workspace, commit: str) -> "Seal":
        return cls(workspace.config.ci.repository, workspace.config.environment, commit)

    def context(self) -> dict[str, str]:
        return {"repository": self.repository, "environment": self.environment, "commit": self.commit}


def seal(workspace: Workspace, plan_dir: Path, bound: Seal, now: datetime | None = None) -> Path:
    """Encrypts plan_dir's plan.bin and plan-record.json into plan_dir/plan.sealed."""
    now = now or datetime.now(UTC)
    payload = json.dumps(
        {name: base64.b64encode((plan_dir / name).read_bytes()).decode() for name in SEALED_MEMBERS}
    ).encode()
    data_key = workspace.client("kms").generate_data_key(
        KeyId=plan_key_alias(bound.environment), KeySpec="AES_256", EncryptionContext=bound.context()
    )
    header = {
        "format": FORMAT,
        "key": data_key["KeyId"],
        "encrypted_data_key": base64.b64encode(data_key["CiphertextBlob"]).decode(),
        "nonce": base64.b64encode(os.urandom(NONCE_BYTES)).decode(),
        "context": bound.context(),
        "sealed_at": now.isoformat(timespec="seconds"),
        "expires_at": (now + timedelta(days=workspace.config.ci.plan_retention_days)).isoformat(timespec="seconds"),
    }
    line = json.dumps(header, sort_keys=True).encode()
    ciphertext = AESGCM(data_key["Plaintext"]).encrypt(base64.b64decode(header["nonce"]), payload, line)
    return write_private(plan_dir / SEALED_FILE, line + b"\n" + ciphertext)


def unseal(workspace: Workspace, sealed: Path, bound: Seal, into: Path, now: datetime | None = None) -> Path:
    """Checks and decrypts `sealed` into `into`; returns the plan.bin written there."""
    header, line, ciphertext = _read(sealed)
    _check(header, bound, now or datetime.now(UTC), sealed)
    data_key = workspace.client("kms").decrypt(
        KeyId=header["key"],
        CiphertextBlob=base64.b64decode(header["encrypted_data_key"]),
        EncryptionContext=header["context"],
    )["Plaintext"]
    try:
        payload = AESGCM(data_key).decrypt(base64.b64decode(header["nonce"]), ciphertext, line)
    except InvalidTag:
        raise DeployError(f"{sealed} was altered after it was sealed: nothing was applied. Plan again.") from None
    private_directory(into)
    for name, content in json.loads(payload).items():
        write_private(into / name, base64.b64decode(content))
    return into / SEALED_MEMBERS[0]


def _read(sealed: Path) -> tuple[dict, bytes, bytes]:
    if not sealed.exists():
        raise DeployError(
            f"{sealed} is missing: the reviewed plan's artifact expired or was never made. Nothing was "
            "applied. Plan again (in GitHub Actions: re-run all jobs of the deploy run)."
        )
    line, _, ciphertext = sealed.read_bytes().partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:
        header = {}
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise DeployError(f"{sealed} is not a plan sealed by `python -m deploy seal`. Nothing was applied.")
    return header, line, ciphertext


def _check(header: dict, bound: Seal, now: datetime, sealed: Path) -> None:
    """Refuses, before asking KMS, a plan of another repository, environment or commit, or one
    past its expiry."""
    if header["context"] != bound.context():
        raise DeployError(
            f"{sealed} was sealed for {header['context']}, but this run is {bound.context()}: it is not "
            "the plan reviewed for this commit. Nothing was applied. Plan again."
        )
    if now > datetime.fromisoformat(header["expires_at"]):
        raise DeployError(
            f"{sealed} expired at {header['expires_at']} (plans wait at most REVIEWS_PLAN_RETENTION_DAYS for "
            "approval). Nothing was applied. Plan again (in GitHub Actions: re-run all jobs of the deploy run)."
        )
