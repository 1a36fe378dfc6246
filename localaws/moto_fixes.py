"""Fixes for moto 5.2.5: operations it lacks that the Terraform AWS provider calls, and
behaviour that differs from AWS in ways the project depends on.

`apply()` runs inside the emulator process, before moto serves a request.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from moto.apigateway.models import APIGatewayBackend, Authorizer
from moto.apigateway.utils import create_id
from moto.awslambda import urls as lambda_urls
from moto.awslambda.responses import LambdaResponse
from moto.core.responses import BaseResponse
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.responses import DynamoHandler
from moto.iam.models import IAMBackend
from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.models import SNSBackend, Subscription, sns_backends
from moto.utilities.utils import DEFAULT_PARTITION

from localaws import moto_cognito_fixes

if TYPE_CHECKING:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

# The account's concurrent-executions limit; moto's PutFunctionConcurrency enforces the same
# variable. 1,000 is Lambda's default quota per Region (a new account's can be far lower).
LAMBDA_CONCURRENCY_LIMIT = "MOTO_LAMBDA_CONCURRENCY_QUOTA"
DEFAULT_LAMBDA_CONCURRENCY_LIMIT = "1000"
# What SNS lists as the SubscriptionArn of a subscription waiting for confirmation.
PENDING_CONFIRMATION = "PendingConfirmation"
# Protocols whose subscriptions wait for a person to follow the link SNS sends.
CONFIRMED_BY_HAND = ("email", "email-json")


def _tags(response: ApplicationAutoScalingResponse) -> dict[str, dict[str, str]]:
    """ARN -> {key: value}, kept on the account's and region's backend (so it is saved with it)."""
    backend = response.applicationautoscaling_backend
    if not hasattr(backend, "localaws_tags"):
        backend.localaws_tags = {}  # type: ignore[attr-defined]  # an attribute moto lacks
    return backend.localaws_tags  # type: ignore[attr-defined]  # an attribute moto lacks


def _list_tags_for_resource(self: ApplicationAutoScalingResponse) -> str:
    arn = self._get_param("ResourceARN")
    return json.dumps({"Tags": _tags(self).get(arn, {})})


def _tag_resource(self: ApplicationAutoScalingResponse) -> str:
    arn = self._get_param("ResourceARN")
    _tags(self).setdefault(arn, {}).update(self._get_param("Tags") or {})
    return "{}"


def _untag_resource(self: ApplicationAutoScalingResponse) -> str:
    tags = _tags(self).get(self._get_param("ResourceARN"), {})
    for key in self._get_param("TagKeys") or []:
        tags.pop(key, None)
    return "{}"


# Missing in moto: aws_appautoscaling_target reads tags after create and the provider retries
# the HTTP 500 for 20+ minutes. moto dispatches on the X-Amz-Target operation name, so adding
# the snake_case methods is enough.
_MISSING_APPAUTOSCALING_OPERATIONS = {
    "list_tags_for_resource": _list_tags_for_resource,
    "tag_resource": _tag_resource,
    "untag_resource": _untag_resource,
}


@contextmanager
def _region_lookups_sharing_one_session() -> Iterator[None]:
    """moto.ec2 builds its region tables on import from three new boto3 sessions, and each
    parses ec2's whole API model (0.1-0.25 s) to find ec2's regions; in the block they share one
    session, which parses it once. moto.applicationautoscaling imports moto.ec2 (through ECS)."""
    shared = boto3.Session()
    lookup = boto3.session.Session.get_available_regions

    def get_available_regions(
        self: boto3.Session, service_name: str, partition_name: str = "aws", allow_non_regional: bool = False
    ) -> list[str]:
        return lookup(shared, service_name, partition_name, allow_non_regional)

    boto3.session.Session.get_available_regions = get_available_regions  # type: ignore[method-assign]  # see above
    try:
        yield
    finally:
        boto3.session.Session.get_available_regions = lookup  # type: ignore[method-assign]  # see above


def _application_autoscaling_response() -> type[ApplicationAutoScalingResponse]:
    with _region_lookups_sharing_one_session():
        from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    return ApplicationAutoScalingResponse


def _add_appautoscaling_tags(response_class: type[ApplicationAutoScalingResponse]) -> None:
    for name, operation in _MISSING_APPAUTOSCALING_OPERATIONS.items():
        setattr(response_class, name, operation)  # methods the class does not declare
    _patch_register_scalable_target(response_class)


def _patch_register_scalable_target(response_class: type[ApplicationAutoScalingResponse]) -> None:
    """RegisterScalableTarget accepts Tags, but moto drops them: keep them for ListTags."""
    original = response_class.register_scalable_target

    def register_scalable_target(self: ApplicationAutoScalingResponse) -> str:
        response = original(self)
        if self._get_param("Tags"):
            arn = json.loads(response)["ScalableTargetARN"]
            _tags(self).setdefault(arn, {}).update(self._get_param("Tags"))
        return response

    response_class.register_scalable_target = register_scalable_target  # type: ignore[method-assign]  # a monkeypatch


def _serialize_dynamodb_requests() -> None:
    """One DynamoDB request at a time in the emulator process.

    What moto 5.2.5 does wrong: moto server runs each request in its own thread, and its
    DynamoDB backend has no locks. TransactWriteItems deep-copies every table it touches,
    applies the items one by one and, when one condition fails, puts the copies back. Two
    transactions at once therefore undo each other's acknowledged writes (the restored copy
    predates the other write) or both pass a condition meant to let only one through.
    A conditional PutItem or UpdateItem has the same check-then-write gap.

    What real DynamoDB guarantees: each item write is atomic and conditions are checked
    atomically with it; a transaction is all-or-nothing and isolated (serializable) from
    other transactions and from single-item writes; a read never sees part of a
    transaction. Conflicts cancel a transaction (TransactionConflict); nothing is lost.

    What we do: hold one lock for every request moto's DynamoDB handler dispatches,
    reads included, so no reader sees a half-applied or rolled-back transaction. That is
    stricter than DynamoDB (no request runs beside another), never weaker, and cheap at
    local scale: moto answers a request in about a millisecond.
    """
    lock = threading.Lock()
    dispatch_one = DynamoHandler._dispatch  # `DynamoHandler.dispatch` calls it on a new handler

    def dispatch_serialized(self: BaseResponse, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return dispatch_one(self, *args, **kwargs)

    DynamoHandler._dispatch = dispatch_serialized  # type: ignore[method-assign]  # a monkeypatch


# x-amazon-apigateway-authorizer "type" -> the authorizer's type, and the authorizationType of
# the methods it protects (API Gateway's OpenAPI extensions reference).
_AUTHORIZER_TYPES = {
    "cognito_user_pools": ("COGNITO_USER_POOLS", "COGNITO_USER_POOLS"),
    "token": ("TOKEN", "CUSTOM"),
    "request": ("REQUEST", "CUSTOM"),
}


def _import_authorizers(api: Any, schemes: dict[str, Any], mode: str) -> dict[str, tuple[str, str]]:
    """Creates (or, by name, updates) an authorizer for each security scheme carrying
    `x-amazon-apigateway-authorizer`, as API Gateway's import does: named after the scheme, its
    identity source the scheme's header. Overwriting deletes the authorizers the body no longer
    defines. Returns scheme name -> (authorizer id, the methods' authorizationType)."""
    by_name = {authorizer.name: authorizer for authorizer in api.authorizers.values()}
    imported: dict[str, tuple[str, str]] = {}
    for name, scheme in schemes.items():
        extension = scheme.get("x-amazon-apigateway-authorizer")
        if extension is None:
            continue
        authorizer_type, authorization_type = _AUTHORIZER_TYPES[extension["type"].lower()]
        settings = {
            "name": name,
            "authorizer_type": authorizer_type,
            "provider_arns": extension.get("providerARNs"),
            "authorizer_uri": extension.get("authorizerUri"),
            "identity_source": extension.get("identitySource") or f"method.request.header.{scheme['name']}",
            "identity_validation_expression": extension.get("identityValidationExpression"),
            "authorizer_result_ttl": extension.get("authorizerResultTtlInSeconds", 300),
        }
        existing = by_name.pop(name, None)
        authorizer_id = existing.id if existing else create_id()
        api.authorizers[authorizer_id] = Authorizer(authorizer_id=authorizer_id, **settings)
        imported[name] = (authorizer_id, authorization_type)
    if mode == "overwrite":
        for stale in by_name.values():
            del api.authorizers[stale.id]
    return imported


def _secure_methods(api: Any, api_doc: dict[str, Any], mode: str) -> None:
    """Each method's API-key requirement and authorizer, from its `security` (else the API's):
    a requirement naming an apiKey scheme requires the key; one naming an authorizer's scheme
    sets the method's authorizationType, authorizerId and authorizationScopes (the scopes listed
    in the requirement). A method without an authorizer is authorizationType NONE."""
    schemes = api_doc.get("components", {}).get("securitySchemes", {})
    authorizers = _import_authorizers(api, schemes, mode)
    key_schemes = {
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "apiKey" and "x-amazon-apigateway-authorizer" not in scheme
    }
    default_security = api_doc.get("security", [])
    for path, operations in api_doc.get("paths", {}).items():
        resource = api.get_resource_for_path(path)
        for method_type, operation in operations.items():
            method = resource.get_method(method_type.upper())
            security = operation.get("security", default_security)
            method.api_key_required = any(key_schemes & set(requirement) for requirement in security)
            protected = [(name, scopes) for req in security for name, scopes in req.items() if name in authorizers]
            method.authorization_type, method.authorizer_id, method.authorization_scopes = "NONE", None, None
            if protected:
                name, scopes = protected[0]
                method.authorizer_id, method.authorization_type = authorizers[name]
                method.authorization_scopes = scopes or None


# DynamoDB remembers a ClientRequestToken for 10 minutes after the first request using it.
TRANSACTION_TOKEN_SECONDS = 10 * 60


def _honour_transaction_tokens() -> None:
    """TransactWriteItems with a ClientRequestToken, as DynamoDB documents it.

    What moto 5.2.5 does wrong: it ignores the token and runs every request. An SDK that resends
    a transaction whose answer was lost (the connection dropped after DynamoDB applied it) gets
    it run twice: its conditions now fail on its own writes, and the caller hears "already
    exists" or "not found" for a write that succeeded.

    What DynamoDB guarantees (TransactWriteItems, ClientRequestToken): the same token with the
    same request within 10 minutes of the first answers as the first did, without running the
    transaction again; the same token with any other parameter is an
    IdempotentParameterMismatchException.

    What we do: remember, per account, region and token, the request (its parameters but the
    token) and the answer of every transaction that succeeded, for 10 minutes. A cancelled
    one changed nothing and is not remembered (what DynamoDB does with its token is not
    documented): resending it runs it again. Runs under the serialization lock above, so
    check and record cannot interleave.
    """
    applied: dict[tuple[str, str, str], tuple[str, float, Any]] = {}
    run = DynamoHandler.transact_write_items

    def transact_write_items(self: DynamoHandler) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return run(self)
        key = (self.current_account, self.region, token)
        request = json.dumps(
            {k: v for k, v in self.body.items() if k != "ClientRequestToken"}, sort_keys=True, default=str
        )
        now = time.monotonic()
        for stale in [k for k, (_, at, _) in applied.items() if now - at > TRANSACTION_TOKEN_SECONDS]:
            del applied[stale]
        if key in applied:
            first_request, _, first_answer = applied[key]
            if request != first_request:
                raise DynamodbException(
                    ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
                    "ClientRequestToken was used with different parameters within the last 10 minutes",
                )
            return first_answer
        answer = run(self)  # raises when the transaction is cancelled: nothing to remember
        applied[key] = (request, now, answer)
        return answer

    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]  # a monkeypatch


