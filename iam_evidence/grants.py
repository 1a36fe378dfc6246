"""The committed evidence, read: iam_evidence/recorded/ (evidence.py writes it).

Reading needs nothing but the files, so the policies built from them (stacks/bootstrap/
policies.py) synthesize without the IAM reference's database or the emulator.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stacks.config import EMULATOR_ACCOUNT_ID

RECORDED = Path(__file__).resolve().parent / "recorded"
RECORDED_ACCOUNT = EMULATOR_ACCOUNT_ID
# A random id of the recording, renamed after its ARN part and order (RestApiId1, KeyId2).
STABLE_ID = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z][A-Za-z]*)?Id[0-9]+(?![A-Za-z0-9])")


@dataclass(frozen=True, order=True)
class Permission:
    action: str
    resource: str  # an ARN; "*" parts stand for what the call cannot name (a random id); "*" alone: any
    resource_type: str = ""  # the reference's resource type; "" when the action has none
    context: tuple[tuple[str, str], ...] = ()  # condition keys the call sets, sorted
    source: str = ""  # where AWS documents a permission that is not the operation's own name


@dataclass(frozen=True)
class Grant:
    """One line of permissions.jsonl: a role needs `permission`, for `operations`."""

    role: str
    permission: Permission
    operations: tuple[str, ...]
    steps: tuple[str, ...]

    def line(self) -> dict[str, Any]:
        permission = asdict(self.permission)
        permission["context"] = dict(self.permission.context)
        return {"role": self.role, **permission, "operations": list(self.operations), "steps": list(self.steps)}

    @classmethod
    def of(cls, line: Mapping[str, Any]) -> "Grant":
        fields = {key: line[key] for key in ("action", "resource", "resource_type", "source")}
        permission = Permission(**fields, context=tuple(sorted(line["context"].items())))
        return cls(line["role"], permission, tuple(line["operations"]), tuple(line["steps"]))


def read_lines(name: str, directory: Path = RECORDED) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (directory / name).read_text().splitlines() if line.strip()]


def recorded_calls(directory: Path = RECORDED) -> list[dict[str, Any]]:
    return read_lines("calls.jsonl", directory)


def recorded_grants(directory: Path = RECORDED) -> list[Grant]:
    return [Grant.of(line) for line in read_lines("permissions.jsonl", directory)]


def recorded_shape(directory: Path = RECORDED) -> dict[str, Any]:
    return json.loads((directory / "stack.json").read_text())
