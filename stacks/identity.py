"""ReviewerIdentity: the Cognito user pool reviewers sign in to, and the storefront's app client.

The API's writes are authorized by API Gateway's Cognito authorizer (stacks/openapi.py) with
the ID tokens this pool issues; the reviewer is the token's subject and the name shown with a
review is the pool's display-name attribute (handlers/reviews/contract.py).
"""

from constructs import Construct

from handlers.reviews import contract

from .aws import cognito_user_pool, cognito_user_pool_client
from .config import IdentityConfig

# The storefront is a browser page: it cannot keep a client secret, and it signs in with SRP
# (the password never leaves the browser) and stays signed in with the refresh token.
BROWSER_AUTH_FLOWS = ("ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
PASSWORD_AUTH_FLOW = "ALLOW_USER_PASSWORD_AUTH"
SIGN_IN_ATTRIBUTE = "email"


class ReviewerIdentity(Construct):
    """Exposes `user_pool_id`, `user_pool_arn`, `client_id` and `issuer` (the `iss` claim of
    the pool's tokens)."""

    def __init__(self, scope: Construct, id: str, config: IdentityConfig):
        super().__init__(scope, id)
        pool = cognito_user_pool.CognitoUserPool(
            self,
            "user_pool",
            name=config.user_pool_name,
            # Reviewers sign in with an e-mail address Cognito verifies; it is never shown.
            username_attributes=[SIGN_IN_ATTRIBUTE],
            auto_verified_attributes=[SIGN_IN_ATTRIBUTE],
            username_configuration=cognito_user_pool.CognitoUserPoolUsernameConfiguration(case_sensitive=False),
            # A changed address counts only once verified: until then the old one signs in.
            user_attribute_update_settings=cognito_user_pool.CognitoUserPoolUserAttributeUpdateSettings(
                attributes_require_verification_before_update=[SIGN_IN_ATTRIBUTE]
            ),
            account_recovery_setting=cognito_user_pool.CognitoUserPoolAccountRecoverySetting(
                recovery_mechanism=[
                    cognito_user_pool.CognitoUserPoolAccountRecoverySettingRecoveryMechanism(
                        name="verified_email", priority=1
                    )
                ]
            ),
            # Customers register themselves, as on any storefront.
            admin_create_user_config=cognito_user_pool.CognitoUserPoolAdminCreateUserConfig(
                allow_admin_create_user_only=False
            ),
            schema=[display_name_attribute()],
            password_policy=password_policy(config),
            deletion_protection="ACTIVE" if config.deletion_protection else "INACTIVE",
        )
        client = cognito_user_pool_client.CognitoUserPoolClient(
            self,
            "storefront_client",
            name=config.client_name,
            user_pool_id=pool.id,
            generate_secret=False,
            explicit_auth_flows=[*BROWSER_AUTH_FLOWS, *([PASSWORD_AUTH_FLOW] if config.user_password_auth else [])],
            supported_identity_providers=["COGNITO"],
            # "Incorrect username or password" whether or not the account exists.
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            # The ID token carries what the client may read: the display name, not the address.
            read_attributes=[contract.DISPLAY_NAME_ATTRIBUTE],
            write_attributes=[SIGN_IN_ATTRIBUTE, contract.DISPLAY_NAME_ATTRIBUTE],
            id_token_validity=config.id_token_minutes,
            access_token_validity=config.access_token_minutes,
            refresh_token_validity=config.refresh_token_days,
            token_validity_units=[
                cognito_user_pool_client.CognitoUserPoolClientTokenValidityUnits(
                    id_token="minutes", access_token="minutes", refresh_token="days"
                )
            ],
        )
        self.user_pool_id = pool.id
        self.user_pool_arn = pool.arn
        self.client_id = client.id
        self.issuer = f"https://{pool.endpoint}"


def display_name_attribute() -> cognito_user_pool.CognitoUserPoolSchema:
    """The name listings show, required at sign-up. A standard attribute: Cognito cannot make a
    custom attribute required, and the schema cannot change once the pool exists."""
    return cognito_user_pool.CognitoUserPoolSchema(
        name=contract.DISPLAY_NAME_ATTRIBUTE,
        attribute_data_type="String",
        required=True,
        mutable=True,
        string_attribute_constraints=cognito_user_pool.CognitoUserPoolSchemaStringAttributeConstraints(
            min_length="1", max_length=str(contract.DISPLAY_NAME_MAX_CHARS)
        ),
    )


def password_policy(config: IdentityConfig) -> cognito_user_pool.CognitoUserPoolPasswordPolicy:
    required = set(config.password_characters)
    return cognito_user_pool.CognitoUserPoolPasswordPolicy(
        minimum_length=config.password_min_length,
        require_lowercase="lowercase" in required,
        require_uppercase="uppercase" in required,
        require_numbers="numbers" in required,
        require_symbols="symbols" in required,
        temporary_password_validity_days=7,
    )
