"""Plan JSON (`terraform show -json plan.bin`) -> the changes a reviewer needs to see."""

from dataclasses import dataclass, field

KINDS = ("add", "change", "replace", "destroy")

# Terraform's action_reason values, in words.
REASONS = {
    "replace_because_cannot_update": "an argument cannot be updated in place",
    "replace_because_tainted": "the object is tainted",
    "replace_by_request": "replacement was requested (-replace)",
    "replace_by_triggers": "replace_triggered_by changed",
    "delete_because_no_resource_config": "removed from the configuration",
    "delete_because_no_module": "its module was removed",
    "delete_because_wrong_repetition": "count/for_each changed shape",
    "delete_because_count_index": "count shrank",
    "delete_because_each_key": "for_each key removed",
    "delete_because_no_move_target": "moved to an address that does not exist",
}


def classify(actions: list[str]) -> str | None:
    """add / change / replace / destroy for a resource_changes[].change.actions list."""
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    return {("create",): "add", ("update",): "change", ("delete",): "destroy"}.get(tuple(actions))


@dataclass
class Change:
    address: str
    type: str
    kind: str
    reason: str | None = None
    order: str | None = None  # replacements: which happens first
    forced_by: list[str] = field(default_factory=list)


def changes(plan: dict) -> list[Change]:
    """Every managed resource the plan adds, changes, replaces or destroys (no-ops, reads left out)."""
    found = []
    for rc in plan.get("resource_changes", []):
        if rc.get("mode", "managed") != "managed":
            continue
        actions = rc["change"]["actions"]
        kind = classify(actions)
        if kind is None:
            continue
        change = Change(rc["address"], rc["type"], kind, REASONS.get(rc.get("action_reason"), rc.get("action_reason")))
        if kind == "replace":
            change.order = "create, then destroy" if actions[0] == "create" else "destroy, then create"
            change.forced_by = [_path(p) for p in rc["change"].get("replace_paths", [])]
        found.append(change)
    return found


def _path(steps: list) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else (s if i == 0 else f".{s}") for i, s in enumerate(steps))
