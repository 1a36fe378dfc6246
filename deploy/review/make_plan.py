"""What `make plan` runs: terraform init, plan and show, the security scan and the review.

Everything it prints or writes has the secrets of the state and the plan redacted. It
writes into one directory (0700), every file 0600:

- plan.bin: the binary plan, for `terraform apply plan.bin`. It embeds the prior state,
  every secret in clear, and cannot be redacted: handle it like the state itself. Never
  publish it; CI passes it on only as the artifact the apply job needs.
- plan.json: `terraform show -json`, redacted (checkov scans this file);
- plan.txt: `terraform show -no-color`, redacted;
- checkov.json: checkov's results;
- review.md: the review, also printed.
"""

import json
import subprocess
import sys
from pathlib import Path

from deploy.private_files import make_private, private_directory, write_private
from deploy.review.checkov import scan, skipped_checks
from deploy.review.render import UNKNOWN_RUN, RunInfo, render_review
from deploy.secrets import redact_json, redact_text, secrets_in_plan, secrets_in_state


def run_plan(stack_dir: Path, out_dir: Path, *, lock: bool = True, replace: list[str] = (),
             run: RunInfo = UNKNOWN_RUN) -> int:
    """Plans the synthesized stack in `stack_dir` (`replace`: addresses to plan replacing) and
    writes the files above into `out_dir`. Returns 1 when checkov reports a finding that
    .checkov.yaml does not skip (the review is written first), else 0; raises
    subprocess.CalledProcessError when terraform fails."""
    out_dir = private_directory(out_dir).resolve()
    plan_bin = out_dir / "plan.bin"
    terraform = ["terraform", f"-chdir={stack_dir}"]
    _stream(terraform + ["init", "-input=false", "-reconfigure", "-no-color"], secrets=set())
    # The state's secrets are known before the plan prints anything: a plan that replaces
    # the usage plan key prints the API key's value.
    secrets = secrets_in_state(json.loads(_output(terraform + ["state", "pull"], set()) or "{}"))
    _stream(terraform + ["plan", "-input=false", "-no-color", f"-out={plan_bin}"]
            + ([] if lock else ["-lock=false"]) + [f"-replace={address}" for address in replace], secrets)
    make_private(plan_bin)
    plan = json.loads(_output(terraform + ["show", "-json", str(plan_bin)], secrets))
    secrets |= secrets_in_plan(plan)
    plan_text = redact_text(_output(terraform + ["show", "-no-color", str(plan_bin)], secrets), secrets)

    plan_json = write_private(out_dir / "plan.json", json.dumps(redact_json(plan, secrets)))
    write_private(out_dir / "plan.txt", plan_text)
    security, raw = scan(plan_json, "terraform_plan")
    if raw is not None:
        write_private(out_dir / "checkov.json", json.dumps(redact_json(raw, secrets), indent=1))
    review = render_review(plan, f"`{stack_dir.name}`", run=run, security=security, skipped=skipped_checks(),
                           plan_text=plan_text)
    write_private(out_dir / "review.md", review)
    print(review)
    print(f"wrote plan.bin, plan.json, plan.txt, checkov.json and review.md in {out_dir}", file=sys.stderr)
    return 1 if security.failed or security.error else 0


def _stream(command: list[str], secrets: set[str]) -> None:
    """Runs a terraform command, printing its output (errors included) as it comes, redacted."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            print(redact_text(line, secrets), end="", flush=True)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)


def _output(command: list[str], secrets: set[str]) -> str:
    """Runs a terraform command and returns its output; on failure prints its errors, redacted."""
    run = subprocess.run(command, check=False, capture_output=True, text=True)
    if run.returncode:
        print(redact_text(run.stderr, secrets), file=sys.stderr)
        raise subprocess.CalledProcessError(run.returncode, command)
    return run.stdout
