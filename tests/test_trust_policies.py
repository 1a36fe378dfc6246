"""No pull request reaches a deploy role: the synthesized trust policies of an environment's CI
roles (stacks/bootstrap/trust.py), evaluated against the tokens GitHub Actions really issues.

The evaluation follows AWS's rules for AssumeRoleWithWebIdentity:
- only the claims AWS STS exposes as condition keys can be checked
  (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html:
  `aud`, `sub` and, for GitHub, `actor`, `actor_id`, `enterprise_id`, `environment`,
  `job_workflow_ref`, `ref`, `repository`, `repository_id`, `repository_owner_id`, `workflow`);
- every operator of a Condition must hold, and every key in it; a key with several values
  holds when one of them matches; a key the request lacks makes StringEquals and StringLike
  false (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html);
- StringLike's `*` matches any run of characters, `?` one; an explicit Deny wins.

The tokens are shaped as GitHub documents them
(https://docs.github.com/en/actions/reference/security/oidc): the default `sub` of a job in an
environment is `repo:OWNER/REPO:environment:NAME`, of a pull request `repo:OWNER/REPO:pull_request`,
of any other job `repo:OWNER/REPO:ref:REF`; `job_workflow_ref` names the workflow file defining
the job and the ref it was read at.
"""

import json
import re

import pytest

from stacks.bootstrap.config import GITHUB_OIDC_HOST
from stacks.bootstrap.trust import DEPLOY_WORKFLOW

REPOSITORY = "example/product-reviews"  # tests/conftest.py AWS_SETTINGS
ACCOUNT = "111122223333"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}"
GITHUB_CONDITION_KEYS = {
    "aud",
    "sub",
    "actor",
    "actor_id",
    "enterprise_id",
    "environment",
    "job_workflow_ref",
    "ref",
    "repository",
    "repository_id",
    "repository_owner_id",
    "workflow",
}


