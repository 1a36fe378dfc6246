"""What `make plan` runs: terraform init + plan + show -json, then checkov and the review."""

import json
import subprocess
import sys
from pathlib import Path

from deploy.review.checkov import scan, skipped_checks
from deploy.review.render import summarize


def run_plan(stack_dir: Path, out_dir: Path, lock: bool = True) -> int:
    """terraform init + plan + show -json in stack_dir, then checkov and the review, into out_dir.
    Returns 1 when checkov reports a finding that .checkov.yaml does not skip (the review is
    written first), else 0."""
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
