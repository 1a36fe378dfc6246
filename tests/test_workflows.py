"""What the GitHub Actions workflows promise, read from their YAML (docs/ci.md): they select an
environment and a target only, cover every committed environment, promote dev -> staging ->
prod, apply only reviewed plans, find the review comments the review writes, and give each
job only the permissions it needs. actionlint runs in tests/test_security_scan.py."""

import re
from pathlib import Path

import pytest
import yaml

from deploy import sealed_plan
from deploy.review import render
from stacks.bootstrap import trust

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GITHUB = PROJECT_ROOT / ".github"
WORKFLOWS = {path.name: yaml.safe_load(path.read_text()) for path in (GITHUB / "workflows").glob("*.yml")}
TEXTS = {path.name: path.read_text() for path in GITHUB.rglob("*.yml")}
COMMITTED_ENVIRONMENTS = sorted(path.stem for path in (PROJECT_ROOT / "environments").glob("*.json"))
# All a job may say about what to deploy: which environment, on which target.
SELECTION = {"ENVIRONMENT_SUFFIX", "REVIEWS_TARGET"}


def run_scripts():
    """Every `run:` script of the workflows and the local actions."""
    for path in GITHUB.rglob("*.yml"):
        for step in mappings_with(yaml.safe_load(path.read_text()), "run"):
            yield step["run"]


def mappings_with(node, key: str):
    """Every mapping that has `key`, anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        if key in node:
            yield node
        for value in node.values():
            yield from mappings_with(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from mappings_with(item, key)


def jobs(workflow: str) -> dict:
    return WORKFLOWS[workflow]["jobs"]


def matrix_environments(workflow: str, job: str) -> list[str]:
    return sorted(entry["environment"] for entry in jobs(workflow)[job]["strategy"]["matrix"]["include"])


def test_jobs_select_an_environment_and_a_target_and_set_no_other_setting():
    """Settings come from environments/<name>.json alone, so that a pull request's plan, the
    deploy's plan and the drift check synthesize the same configuration, whoever runs them."""
    for name, workflow in WORKFLOWS.items():
        for holder in mappings_with(workflow, "env"):
            env = set(holder["env"])
            settings = {name for name in env if name.startswith("REVIEWS_") or name == "ENVIRONMENT_SUFFIX"}
            assert settings <= SELECTION, f"{name} sets {settings - SELECTION}"
            assert not {"COMMIT_AUTHOR", "REPOSITORY"} & env, name
    for script in run_scripts():
        assigned = set(re.findall(r"\b(REVIEWS_\w+|ENVIRONMENT_SUFFIX)=", script))
        assert not assigned - SELECTION, f"a script assigns {assigned - SELECTION}: {script}"


def test_every_committed_environment_is_planned_promoted_and_checked_for_drift():
    assert COMMITTED_ENVIRONMENTS == ["dev", "prod", "staging"]
    assert matrix_environments("pull-request.yml", "plan") == COMMITTED_ENVIRONMENTS
    assert matrix_environments("drift.yml", "check") == COMMITTED_ENVIRONMENTS
    # deploy.yml: one job per environment, each after the one before, the first after the tests.
    promotion, previous = [], "test"
    deploy_jobs = jobs("deploy.yml")
    while next_job := next((name for name, job in deploy_jobs.items() if job.get("needs") == previous), None):
        assert deploy_jobs[next_job]["uses"] == "./.github/workflows/deploy-environment.yml"
        assert deploy_jobs[next_job]["with"]["environment"] == next_job
        if previous != "test":  # and only once the one before applied its plan
            assert deploy_jobs[next_job]["if"] == f"needs.{previous}.outputs.applied == 'true'"
        promotion.append(next_job)
        previous = next_job
    assert promotion == ["dev", "staging", "prod"]


def test_pull_requests_run_the_tests_on_both_frameworks():
    """CDKTF, the default, gets the whole suite; CDK Terrain its leg (docs/framework.md)."""
    test = jobs("pull-request.yml")["test"]
    legs = {leg["framework"]: leg["target"] for leg in test["strategy"]["matrix"]["include"]}
    assert legs == {"cdktf": "test", "cdktn": "test-cdktn"}
    assert [step["run"] for step in test["steps"] if "run" in step][-1] == "make ${{ matrix.target }}"
    assert re.search(r"^test-cdktn:", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE)


