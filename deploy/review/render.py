"""The review in Markdown, as a PR comment or job summary: what the plan changes, attribute
by attribute, the calls a reviewer must not miss (index rebuilds, replacements, destroys),
checkov's findings, and the full plan text folded at the end, as tfcmt does."""

import contextlib
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from deploy.review.changes import KINDS, Change, Hidden, OutputChange, changes, forgotten, output_changes
from deploy.review.checkov import Scan
from deploy.secrets import redact_text, secrets_in_plan

MARKER = "<!-- plan-review -->"  # the PR comment is found and updated by its first line
OUTDATED_START, OUTDATED_END = "<!-- plan-review-outdated -->", "<!-- /plan-review-outdated -->"

# GitHub refuses comments over 65,536 characters; this leaves room for the outdated banner.
MAX_REVIEW_CHARS = 64_000
MAX_VALUE_CHARS = 200  # longer attribute values (policies, JSON documents) are cut to this
VALUE_CONTEXT_CHARS = 60  # how much of a cut value to show before its first difference

ACTION_WORDS = {"add": "create", "change": "update in place", "replace": "replace", "destroy": "destroy"}


@dataclass(frozen=True)
class RunInfo:
    """Where a review comes from: the header states it, the outdated banner points at it."""

    commit: str | None = None
    environment: str | None = None
    run_url: str | None = None

    @classmethod
    def of_github_run(cls, environ: Mapping[str, str] = os.environ, environment: str | None = None) -> "RunInfo":
        """The current GitHub Actions run's commit and link (None for both outside Actions)."""
        return cls(environ.get("GITHUB_SHA"), environment, github_run_url(environ))


UNKNOWN_RUN = RunInfo()