def _patch_put_rest_api() -> None:
    """PutRestApi (a REST API defined by an OpenAPI body, as the stack's is) creates resources,
    methods and integrations in moto, but drops three things API Gateway imports:
    - `security` naming an apiKey scheme: the method requires an API key (apiKeyRequired);
    - security schemes with `x-amazon-apigateway-authorizer`: the API's authorizers, and the
      methods they protect (authorizationType, authorizerId, authorizationScopes);
    - `x-amazon-apigateway-gateway-responses`: the API's gateway responses.
    It also keeps the extension's integration type as written ("aws_proxy"), where API Gateway
    reports the enum ("AWS_PROXY").
    """
    original = APIGatewayBackend.put_rest_api
    build_integration_args = APIGatewayBackend._build_integration_args

    def integration_args(self: APIGatewayBackend, x_amaz_apigw_integ: dict[str, Any]) -> dict[str, Any]:
        args = build_integration_args(self, x_amaz_apigw_integ)
        args["integration_type"] = (args["integration_type"] or "").upper() or None
        return args

    def put_rest_api(
        self: APIGatewayBackend, function_id: str, api_doc: dict[str, Any], fail_on_warnings: bool, mode: str = "merge"
    ) -> Any:
        api = original(self, function_id, api_doc, fail_on_warnings, mode)
        _secure_methods(api, api_doc, mode)
        if mode == "overwrite":
            api.gateway_responses.clear()
        for response_type, response in api_doc.get("x-amazon-apigateway-gateway-responses", {}).items():
            api.put_gateway_response(
                response_type,
                status_code=response.get("statusCode"),
                response_parameters=response.get("responseParameters"),
                response_templates=response.get("responseTemplates"),
            )
        return api

    APIGatewayBackend.put_rest_api = put_rest_api  # type: ignore[method-assign]  # a monkeypatch
    APIGatewayBackend._build_integration_args = integration_args  # type: ignore[method-assign]  # a monkeypatch