def test_deploys_apply_only_the_reviewed_plan_sealed_in_the_protected_environment():
    environment_jobs = jobs("deploy-environment.yml")
    apply = environment_jobs["apply"]
    assert apply["needs"] == "plan" and apply["environment"] == "${{ inputs.environment }}"
    steps = apply["steps"]
    download = next(step for step in steps if step.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["name"] == "plan-${{ inputs.environment }}"
    [applying] = [step["run"] for step in steps if "deploy apply" in step.get("run", "")]
    assert applying == '.venv/bin/python -m deploy apply --plan "build/plan/$ENVIRONMENT_SUFFIX/plan.sealed"'
    plan_steps = environment_jobs["plan"]["steps"]
    [sealing] = [step for step in plan_steps if "deploy seal" in step.get("run", "")]
    assert sealing["run"] == '.venv/bin/python -m deploy seal --plan "build/plan/$ENVIRONMENT_SUFFIX/plan.bin"'
    upload = next(step for step in plan_steps if step.get("uses", "").startswith("actions/upload-artifact@"))
    # Only the sealed plan, kept as long as a plan may wait for approval (the setting, via seal).
    assert upload["with"]["path"] == f"build/plan/${{{{ inputs.environment }}}}/{sealed_plan.SEALED_FILE}"
    assert upload["with"]["retention-days"] == f"${{{{ steps.{sealing['id']}.outputs.retention-days }}}}"
    for script in run_scripts():  # nothing plans again and applies what nobody reviewed
        assert not re.search(r"-auto-approve|cdktf deploy|terraform\S* apply", script), script


def test_only_the_deploy_workflow_file_runs_jobs_in_a_github_environment():
    """The deploy roles trust the apply job of this one file, on main, in the environment
    (stacks/bootstrap/trust.py): it must be where the apply job is."""
    in_environments = {
        (name, job_name)
        for name, workflow in WORKFLOWS.items()
        for job_name, job in workflow["jobs"].items()
        if "environment" in job
    }
    assert in_environments == {(Path(trust.DEPLOY_WORKFLOW).name, "apply")}
    assert WORKFLOWS["deploy.yml"][True] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}  # `on:`


def test_published_artifacts_never_hold_the_plan_in_clear():
    """plan.bin holds the state in clear; plan.json and plan.txt are the plan itself."""
    clear = ("plan.bin", "plan-record.json", "plan.json", "plan.txt")
    for name, workflow in WORKFLOWS.items():
        for step in (step for job in workflow["jobs"].values() for step in job.get("steps", [])):
            if step.get("uses", "").startswith("actions/upload-artifact@"):
                assert not any(path.endswith(clear) for path in step["with"]["path"].splitlines()), name


@pytest.mark.parametrize("environment", COMMITTED_ENVIRONMENTS)
def test_the_comment_script_finds_each_environments_review_by_its_marker(environment):
    [pattern] = re.findall(r"const marker = /(.+)/;", TEXTS["pull-request.yml"])
    found = re.match(pattern, render.render_review({}, "x", run=render.RunInfo(environment=environment)))
    assert found and found[1] == environment


def test_only_jobs_without_cloud_credentials_may_write_to_github():
    for name, workflow in WORKFLOWS.items():
        assert workflow["permissions"] == {"contents": "read"}, name
        for job_name, job in workflow["jobs"].items():
            permissions = job.get("permissions", {})
            writes = {scope for scope, access in permissions.items() if access == "write"}
            assert not ("id-token" in writes and writes - {"id-token"}), f"{name} {job_name}: {writes}"


def test_actions_are_pinned_to_exact_release_tags():
    for name, text in TEXTS.items():
        for action in re.findall(r"uses:\s*(\S+)", text):
            assert action.startswith("./") or re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", action), (name, action)
