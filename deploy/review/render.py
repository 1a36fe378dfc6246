"""The review in Markdown: counts, replacements, destroys and security findings."""

from collections import Counter, defaultdict

from deploy.review.changes import KINDS, changes
from deploy.review.checkov import Scan

MARKER = "<!-- plan-review -->"  # the PR comment is found and updated by this line


def summarize(plan: dict, title: str, security: Scan | None = None, skipped: dict[str, str] | None = None) -> str:
    """The review in Markdown; its first line is MARKER."""
    found = changes(plan)
    totals = Counter(c.kind for c in found)
    by_type: dict[str, Counter] = defaultdict(Counter)
    for c in found:
        by_type[c.type][c.kind] += 1

    lines = [MARKER, f"## Terraform plan review: {title}", ""]
    if found:
        lines.append("**" + ", ".join(f"{totals[k]} to {k}" for k in KINDS) + ".**")
    else:
        lines.append("**No changes.** The infrastructure matches the configuration.")
    if plan.get("errored"):
        lines.append("\n> **The plan errored**: the changes below are incomplete.")
    if security is not None:
        lines.append("")
        lines.append(_security_headline(security, skipped or {}))

    if found:
        lines += ["", "### Changes by resource type", "",
                  "| Resource type | Add | Change | Replace | Destroy |", "| --- | ---: | ---: | ---: | ---: |"]
        for rtype in sorted(by_type):
            cells = " | ".join(str(by_type[rtype][k] or "·") for k in KINDS)
            lines.append(f"| `{rtype}` | {cells} |")
        lines.append("| **Total** | " + " | ".join(f"**{totals[k]}**" for k in KINDS) + " |")

    replaced = [c for c in found if c.kind == "replace"]
    if replaced:
        lines += ["", f"### ⚠️ Replacements ({len(replaced)}): destroyed and created again", ""]
        for c in replaced:
            forced = f"; forced by {', '.join(f'`{p}`' for p in c.forced_by)}" if c.forced_by else ""
            reason = f"; {c.reason}" if c.reason else ""
            lines.append(f"- `{c.address}`: {c.order}{forced}{reason}")
    destroyed = [c for c in found if c.kind == "destroy"]
    if destroyed:
        lines += ["", f"### 🗑️ Destroys ({len(destroyed)})", ""]
        lines += [f"- `{c.address}`" + (f": {c.reason}" if c.reason else "") for c in destroyed]

    if security is not None:
        lines += _security_details(security, skipped or {})
    return "\n".join(lines) + "\n"


def _security_headline(security: Scan, skipped: dict[str, str]) -> str:
    if security.error:
        return f"**Security scan failed to run**: {security.error.splitlines()[0] if security.error else ''}"
    verdict = (f"❌ **{len(security.failed)} unskipped finding(s)**" if security.failed
               else "✅ **no unskipped findings**")
    return (f"Security scan (checkov {security.version}, `.checkov.yaml`): {verdict} "
            f"({security.passed} checks passed, {len(skipped)} skipped by configuration).")


def _security_details(security: Scan, skipped: dict[str, str]) -> list[str]:
    lines = []
    if security.error:
        lines += ["", "### Security scan error", "", "```", security.error, "```"]
    if security.failed:
        lines += ["", f"### ❌ Security findings ({len(security.failed)})", "",
                  "Fix each in `stacks/`, or skip it in `.checkov.yaml` with a reason a reviewer accepts.", "",
                  "| Check | Resource | Description |", "| --- | --- | --- |"]
        for f in sorted(security.failed, key=lambda f: (f["check_id"], f["resource"] or "")):
            check = f"[{f['check_id']}]({f['guideline']})" if f.get("guideline") else f["check_id"]
            lines.append(f"| {check} | `{f['resource']}` | {f['check_name']} |")
    if skipped:
        lines += ["", "<details><summary>Checks skipped by <code>.checkov.yaml</code>, and why</summary>", ""]
        lines += [f"- **{check}** {reason}" if reason.startswith("(") else f"- **{check}**: {reason or '(no reason given)'}"
                  for check, reason in skipped.items()]
        lines += ["", "</details>"]
    return lines
