#!/usr/bin/env python3
"""Terraform plan review: counts what a plan adds, changes, replaces and destroys, calls out
every replacement and destroy, and adds checkov's security findings, as Markdown.

    plan_review.py plan --stack-dir DIR --out DIR [--no-lock]   init + plan + show + scan + review
    plan_review.py scan FILE [--framework terraform_plan|terraform_json] [--output results.json]
    plan_review.py summary --plan plan.json [--checkov results.json] [--output review.md]

`plan` writes plan.bin, plan.json, checkov.json and review.md into --out and exits 1 when
checkov reports a finding that .checkov.yaml does not skip (the review is written first).
`scan` exits 1 on such a finding. Standard library only: it runs with the project's Python,
and checkov runs from its own virtualenv (CHECKOV, else .cache/checkov-venv, else PATH).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHECKOV_CONFIG = PROJECT_ROOT / ".checkov.yaml"
CHECKOV_VENV = PROJECT_ROOT / ".cache" / "checkov-venv"
MARKER = "<!-- plan-review -->"  # the PR comment is found and updated by this line
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


@dataclass
class Scan:
    """What checkov said about one file."""

    version: str = "?"
    passed: int = 0
    failed: list[dict] = field(default_factory=list)  # check_id, check_name, resource, guideline
    error: str | None = None  # checkov did not produce results


def load_checkov(results) -> Scan:
    """Reads checkov's JSON output (one report, a list of reports, or an empty-scan summary)."""
    reports = results if isinstance(results, list) else [results]
    scan = Scan()
    for report in reports:
        summary = report.get("summary", report)
        scan.version = summary.get("checkov_version", scan.version)
        scan.passed += summary.get("passed", 0)
        for check in report.get("results", {}).get("failed_checks", []):
            scan.failed.append({k: check.get(k) for k in ("check_id", "check_name", "resource", "guideline")})
    return scan


def skipped_checks(config: Path = CHECKOV_CONFIG) -> dict[str, str]:
    """check id -> the reason in the comment block above it in .checkov.yaml's skip-check list.
    Ids listed one after another with no comment between them share the block above them."""
    skipped: dict[str, str] = {}
    comment: list[str] = []
    in_list = after_item = False
    for line in config.read_text().splitlines():
        stripped = line.strip()
        if stripped and not line.startswith((" ", "-", "#")):  # a top-level key
            in_list, comment, after_item = stripped.startswith("skip-check:"), [], False
        elif in_list and stripped.startswith("#"):
            if after_item:
                comment, after_item = [], False
            comment.append(stripped.lstrip("#").strip())
        elif in_list and stripped.startswith("-"):
            # the block restates the ids it covers before its reason: keep the reason
            reason = re.sub(r"^(CKV2?_[A-Z]+_\d+,?\s*)+", "", " ".join(comment))
            skipped[stripped.lstrip("-").split("#")[0].strip()] = reason
            after_item = True
    return skipped


def checkov_command() -> str:
    for candidate in (os.environ.get("CHECKOV"), CHECKOV_VENV / "bin" / "checkov"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    found = shutil.which("checkov")
    if found:
        return found
    raise FileNotFoundError("checkov is not installed: run `make checkov` (it installs into .cache/checkov-venv)")


def scan(path: Path, framework: str = "terraform_plan", config: Path = CHECKOV_CONFIG) -> tuple[Scan, object]:
    """Runs checkov on `path`; returns the findings and checkov's raw JSON."""
    command = [
        checkov_command(), "--file", str(path), "--framework", framework, "--config-file", str(config),
        "--skip-download", "--output", "json",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "ANSI_COLORS_DISABLED": "1", "LOG_LEVEL": "ERROR"})
    try:
        raw = json.loads(run.stdout)
    except json.JSONDecodeError:
        return Scan(error=f"checkov exited {run.returncode} without JSON: {run.stderr.strip()[-2000:]}"), None
    result = load_checkov(raw)
    if run.returncode not in (0, 1) or (run.returncode == 1 and not result.failed):
        result.error = f"checkov exited {run.returncode}: {run.stderr.strip()[-2000:]}"
    return result, raw


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


def run_plan(stack_dir: Path, out_dir: Path, lock: bool = True) -> int:
    """terraform init + plan + show -json in stack_dir, then checkov and the review, into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plan_bin, plan_json = out_dir.resolve() / "plan.bin", out_dir / "plan.json"
    terraform = ["terraform", f"-chdir={stack_dir}"]
    subprocess.run(terraform + ["init", "-input=false", "-reconfigure", "-no-color"], check=True)
    plan_args = ["plan", "-input=false", "-no-color", f"-out={plan_bin}"] + ([] if lock else ["-lock=false"])
    subprocess.run(terraform + plan_args, check=True)
    shown = subprocess.run(terraform + ["show", "-json", str(plan_bin)], check=True, capture_output=True, text=True)
    plan_json.write_text(shown.stdout)
    security, raw = scan(plan_json, "terraform_plan")
    if raw is not None:
        (out_dir / "checkov.json").write_text(json.dumps(raw, indent=1))
    review = summarize(json.loads(shown.stdout), f"`{stack_dir.name}`", security, skipped_checks())
    (out_dir / "review.md").write_text(review)
    print(review)
    print(f"wrote {plan_bin}, {plan_json} and {out_dir / 'review.md'}", file=sys.stderr)
    return 1 if security.failed or security.error else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan", help="init, plan, show -json, scan and review a synthesized stack")
    p.add_argument("--stack-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--no-lock", action="store_true", help="plan with -lock=false (read-only roles)")
    s = commands.add_parser("scan", help="run checkov with .checkov.yaml; exit 1 on unskipped findings")
    s.add_argument("file", type=Path)
    s.add_argument("--framework", default="terraform_plan", choices=["terraform_plan", "terraform_json"])
    s.add_argument("--output", type=Path)
    m = commands.add_parser("summary", help="write the Markdown review of a plan JSON")
    m.add_argument("--plan", type=Path, required=True)
    m.add_argument("--checkov", type=Path, help="checkov JSON output to include")
    m.add_argument("--title", default="")
    m.add_argument("--output", type=Path)
    args = parser.parse_args(argv)

    if args.command == "plan":
        return run_plan(args.stack_dir, args.out, lock=not args.no_lock)
    if args.command == "scan":
        result, raw = scan(args.file, args.framework)
        if args.output and raw is not None:
            args.output.write_text(json.dumps(raw, indent=1))
        for f in result.failed:
            print(f"FAILED {f['check_id']} {f['resource']}: {f['check_name']}")
        print(result.error or f"checkov {result.version}: {result.passed} passed, {len(result.failed)} failed")
        return 1 if result.failed or result.error else 0
    security = load_checkov(json.loads(args.checkov.read_text())) if args.checkov else None
    review = summarize(json.loads(args.plan.read_text()), args.title or f"`{args.plan}`", security,
                       skipped_checks() if security else None)
    if args.output:
        args.output.write_text(review)
    else:
        print(review)
    return 0


if __name__ == "__main__":
    sys.exit(main())
