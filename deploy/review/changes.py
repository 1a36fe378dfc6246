"""Plan JSON (`terraform show -json plan.bin`) -> the changes a reviewer needs to see.

Give it the plan as Terraform wrote it: in a redacted plan every secret reads "(sensitive)",
so a secret that changed would look unchanged and be left out.
"""

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from deploy.review.indexes import IndexChange, index_changes
from deploy.secrets import part_of, with_known_secrets

KINDS = ("add", "change", "replace", "destroy")

# resource_changes[].change.actions that are one action.
SINGLE_ACTIONS: dict[tuple[str, ...], str] = {("create",): "add", ("update",): "change", ("delete",): "destroy"}

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


class Hidden(enum.Enum):
    """What the review shows instead of a value it must not or cannot show."""

    SENSITIVE = "(sensitive)"
    UNKNOWN = "(known after apply)"
    ABSENT = "(none)"  # a block that one side of the change does not have


@dataclass(frozen=True)
class AttributeChange:
    path: str  # `description`, `global_secondary_index["by-reviewer"].projection_type`, ...
    before: object  # the JSON value, or a Hidden
    after: object
    forces_replacement: bool = False


@dataclass
class Change:
    address: str
    type: str
    kind: str
    reason: str | None = None
    order: str | None = None  # replacements: which happens first
    forced_by: list[str] = field(default_factory=list)
    attributes: list[AttributeChange] = field(default_factory=list)  # in-place changes and replacements
    indexes: list[IndexChange] = field(default_factory=list)  # DynamoDB tables changed in place


@dataclass(frozen=True)
class OutputChange:
    name: str
    before: object  # the JSON value, or a Hidden
    after: object


def classify(actions: list[str]) -> str | None:
    """add / change / replace / destroy for a resource_changes[].change.actions list."""
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    return SINGLE_ACTIONS.get(tuple(actions))


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
        if kind in ("change", "replace"):
            change.attributes = attribute_changes(rc["type"], rc["change"], change.forced_by)
        if kind == "change" and rc["type"] == "aws_dynamodb_table":
            change.indexes = index_changes(rc["change"]["before"], rc["change"]["after"])
        found.append(change)
    return found


def forgotten(plan: dict) -> list[str]:
    """Addresses Terraform stops managing without destroying them (`removed` blocks with
    `destroy = false`: the plan's action "forget")."""
    return [rc["address"] for rc in plan.get("resource_changes", []) if rc["change"]["actions"] == ["forget"]]


def output_changes(plan: dict) -> list[OutputChange]:
    """The root module's outputs the plan adds, changes or removes."""
    found = []
    for name, change in sorted(plan.get("output_changes", {}).items()):
        if change["actions"] == ["no-op"]:
            continue
        before = _Side(
            change.get("before"), change.get("before_sensitive", False), present="create" not in change["actions"]
        )
        after = _Side(
            change.get("after"),
            change.get("after_sensitive", False),
            change.get("after_unknown", False),
            present="delete" not in change["actions"],
        )
        found.append(OutputChange(name, before.shown(), after.shown()))
    return found


def attribute_changes(resource_type: str, change: dict, forced_by: Sequence[str] = ()) -> list[AttributeChange]:
    """The attributes a resource_changes[].change updates, nested blocks down to their leaves."""
    before = _Side(change.get("before"), with_known_secrets(resource_type, change.get("before_sensitive", False)))
    after = _Side(
        change.get("after"),
        with_known_secrets(resource_type, change.get("after_sensitive", False)),
        change.get("after_unknown", False),
    )
    return [
        AttributeChange(path, old, new, any(_within(path, forced) for forced in forced_by))
        for path, old, new in _differences("", before, after)
    ]


@dataclass(frozen=True)
class _Side:
    """One side of a change: a value and the marks trees (same shape, True where marked) that
    say which parts of it are sensitive or not known until apply."""

    value: object
    sensitive: object = False
    unknown: object = False
    present: bool = True

    def child(self, key) -> "_Side":
        if key is None:
            return _Side(None, present=False)
        return _Side(_child(self.value, key), _child(self.sensitive, key), _child(self.unknown, key))

    def shown(self):
        if not self.present:
            return Hidden.ABSENT
        if _any_marked(self.unknown):
            return Hidden.UNKNOWN
        if _any_marked(self.sensitive):
            return Hidden.SENSITIVE
        return self.value


def _differences(path: str, before: _Side, after: _Side):
    """(path, shown before, shown after) for every leaf that changes. Objects and lists of
    blocks are walked; anything else (strings, numbers, lists of strings) is one leaf."""
    wholly_hidden = before.sensitive is True or after.sensitive is True or after.unknown is True
    if not wholly_hidden and isinstance(before.value, dict) and isinstance(after.value, dict):
        keys = {*before.value, *after.value, *(after.unknown if isinstance(after.unknown, dict) else ())}
        for key in sorted(keys):
            yield from _differences(f"{path}.{key}" if path else key, before.child(key), after.child(key))
    elif (
        not wholly_hidden
        and isinstance(before.value, list)
        and isinstance(after.value, list)
        and _blocks(before.value + after.value)
    ):
        for label, old, new in _element_pairs(before.value, after.value):
            yield from _differences(f"{path}[{label}]", before.child(old), after.child(new))
    elif _any_marked(after.unknown) or before.present != after.present or before.value != after.value:
        yield path, before.shown(), after.shown()


def _element_pairs(before: list[dict], after: list[dict]) -> list[tuple[str, int | None, int | None]]:
    """(label, index in before, index in after) for the elements of two lists of blocks.
    Blocks in a set have no stable position, so blocks that all carry a distinct name are
    paired by it (label `"by-reviewer"`); others by position (label `0`)."""
    names_before, names_after = [b.get("name") for b in before], [b.get("name") for b in after]
    if all(_distinct_names(names) for names in (names_before, names_after)):
        names = names_before + [name for name in names_after if name not in names_before]
        return [(json.dumps(name), _index(names_before, name), _index(names_after, name)) for name in names]
    return [
        (str(i), i if i < len(before) else None, i if i < len(after) else None)
        for i in range(max(len(before), len(after)))
    ]


def _distinct_names(names: list) -> bool:
    return all(isinstance(name, str) for name in names) and len(set(names)) == len(names)


def _index(names: Sequence[object], name: object) -> int | None:
    return names.index(name) if name in names else None


def _child(tree, key):
    """A part of a value or of a marks tree: a mark on a whole object covers its parts."""
    return True if tree is True else part_of(tree, key)


def _any_marked(marks) -> bool:
    if isinstance(marks, dict):
        return any(_any_marked(mark) for mark in marks.values())
    if isinstance(marks, list):
        return any(_any_marked(mark) for mark in marks)
    return marks is True


def _blocks(values: list) -> bool:
    return bool(values) and all(isinstance(value, dict) for value in values)


def _within(path: str, forced: str) -> bool:
    return path == forced or path.startswith((f"{forced}.", f"{forced}["))


def _path(steps: list) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else (s if i == 0 else f".{s}") for i, s in enumerate(steps))
