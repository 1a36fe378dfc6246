"""The committed evidence, in iam_evidence/recorded/ (rewritten by `make iam-evidence`):

- calls.jsonl: every distinct AWS call of the recorded lifecycle, one JSON object a line,
  sorted: the role that makes it, the service, operation and HTTP request, the parameters
  naming its resources, which client made it and in which steps;
- permissions.jsonl: what those calls need, sorted and de-duplicated by role, action and
  resource: condition keys the calls set, the resource type, the source of any permission
  that is not the operation's own name, and which operations need it;
- stack.json: the shape of the stack recorded (resource and data source types with the
  arguments they were configured with, the backend's arguments): a stack whose shape goes
  beyond it needs a new recording (tests/test_iam_evidence.py).

Everything is recorded in the emulator's account (RECORDED_ACCOUNT) and the environment
`record.ENVIRONMENT`; nothing in it is secret (only names, ids and ARNs are kept).
"""

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .grants import RECORDED, RECORDED_ACCOUNT, STABLE_ID, Grant, Permission
from .implied import Lifecycle, lifecycle_permissions
from .mapping import Call, ids_named

CALL_FIELDS = ("role", "service", "operation", "method", "path", "region", "client", "parameters")
# Provider and backend arguments that only point Terraform at the emulator.
EMULATOR_ONLY = frozenset(
    {
        "access_key",
        "secret_key",
        "endpoints",
        "max_retries",
        "s3_use_path_style",
        "use_path_style",
        "skip_credentials_validation",
        "skip_metadata_api_check",
        "skip_region_validation",
        "skip_requesting_account_id",
    }
)


def distinct_calls(recorded: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The recorded calls without repeats, each with the steps it was made in and how often."""
    merged: dict[str, dict[str, Any]] = {}
    for call in recorded:
        key = _call_key(call)
        entry = merged.setdefault(key, {**{name: call[name] for name in CALL_FIELDS}, "steps": [], "count": 0})
        entry["count"] += 1
        if call["step"] not in entry["steps"]:
            entry["steps"].append(call["step"])
    return [merged[key] for key in sorted(merged)]


def _call_key(call: Mapping[str, Any]) -> str:
    return json.dumps({name: call[name] for name in CALL_FIELDS}, sort_keys=True)


def with_stable_ids(recorded: list[dict[str, Any]], account: str = RECORDED_ACCOUNT) -> list[dict[str, Any]]:
    """`recorded` (in the order the calls were made, or distinct_calls' lines) with each random
    id the emulator gave a resource renamed after its ARN part and the order it first appeared in (RestApiId1, KeyId2):
    the same lifecycle records the same evidence, so its diff shows only what changed."""
    lines = recorded if all("steps" in call for call in recorded) else distinct_calls(recorded)
    ids = {
        value: kind
        for value, kind in ids_named(grant.permission for grant in grants(lines, account)).items()
        if not STABLE_ID.fullmatch(value)
    }
    text = json.dumps(recorded)
    found = sorted(ids, key=lambda value: (text.find(value), value))
    counts: dict[str, int] = {}
    names = {}
    for value in found:
        counts[ids[value]] = counts.get(ids[value], 0) + 1
        names[value] = f"{ids[value]}{counts[ids[value]]}"
    for value in sorted(names, key=len, reverse=True):
        text = text.replace(value, names[value])
    renamed: list[dict[str, Any]] = json.loads(text)
    return renamed


def grants(calls: Iterable[Mapping[str, Any]], account: str = RECORDED_ACCOUNT) -> list[Grant]:
    """What each role needs for `calls` (distinct_calls' lines), merged by role and permission."""
    calls = list(calls)
    lifecycle = Lifecycle.of(Call.of(line, account) for line in calls)
    merged: dict[tuple[str, Permission], tuple[set[str], set[str]]] = {}
    for role in sorted({line["role"] for line in calls}):
        lines = [line for line in calls if line["role"] == role]
        role_calls = [Call.of(line, account) for line in lines]
        steps_of = {id(call): line["steps"] for call, line in zip(role_calls, lines, strict=True)}
        for call, permission in lifecycle_permissions(role_calls, lifecycle):
            operations, steps = merged.setdefault((role, permission), (set(), set()))
            operations.add(f"{call.service}:{call.operation}")
            steps.update(steps_of[id(call)])
    return [
        Grant(role, permission, tuple(sorted(operations)), tuple(sorted(steps)))
        for (role, permission), (operations, steps) in sorted(merged.items())
    ]


def stack_shape(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """Resource and data source types with their configured arguments, and the backend's."""
    backend = configuration.get("terraform", {}).get("backend", {})
    return {
        "resource": _arguments(configuration.get("resource", {})),
        "data": _arguments(configuration.get("data", {})),
        "backend": {kind: sorted(set(arguments) - EMULATOR_ONLY) for kind, arguments in backend.items()},
    }


def _arguments(blocks: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, list[str]]:
    return {
        kind: sorted({name for block in named.values() for name in block if not name.startswith("//")})
        for kind, named in sorted(blocks.items())
    }


def merged_shape(shapes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, dict[str, set[str]]] = {"resource": {}, "data": {}, "backend": {}}
    for shape in shapes:
        for section, kinds in shape.items():
            for kind, arguments in kinds.items():
                merged[section].setdefault(kind, set()).update(arguments)
    return {
        section: {kind: sorted(names) for kind, names in sorted(kinds.items())} for section, kinds in merged.items()
    }


def write(calls: list[dict[str, Any]], shape: Mapping[str, Any] | None = None, directory: Path = RECORDED) -> None:
    """Writes the calls and the permissions they need, and the stack's shape when given."""
    directory.mkdir(parents=True, exist_ok=True)
    _write_lines(directory / "calls.jsonl", sorted(calls, key=_call_key))
    _write_lines(directory / "permissions.jsonl", [grant.line() for grant in grants(calls)])
    if shape is not None:
        (directory / "stack.json").write_text(json.dumps(shape, indent=1, sort_keys=True) + "\n")


def _write_lines(path: Path, lines: Iterable[Mapping[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))
