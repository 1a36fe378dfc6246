"""IAM policy documents, written once: trust policies for service roles and allow statements."""

import json
from collections.abc import Iterable


def allow(actions: Iterable[str], resource: str) -> dict[str, object]:
    return {"Effect": "Allow", "Action": list(actions), "Resource": resource}


def policy_document(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str) -> str:
    """Trust policy letting an AWS service (lambda.amazonaws.com, ...) assume the role."""
    return policy_document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})
