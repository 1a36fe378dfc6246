"""Who may assume an environment's CI roles: trust policies for GitHub's OIDC tokens.

**No pull request reaches a deploy role.** The deploy role trusts a token only when every one
of these claims says so (AWS STS checks each as a condition key of AssumeRoleWithWebIdentity):

- `repository`: this repository;
- `environment`: the job runs in the environment's GitHub environment, whose required
  reviewers approve it (a job that names no environment has no such claim, and is refused);
- `ref`: the run is of `refs/heads/main` (a pull request's is `refs/pull/<n>/merge`, a branch
  push's `refs/heads/<branch>`);
- `job_workflow_ref`: the job is defined in the deploy workflow file, as it is on main
  (`<owner>/<repo>/.github/workflows/deploy-environment.yml@refs/heads/main`: the apply job is
  a job of that reusable workflow, which GitHub names in this claim);
- `sub`, the claim GitHub's and AWS's guides build trust on (and that scanners look for):
  the repository and the environment again, in the name-only form and in the form with the
  owner's and repository's numeric ids that repositories created from 15 July 2026 (or opted
  in) emit.

Sources: GitHub's OIDC reference (claims, default `sub` formats, immutable subjects):
https://docs.github.com/en/actions/reference/security/oidc; the condition keys AWS STS
supports for GitHub since January 2026 (`token.actions.githubusercontent.com:environment`,
`:ref`, `:repository`, `:job_workflow_ref`, ...):
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html
and https://aws.amazon.com/about-aws/whats-new/2026/01/aws-sts-supports-validation-identity-provider-claims/.
No customization of the repository's `sub` claim is needed.

The plan role is read-only, and pull requests, the deploy's plan jobs and the drift check
assume it: its trust policy accepts this repository's pull-request jobs and its jobs on main
that name no environment.
"""

from .config import GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST, GitHubConfig

DEPLOY_WORKFLOW = ".github/workflows/deploy-environment.yml"  # the only workflow that applies
MAIN = "refs/heads/main"


def claim(name: str) -> str:
    """The condition key of a GitHub token claim."""
    return f"{GITHUB_OIDC_HOST}:{name}"


def subjects(repository: str, context: str) -> list[str]:
    """The `sub` of a job of `repository` in `context` (`pull_request`, `environment:dev`, ...),
    name-only and with the numeric ids GitHub's immutable subjects add (`owner@123/repo@456`)."""
    owner, name = repository.split("/")
    return [f"repo:{repository}:{context}", f"repo:{owner}@*/{name}@*:{context}"]


def deploy_role_trust(github: GitHubConfig, environment: str) -> dict[str, object]:
    """Only the deploy workflow's job on main, in the environment's protected GitHub environment."""
    return _trust(
        github,
        equals={
            claim("repository"): github.repository,
            claim("environment"): environment,
            claim("ref"): MAIN,
            claim("job_workflow_ref"): f"{github.repository}/{DEPLOY_WORKFLOW}@{MAIN}",
        },
        subjects=subjects(github.repository, f"environment:{environment}"),
    )


def plan_role_trust(github: GitHubConfig) -> dict[str, object]:
    """This repository's pull-request jobs, and its jobs on main that name no environment
    (the deploy's plan jobs, the drift check)."""
    return _trust(
        github,
        equals={claim("repository"): github.repository},
        subjects=subjects(github.repository, "pull_request") + subjects(github.repository, f"ref:{MAIN}"),
    )


def _trust(github: GitHubConfig, *, equals: dict[str, str], subjects: list[str]) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": github.oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {claim("aud"): GITHUB_OIDC_AUDIENCE, **equals},
                    "StringLike": {claim("sub"): subjects},
                },
            }
        ],
    }
