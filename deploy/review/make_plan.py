"""What `make plan` and the CI plan and drift jobs run in an initialized stack: terraform plan
and show, the security scan and the review.

Everything it prints or writes has the secrets of the state and the plan redacted. It
writes into one directory (0700), every file 0600:

- plan.bin: the binary plan, for `terraform apply plan.bin`. It embeds the prior state,
  every secret in clear, and cannot be redacted: handle it like the state itself. Never
  publish it; CI passes it on only as the artifact the apply job needs.
- plan.json: `terraform show -json`, redacted (checkov scans this file);
- plan.txt: `terraform show -no-color`, redacted;
- checkov.json: checkov's results (not written when the scan is skipped);
- review.md: the review, also printed.

Terraform's plan output is printed as it comes and logged to plan.log in the stack's log
directory (redacted too).
"""

import json
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from deploy.private_files import make_private, private_directory, write_private
from deploy.review.checkov import Scan, Scanner, skipped_checks, warm_scan
from deploy.review.render import UNKNOWN_RUN, RunInfo, render_review
from deploy.secrets import redact_json, redact_text, secrets_in_plan
from deploy.terraform import NON_INTERACTIVE, Stack, TerraformFailed
from stacks.provider_version import pin_of


@dataclass(frozen=True)
class Planned:
    """What a plan found."""

    has_changes: bool  # Terraform would change something (plan -detailed-exitcode exited 2)
    security: Scan | None  # checkov's findings; None when the scan was skipped

    @property
    def security_failed(self) -> bool:
        """checkov reported a finding that .checkov.yaml does not skip, or could not run."""
        return bool(self.security and (self.security.failed or self.security.error))


def run_plan(
    stack: Stack,
    out_dir: Path,
    *,
    lock: bool = True,
    replace: Sequence[str] = (),
    refresh: bool = True,
    run: RunInfo = UNKNOWN_RUN,
    scan_security: bool = True,
    notes: Sequence[str] = (),
) -> Planned:
    """Plans the initialized `stack` (`replace`: addresses to plan replacing; refresh=False:
    plan from the state as it is), prints Terraform's output and the review (with `notes`,
    Markdown lines about what the plan cannot show), and writes the files above into
    `out_dir`. Raises TerraformFailed when terraform fails."""
    out_dir = private_directory(out_dir).resolve()
    plan_bin = out_dir / "plan.bin"
    # checkov starts now and imports itself (most of a scan's time) while Terraform plans.
    with warm_scan("terraform_plan") if scan_security else nullcontext(None) as scanner:
        # The state's secrets are known before the plan prints anything: a plan that replaces
        # the usage plan key prints the API key's value.
        secrets = stack.state_secrets()
        has_changes = stack.redacting(secrets).plan_has_changes(
            *NON_INTERACTIVE,
            f"-out={plan_bin}",
            *([] if lock else ["-lock=false"]),
            *([] if refresh else ["-refresh=false"]),
            *[f"-replace={address}" for address in replace],
            log_name="plan",
            echo=print,
        )
        make_private(plan_bin)
        shown = _show_and_scan(stack, plan_bin, secrets, scanner)
    plan, plan_text, security, secrets = shown.plan, shown.text, shown.security, shown.secrets
    write_private(out_dir / "plan.txt", plan_text)
    if shown.raw is not None:
        write_private(out_dir / "checkov.json", json.dumps(redact_json(shown.raw, secrets), indent=1))
    review = render_review(
        plan,
        f"`{stack.name}`",
        run=run,
        security=security,
        skipped=skipped_checks() if security else None,
        plan_text=plan_text,
        notes=[*notes, *pin_notes(stack.directory)],
    )
    write_private(out_dir / "review.md", review)
    print(review)
    print(
        f"wrote plan.bin, plan.json, plan.txt{', checkov.json' if security else ''} and review.md in {out_dir}",
        file=sys.stderr,
    )
    return Planned(has_changes, security)


@dataclass
class _Shown:
    """What `terraform show` and checkov made of plan.bin."""

    plan: dict  # the plan JSON, unredacted
    text: str  # the plan's text, redacted
    secrets: set[str]  # the state's and the plan's
    security: Scan | None = None
    raw: object = None  # checkov's JSON


def _show_and_scan(stack: Stack, plan_bin: Path, secrets: set[str], scanner: Scanner | None) -> _Shown:
    """plan.json written beside plan.bin and scanned; the plan's text rendered meanwhile, and
    redacted once the plan's own secrets are known too."""
    with ThreadPoolExecutor(max_workers=1) as background:
        rendering = background.submit(stack.redacting(()).run, "show", "-no-color", str(plan_bin))
        with _failure_redacted(secrets):
            plan = json.loads(stack.redacting(()).run("show", "-json", str(plan_bin)))
        secrets = secrets | secrets_in_plan(plan)
        plan_json = write_private(plan_bin.parent / "plan.json", json.dumps(redact_json(plan, secrets)))
        security, raw = scanner(plan_json) if scanner else (None, None)
        with _failure_redacted(secrets):
            text = redact_text(rendering.result(), secrets)
    return _Shown(plan, text, secrets, security, raw)


@contextmanager
def _failure_redacted(secrets: set[str]) -> Iterator[None]:
    """A failed `terraform show` says why with the secrets redacted. (Its output itself is read
    unredacted: the review must see secrets change to say so, and redacts them itself.)"""
    try:
        yield
    except TerraformFailed as failed:
        raise TerraformFailed(failed.command, failed.returncode, redact_text(failed.output, secrets)) from None


def pin_notes(directory: Path) -> list[str]:
    """The review's note that synth pinned the AWS provider (stacks/provider_version.py), if it did."""
    pin = pin_of(directory)
    return ["> [!NOTE]", f"> {pin}"] if pin else []
