"""IAM policy documents, written once: trust policies for service roles and allow statements."""

import json
from collections.abc import Iterable

Policy = dict[str, object]


def allow(actions: Iterable[str], resource: str | list[str], sid: str | None = None, **extra: object) -> Policy:
    """An Allow statement; `extra` adds elements such as Condition."""
    return _statement("Allow", actions, resource, sid, **extra)


def deny(actions: Iterable[str], resource: str | list[str], sid: str | None = None, **extra: object) -> Policy:
    """A Deny statement: it holds whatever any policy allows."""
    return _statement("Deny", actions, resource, sid, **extra)


def _statement(
    effect: str, actions: Iterable[str], resource: str | list[str], sid: str | None, **extra: object
) -> Policy:
    named = {"Sid": sid} if sid else {}
    return {**named, "Effect": effect, "Action": list(actions), "Resource": resource, **extra}


def policy(*statements: Policy) -> Policy:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def policy_document(*statements: Policy) -> str:
    return json.dumps(policy(*statements))


def assume_role_policy(service: str) -> str:
    """Trust policy letting an AWS service (lambda.amazonaws.com, ...) assume the role."""
    return policy_document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})
