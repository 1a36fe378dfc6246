"""GitHubOidcProvider: the account's identity provider for GitHub Actions tokens, created once
per account by the account stack, or the one another tool already created."""

from constructs import Construct

from stacks.aws import data_aws_iam_openid_connect_provider, iam_openid_connect_provider

from .config import GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST, GitHubConfig


class GitHubOidcProvider(Construct):
    """Exposes `arn`."""

    def __init__(self, scope: Construct, id: str, github: GitHubConfig):
        super().__init__(scope, id)
        url = f"https://{GITHUB_OIDC_HOST}"
        if github.create_oidc_provider:
            # No thumbprints: for GitHub, IAM checks the certificate against its own trusted CAs.
            created = iam_openid_connect_provider.IamOpenidConnectProvider(
                self, "provider", url=url, client_id_list=[GITHUB_OIDC_AUDIENCE]
            )
            self.arn = created.arn
        else:
            # Fails the plan, naming the provider, when the account has none.
            self.arn = data_aws_iam_openid_connect_provider.DataAwsIamOpenidConnectProvider(
                self, "existing", arn=github.oidc_provider_arn
            ).arn