def _pending(subscription: Subscription) -> bool:
    return subscription.attributes.get("PendingConfirmation") is True


def _email_subscriptions_wait_for_confirmation() -> None:
    """What moto 5.2.5 does: every subscription is confirmed the moment it is made.

    What SNS does: an e-mail subscription waits until its recipient follows the link SNS mails
    (attribute PendingConfirmation "true"); ListSubscriptions(ByTopic) show it with the
    SubscriptionArn "PendingConfirmation"; Unsubscribe refuses it ("Cannot unsubscribe a
    subscription that is pending confirmation", which the Terraform provider expects); and SNS
    deletes it when it stays unconfirmed for 48 hours. `confirm_subscriptions` and
    `expire_unconfirmed_subscriptions` are the recipient's click and the 48 hours, for tests.
    """
    subscribe = SNSBackend.subscribe
    unsubscribe = SNSBackend.unsubscribe

    def subscribe_pending(self: SNSBackend, topic_arn: str, endpoint: str, protocol: str) -> Subscription:
        new = self._find_subscription(topic_arn, endpoint, protocol) is None
        subscription = subscribe(self, topic_arn, endpoint, protocol)
        if new and protocol in CONFIRMED_BY_HAND:
            subscription.attributes.update(PendingConfirmation=True, ConfirmationWasAuthenticated=False)
        return subscription

    def unsubscribe_confirmed(self: SNSBackend, subscription_arn: str) -> None:
        subscription = self.subscriptions.get(subscription_arn)
        if subscription is not None and _pending(subscription):
            raise SNSInvalidParameter("Cannot unsubscribe a subscription that is pending confirmation")
        unsubscribe(self, subscription_arn)

    SNSBackend.subscribe = subscribe_pending  # type: ignore[method-assign]  # a monkeypatch
    SNSBackend.unsubscribe = unsubscribe_confirmed  # type: ignore[method-assign]  # a monkeypatch
    # moto's serializer reads `subscription_arn` before falling back to `arn`.
    Subscription.subscription_arn = property(  # type: ignore[attr-defined]  # a monkeypatch
        lambda subscription: PENDING_CONFIRMATION if _pending(subscription) else subscription.arn
    )