def string_like(value: str, pattern: str) -> bool:
    """IAM's StringLike: `*` is any run of characters, `?` any one, everything else itself."""
    regex = "".join({"*": ".*", "?": "."}.get(char, re.escape(char)) for char in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


OPERATORS = {"StringEquals": lambda value, pattern: value == pattern, "StringLike": string_like}


def token(*, environment: str | None = None, ref: str, workflow: str, event: str = "push", **claims: str) -> dict:
    """The claims of a GitHub Actions OIDC token for a job of REPOSITORY (unless overridden)."""
    repository = claims.pop("repository", REPOSITORY)
    if environment:
        context = f"environment:{environment}"
    elif event == "pull_request":
        context = "pull_request"
    else:
        context = f"ref:{ref}"
    return {
        "iss": f"https://{GITHUB_OIDC_HOST}",
        "aud": "sts.amazonaws.com",
        "sub": f"repo:{repository}:{context}",
        "repository": repository,
        "repository_owner": repository.split("/")[0],
        "ref": ref,
        "event_name": event,
        "workflow_ref": f"{repository}/{workflow}@{ref}",
        "job_workflow_ref": f"{repository}/{workflow}@{ref}",
        "actor": "mallory",
        **({"environment": environment} if environment else {}),
        **claims,
    }


def assumes(trust_policy: dict, claims: dict) -> bool:
    """Whether AssumeRoleWithWebIdentity with this token succeeds against `trust_policy`."""
    context = {f"{GITHUB_OIDC_HOST}:{name}": value for name, value in claims.items() if name in GITHUB_CONDITION_KEYS}
    matching = [statement for statement in trust_policy["Statement"] if _applies(statement, context)]
    return any(s["Effect"] == "Allow" for s in matching) and not any(s["Effect"] == "Deny" for s in matching)


def _applies(statement: dict, context: dict[str, str]) -> bool:
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    if statement["Principal"] != {"Federated": PROVIDER} or "sts:AssumeRoleWithWebIdentity" not in actions:
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            patterns = expected if isinstance(expected, list) else [expected]
            if key not in context or not any(OPERATORS[operator](context[key], p) for p in patterns):
                return False
    return True


@pytest.fixture(scope="module")
def trust(bootstrap_synth):
    """role name -> its synthesized trust policy, for the environments dev and prod."""
    policies = {}
    for environment in ("dev", "prod"):
        [stack] = [s for name, s in bootstrap_synth(ENVIRONMENT_SUFFIX=environment).items() if "account" not in name]
        for role in stack["resource"]["aws_iam_role"].values():
            policies[role["name"]] = json.loads(role["assume_role_policy"])
    return policies


DEPLOY_ON_MAIN = {"ref": "refs/heads/main", "workflow": DEPLOY_WORKFLOW}
DEPLOY_DEV = token(environment="dev", **DEPLOY_ON_MAIN)
PULL_REQUEST = token(ref="refs/pull/7/merge", workflow=".github/workflows/pull-request.yml", event="pull_request")
REFUSED_BY_THE_DEPLOY_ROLE = {
    "a pull request": PULL_REQUEST,
    "a pull request whose job names the environment": token(
        environment="dev", ref="refs/pull/7/merge", workflow=".github/workflows/pull-request.yml", event="pull_request"
    ),
    "a pull request that calls the deploy workflow": token(
        environment="dev", ref="refs/pull/7/merge", workflow=DEPLOY_WORKFLOW, event="pull_request"
    ),
    "a push to another branch running the deploy workflow": token(
        environment="dev", ref="refs/heads/alice/hotfix", workflow=DEPLOY_WORKFLOW
    ),
    "a tag running the deploy workflow": token(environment="dev", ref="refs/tags/v9", workflow=DEPLOY_WORKFLOW),
    "another workflow on main in the environment": token(
        environment="dev", ref="refs/heads/main", workflow=".github/workflows/sneaky.yml"
    ),
    "the deploy workflow on main outside any environment": token(**DEPLOY_ON_MAIN),
    "the deploy workflow on main in another environment": token(environment="prod", **DEPLOY_ON_MAIN),
    "another repository's deploy workflow on main": token(
        environment="dev", repository="mallory/product-reviews", **DEPLOY_ON_MAIN
    ),
    "a token for another audience": {**DEPLOY_DEV, "aud": "https://github.com/example"},
}


def test_the_deploy_workflow_on_main_in_its_environment_assumes_the_deploy_role(trust):
    assert assumes(trust["ProductReviews-dev-deploy"], DEPLOY_DEV)
    assert assumes(trust["ProductReviews-prod-deploy"], token(environment="prod", **DEPLOY_ON_MAIN))


def test_a_repository_with_immutable_subjects_still_assumes_the_deploy_role(trust):
    # Repositories created from 15 July 2026 put the owner's and repository's ids in `sub`.
    immutable = {**DEPLOY_DEV, "sub": "repo:example@4711/product-reviews@815:environment:dev"}
    assert assumes(trust["ProductReviews-dev-deploy"], immutable)
    assert not assumes(
        trust["ProductReviews-dev-deploy"], {**immutable, "sub": "repo:example@4711/other@9:environment:dev"}
    )


@pytest.mark.parametrize("case", sorted(REFUSED_BY_THE_DEPLOY_ROLE))
def test_the_deploy_role_refuses(trust, case):
    assert not assumes(trust["ProductReviews-dev-deploy"], REFUSED_BY_THE_DEPLOY_ROLE[case])


def test_pull_requests_the_deploys_plan_jobs_and_drift_checks_assume_the_plan_role(trust):
    plan_role = trust["ProductReviews-dev-plan"]
    assert assumes(plan_role, PULL_REQUEST)
    assert assumes(plan_role, token(**DEPLOY_ON_MAIN))  # the plan job of deploy-environment.yml
    assert assumes(plan_role, token(ref="refs/heads/main", workflow=".github/workflows/drift.yml", event="schedule"))


def test_the_plan_role_refuses_other_repositories_and_branches(trust):
    plan_role = trust["ProductReviews-dev-plan"]
    assert not assumes(
        plan_role,
        {**PULL_REQUEST, "repository": "mallory/product-reviews", "sub": "repo:mallory/product-reviews:pull_request"},
    )
    assert not assumes(plan_role, token(ref="refs/heads/alice/hotfix", workflow=".github/workflows/drift.yml"))
    assert not assumes(plan_role, DEPLOY_DEV)  # the apply job never needs it


def test_trust_policies_check_only_keys_aws_sts_knows_with_operators_that_fail_closed(trust):
    """A condition on a key STS does not know, or a ForAllValues operator, would hold (or
    refuse) for the wrong reason."""
    for policy in trust.values():
        for statement in policy["Statement"]:
            for operator, keys in statement["Condition"].items():
                assert operator in OPERATORS
                assert {key.removeprefix(f"{GITHUB_OIDC_HOST}:") for key in keys} <= GITHUB_CONDITION_KEYS