def github_run_url(environ: Mapping[str, str] = os.environ) -> str | None:
    parts = [environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return "{}/{}/actions/runs/{}".format(*parts) if all(parts) else None


def marker(environment: str | None = None) -> str:
    """A review's first line, by which its PR comment is found: one comment per environment."""
    return f"<!-- plan-review: {environment} -->" if environment else MARKER


def render_review(
    plan: dict,
    title: str,
    *,
    run: RunInfo = UNKNOWN_RUN,
    security: Scan | None = None,
    skipped: dict[str, str] | None = None,
    plan_text: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The review in Markdown; its first line is marker(run.environment). `plan` is the plan
    JSON as Terraform wrote it, `plan_text` the output of `terraform show -no-color plan.bin`,
    `notes` Markdown lines about what the plan cannot show (after the headline). Every secret
    the plan holds is redacted from the result, the plan text included."""
    found = changes(plan)
    outputs = output_changes(plan)
    secrets = secrets_in_plan(plan)
    sections = [
        _headline(title, run, plan, found, outputs),
        [_security_headline(security, skipped or {})] if security else [],
        list(notes),
        _index_callout(found),
        _type_table(found),
        _replacements(found),
        _destroys(found),
        _forgotten(forgotten(plan)),
        _attribute_changes(found, secrets),
        _output_changes(outputs, secrets),
        _security_details(security, skipped or {}) if security else [],
    ]
    review = redact_text("\n\n".join("\n".join(section) for section in sections if section) + "\n", secrets)
    if plan_text is not None:
        review += _folded_plan(redact_text(plan_text, secrets), room=MAX_REVIEW_CHARS - len(review))
    return review


def mark_outdated(
    review: str, *, commit: str | None = None, run_url: str | None = None, outcome: str = "did not produce a new review"
) -> str:
    """An older review (a previous PR comment's body) with a banner on top saying it is out of
    date, and what happened to the latest run (`outcome`: "failed", "was skipped", ...).
    The first line (its marker) stays first, so the comment is still found; marking again
    replaces the banner."""
    review_marker = _marker_of(review)
    body = re.sub(
        f"{re.escape(OUTDATED_START)}.*?{re.escape(OUTDATED_END)}\n*",
        "",
        review.removeprefix(review_marker).lstrip("\n"),
        flags=re.DOTALL,
    )
    latest = "The latest run" + (f" (commit {commit})" if commit else "") + f" {outcome}"
    link = f": [workflow run]({run_url})" if run_url else ""
    banner = [
        "> [!WARNING]",
        (
            "> **Outdated**: this review is from an older commit or a failed or skipped run. "
            f"{latest}{link}. Do not approve on the strength of the plan below."
        ),
    ]
    return "\n".join([review_marker, OUTDATED_START, *banner, OUTDATED_END, "", body])


def _marker_of(review: str) -> str:
    """The review's first line if it is a marker, else MARKER."""
    first_line = review.partition("\n")[0]
    return first_line if re.fullmatch(r"<!-- plan-review(: \S+)? -->", first_line) else MARKER


def _headline(title: str, run: RunInfo, plan: dict, found: list[Change], outputs: list[OutputChange]) -> list[str]:
    lines = [marker(run.environment), f"## Terraform plan review: {title}", ""]
    facts = [
        f"Commit {run.commit}" if run.commit else None,
        f"Environment `{run.environment}`" if run.environment else None,
        f"[Workflow run]({run.run_url})" if run.run_url else None,
    ]
    if any(facts):
        lines += [" · ".join(fact for fact in facts if fact), ""]
    totals = Counter(c.kind for c in found)
    if found:
        lines.append("**" + ", ".join(f"{totals[k]} to {k}" for k in KINDS) + ".**")
    elif outputs or forgotten(plan):
        lines.append("**No resource changes**, but outputs or what Terraform manages change (below).")
    else:
        lines.append("**No changes.** The infrastructure matches the configuration.")
    if plan.get("errored"):
        lines.append("\n> **The plan errored**: the changes below are incomplete.")
    return lines


def _index_callout(found: list[Change]) -> list[str]:
    entries = [(c.address, index) for c in found for index in c.indexes]
    if not entries:
        return []
    lines = [f"### ⚠️ Index changes ({len(entries)}): queries by these indexes fail for a while", ""]
    for address, index in entries:
        where = f"- `{address}`, index `{index.index}`"
        if index.action == "rebuilt":
            settings = ", ".join(f"`{s}`" for s in index.settings)
            lines.append(
                f"{where}: **deleted and rebuilt** ({settings} cannot change in place). DynamoDB "
                "deletes the index and backfills a new one from the table: queries by this index "
                "fail until the backfill completes (minutes to hours, by table size)."
            )
        elif index.action == "added":
            lines.append(f"{where}: **added**. Queries by it fail until DynamoDB has backfilled it.")
        else:
            lines.append(f"{where}: **removed**. Queries by it fail from the moment the apply deletes it.")
    lines += ["", "Capacity-only index changes are not listed here: they apply in place."]
    return lines


def _type_table(found: list[Change]) -> list[str]:
    if not found:
        return []
    by_type: dict[str, Counter] = defaultdict(Counter)
    for c in found:
        by_type[c.type][c.kind] += 1
    totals = Counter(c.kind for c in found)
    lines = [
        "### Changes by resource type",
        "",
        "| Resource type | Add | Change | Replace | Destroy |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for rtype in sorted(by_type):
        lines.append(f"| `{rtype}` | " + " | ".join(str(by_type[rtype][k] or "·") for k in KINDS) + " |")
    lines.append("| **Total** | " + " | ".join(f"**{totals[k]}**" for k in KINDS) + " |")
    return lines


def _replacements(found: list[Change]) -> list[str]:
    replaced = [c for c in found if c.kind == "replace"]
    if not replaced:
        return []
    lines = [f"### ⚠️ Replacements ({len(replaced)}): destroyed and created again", ""]
    for c in replaced:
        forced = f"; forced by {', '.join(f'`{p}`' for p in c.forced_by)}" if c.forced_by else ""
        reason = f"; {c.reason}" if c.reason else ""
        lines.append(f"- `{c.address}`: {c.order}{forced}{reason}")
    return lines


def _destroys(found: list[Change]) -> list[str]:
    destroyed = [c for c in found if c.kind == "destroy"]
    if not destroyed:
        return []
    return [f"### 🗑️ Destroys ({len(destroyed)})", ""] + [
        f"- `{c.address}`" + (f": {c.reason}" if c.reason else "") for c in destroyed
    ]


def _forgotten(addresses: list[str]) -> list[str]:
    if not addresses:
        return []
    return [f"### Left in AWS, no longer managed by Terraform ({len(addresses)})", ""] + [
        f"- `{address}`: removed from the state without being destroyed (a `removed` block)" for address in addresses
    ]


def _output_changes(outputs: list[OutputChange], secrets: set[str]) -> list[str]:
    if not outputs:
        return []
    lines = ["### Outputs that change", ""]
    for output in outputs:
        before, after = _values(output.before, output.after, secrets)
        lines.append(f"- {_code(output.name)}: {before} → {after}")
    return lines


def _attribute_changes(found: list[Change], secrets: set[str]) -> list[str]:
    if not found:
        return []
    lines = ["### What changes, by address", ""]
    for c in found:
        lines.append(f"- `{c.address}`: {ACTION_WORDS[c.kind]}")
        for a in c.attributes:
            forces = ", **forces replacement**" if a.forces_replacement else ""
            before, after = _values(a.before, a.after, secrets)
            lines.append(f"  - {_code(a.path)}: {before} → {after}{forces}")
    return lines


def _values(before, after, secrets: set[str]) -> tuple[str, str]:
    """Both sides of an attribute change on one line each, redacted, then cut at
    MAX_VALUE_CHARS (cutting first could leave half a secret that redaction no longer
    recognizes). Long values are shown from a little before their first difference,
    so that a one-word change in a long policy stays visible."""
    old, new = _json(before, secrets), _json(after, secrets)
    start = 0
    if old is not None and new is not None and max(len(old), len(new)) > MAX_VALUE_CHARS:
        start = max(0, len(os.path.commonprefix([old, new])) - VALUE_CONTEXT_CHARS)
    return _cut(before, old, start), _cut(after, new, start)


def _json(value, secrets: set[str]) -> str | None:
    """A value as one line of JSON, a string holding a JSON document (a policy) shown as that
    document; None for a Hidden value."""
    if isinstance(value, Hidden):
        return None
    if isinstance(value, str) and value.startswith(("{", "[")):
        with contextlib.suppress(ValueError):  # not JSON after all: shown as the string it is
            value = json.loads(value)
    return redact_text(json.dumps(value, ensure_ascii=False), secrets)


def _cut(value, text: str | None, start: int) -> str:
    if text is None:
        return value.value
    if len(text) <= MAX_VALUE_CHARS:
        return _code(text)
    start = min(start, len(text) - MAX_VALUE_CHARS)
    end = start + MAX_VALUE_CHARS
    shown = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    return f"{_code(shown)} (cut: {len(text):,} characters in all)"


def _code(text: str) -> str:
    """`text` as inline code, whatever backticks it holds."""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def _folded_plan(plan_text: str, room: int) -> str:
    """The (redacted) plan text in a folded block, cut at a line end to fit in `room` characters."""
    text = plan_text.strip("\n")
    fence = "`" * max(3, max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    budget = room - 500  # the block's frame and the note
    note = ""
    if len(text) > budget:
        cut = text[: max(budget, 0)].rsplit("\n", 1)[0]
        note = (
            f"The plan is cut after {len(cut):,} of {len(text):,} characters to fit in a comment: "
            "the whole plan is in `plan.txt` beside this review.\n"
        )
        text = cut
    return "\n".join(
        [
            "",
            "<details><summary>Full plan (<code>terraform show</code>)</summary>",
            "",
            f"{fence}text",
            text,
            fence,
            note,
            "</details>",
            "",
        ]
    )


def _security_headline(security: Scan, skipped: dict[str, str]) -> str:
    if security.error:
        return f"**Security scan failed to run**: {security.error.splitlines()[0]}"
    verdict = (
        f"❌ **{len(security.failed)} unskipped finding(s)**" if security.failed else "✅ **no unskipped findings**"
    )
    return (
        f"Security scan (checkov {security.version}, `.checkov.yaml`): {verdict} "
        f"({security.passed} checks passed, {len(skipped)} skipped by configuration)."
    )


def _security_details(security: Scan, skipped: dict[str, str]) -> list[str]:
    lines = []
    if security.error:
        lines += ["### Security scan error", "", "```", security.error, "```", ""]
    if security.failed:
        lines += [
            f"### ❌ Security findings ({len(security.failed)})",
            "",
            "Fix each in `stacks/`, or skip it in `.checkov.yaml` with a reason a reviewer accepts.",
            "",
            "| Check | Resource | Description |",
            "| --- | --- | --- |",
        ]
        for f in sorted(security.failed, key=lambda f: (f["check_id"], f["resource"] or "")):
            check = f"[{f['check_id']}]({f['guideline']})" if f.get("guideline") else f["check_id"]
            lines.append(f"| {check} | `{f['resource']}` | {f['check_name']} |")
        lines.append("")
    if skipped:
        lines += ["<details><summary>Checks skipped by <code>.checkov.yaml</code>, and why</summary>", ""]
        lines += [
            f"- **{check}** {reason}" if reason.startswith("(") else f"- **{check}**: {reason or '(no reason given)'}"
            for check, reason in skipped.items()
        ]
        lines += ["", "</details>"]
    return lines