def _sns_backend(account_id: str, region: str) -> SNSBackend:
    return sns_backends[account_id][region]


def confirm_subscriptions(account_id: str, region: str, topic_arn: str, endpoint: str) -> int:
    """The recipient follows the link: `endpoint`'s subscription to the topic is confirmed."""
    subscriptions = _sns_backend(account_id, region).subscriptions.values()
    pending = [s for s in subscriptions if (s.topic_arn, s.endpoint) == (topic_arn, endpoint) and _pending(s)]
    for subscription in pending:
        subscription.attributes.update(PendingConfirmation=False, ConfirmationWasAuthenticated=True)
    return len(pending)


def expire_unconfirmed_subscriptions(account_id: str, region: str) -> int:
    """What SNS does 48 hours after Subscribe: deletes the subscriptions still unconfirmed."""
    subscriptions = _sns_backend(account_id, region).subscriptions
    expired = [arn for arn, subscription in subscriptions.items() if _pending(subscription)]
    for arn in expired:
        del subscriptions[arn]
    return len(expired)


def _get_account_settings(self: LambdaResponse) -> str:
    """GetAccountSettings, which moto lacks: the concurrency limit (LAMBDA_CONCURRENCY_LIMIT)
    and what the functions' reservations leave of it, as AWS reports them; the code-size
    limits are Lambda's fixed quotas (75 GB, 250 MB unzipped, 50 MB zipped)."""
    limit = int(os.environ.get(LAMBDA_CONCURRENCY_LIMIT, DEFAULT_LAMBDA_CONCURRENCY_LIMIT))
    functions = list(self.backend.list_functions())
    reserved = sum(int(function.reserved_concurrency or 0) for function in functions)
    return json.dumps(
        {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit - reserved,
            },
            "AccountUsage": {
                "TotalCodeSize": sum(function.code_size for function in functions),
                "FunctionCount": len(functions),
            },
        }
    )


def _add_lambda_get_account_settings() -> None:
    LambdaResponse.get_account_settings = _get_account_settings  # type: ignore[attr-defined]  # a method moto lacks
    lambda_urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = LambdaResponse.dispatch


def _aws_managed_policies_in_the_aws_partition_only() -> None:
    """moto gives each of the six IAM partitions its own ~1,600 AWS managed policies, parsed
    from one 4.7 MB JSON each time: 0.7 s of every emulator start. The stacks here live in the
    commercial partition (`aws`) only, so the others start without them."""
    original = IAMBackend._init_aws_policies

    def _init_aws_policies(self: IAMBackend) -> list[Any]:
        return original(self) if self.partition == DEFAULT_PARTITION else []

    IAMBackend._init_aws_policies = _init_aws_policies  # type: ignore[method-assign]  # see above


def apply() -> list[str]:
    """Patch moto in this process; returns a short description of each fix."""
    _add_appautoscaling_tags(_application_autoscaling_response())
    _serialize_dynamodb_requests()
    _honour_transaction_tokens()
    _patch_put_rest_api()
    _email_subscriptions_wait_for_confirmation()
    _add_lambda_get_account_settings()
    _aws_managed_policies_in_the_aws_partition_only()
    os.environ.setdefault(LAMBDA_CONCURRENCY_LIMIT, DEFAULT_LAMBDA_CONCURRENCY_LIMIT)
    return [
        "application-autoscaling ListTagsForResource/TagResource/UntagResource",
        "dynamodb: one request at a time (moto's transactions are not thread-safe)",
        "dynamodb TransactWriteItems: ClientRequestToken makes a resent transaction answer as the first did",
        "apigateway PutRestApi: API-key requirements, authorizers and gateway responses from the OpenAPI body",
        "sns: e-mail subscriptions wait for confirmation",
        f"lambda GetAccountSettings (concurrency limit {os.environ[LAMBDA_CONCURRENCY_LIMIT]})",
        "iam: AWS managed policies in the aws partition only",
        *moto_cognito_fixes.apply(),
    ]
