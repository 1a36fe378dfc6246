"""An IAM policy evaluator for the subset of the policy language the project's roles use.

It answers one question exactly: does this set of identity policies (and permissions
boundary) allow this action on this resource, with these condition keys set? Following the
IAM User Guide's policy evaluation logic and policy grammar:

- an explicit Deny in any policy wins; otherwise some Allow must match; otherwise denied.
  With a permissions boundary, the boundary must allow the request too.
- Action / NotAction: case-insensitive, `*` and `?` wildcards.
- Resource / NotResource: ARNs with `*` and `?` inside a segment; a `*` ending a segment may
  run across colons. A `*` in the requested resource (a part the call could not name, such as
  a random id) is matched only by a `*` of the policy: the policy must allow every value.
- Condition operators in SUPPORTED_OPERATORS, with `...IfExists`. Several keys or operators
  in one block must all match; several values of one key, any. A key missing from the
  request fails a positive operator and passes a negated one (Not...) and IfExists.

Anything outside the subset (another operator, a policy variable, a Principal in an identity
policy) raises UnsupportedPolicy rather than being guessed at.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SOURCES = {
    "evaluation": "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html",
    "resource wildcards": "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html",
    "missing keys": "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html",
}
# Stands for a `*` in a requested resource: no literal character of a policy matches it.
_ANY_PART = "\x00"


class UnsupportedPolicy(ValueError):
    pass


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def allows(policies: Sequence[Mapping[str, Any]], request: Request, boundary: Mapping[str, Any] | None = None) -> bool:
    """True if the identity `policies` (each a policy document) allow `request`, within `boundary`."""
    documents = [*policies, *([boundary] if boundary else [])]
    if any(_matches(s, request) for d in documents for s in _statements(d) if s["Effect"] == "Deny"):
        return False
    allowed = any(_matches(s, request) for d in policies for s in _statements(d) if s["Effect"] == "Allow")
    within = boundary is None or any(_matches(s, request) for s in _statements(boundary) if s["Effect"] == "Allow")
    return allowed and within


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document["Statement"]
    statements = [statements] if isinstance(statements, Mapping) else statements
    for statement in statements:
        _check(statement)
    return statements


def _check(statement: Mapping[str, Any]) -> None:
    """Refuses, before any request is decided, a statement outside the supported subset."""
    if statement.get("Effect") not in ("Allow", "Deny") or "Principal" in statement or "NotPrincipal" in statement:
        raise UnsupportedPolicy(f"not an identity policy statement: {statement}")
    for name in ("Action", "Resource"):
        if (name in statement) == (f"Not{name}" in statement):
            raise UnsupportedPolicy(f"a statement needs either {name} or Not{name}: {statement}")
    for operator, keys in statement.get("Condition", {}).items():
        if operator != "Null" and _positive(operator) not in SUPPORTED_OPERATORS:
            raise UnsupportedPolicy(f"condition operator {operator} is not supported")
        for values in keys.values():
            for value in _as_list(values):
                _no_variables(value)
    for name in ("Resource", "NotResource"):
        for pattern in _as_list(statement.get(name, [])):
            _no_variables(pattern)


def _positive(operator: str) -> str:
    return operator.removesuffix("IfExists").replace("StringNot", "String").replace("ArnNot", "Arn")


def _matches(statement: Mapping[str, Any], request: Request) -> bool:
    return (
        _element(statement, "Action", request.action, action_matches)
        and _element(statement, "Resource", request.resource, resource_matches)
        and conditions_match(statement.get("Condition", {}), request.context)
    )


def _element(statement: Mapping[str, Any], name: str, value: str, matches) -> bool:
    if name in statement:
        return any(matches(pattern, value) for pattern in _as_list(statement[name]))
    return not any(matches(pattern, value) for pattern in _as_list(statement[f"Not{name}"]))


def action_matches(pattern: str, action: str) -> bool:
    regex = "".join({"*": ".*", "?": "."}.get(char, re.escape(char)) for char in pattern)
    return re.fullmatch(regex, action, re.IGNORECASE) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """IAM's ARN wildcards; a `*` in `resource` must be covered by a `*` of `pattern`."""
    if pattern == "*":
        return True
    regex = []
    for index, char in enumerate(pattern):
        if char == "*":
            ends_segment = index + 1 == len(pattern) or pattern[index + 1] == ":"
            regex.append(".*" if ends_segment else "[^:]*")
        else:
            regex.append("[^:]" if char == "?" else re.escape(char))
    return re.fullmatch("".join(regex), resource.replace("*", _ANY_PART), re.DOTALL) is not None


def _string_like(pattern: str, value: str) -> bool:
    regex = "".join({"*": ".*", "?": "."}.get(char, re.escape(char)) for char in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


SUPPORTED_OPERATORS = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringLike": _string_like,
    "ArnEquals": lambda expected, actual: expected == actual,
    "ArnLike": resource_matches,
}


def conditions_match(block: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    present = {key.lower(): value for key, value in context.items()}
    return all(
        _condition(operator, key, _as_list(values), present.get(key.lower()))
        for operator, keys in block.items()
        for key, values in keys.items()
    )


def _condition(operator: str, key: str, values: list[str], actual: str | None) -> bool:
    if operator == "Null":
        return (actual is None) == (values == ["true"])
    negated = operator.startswith(("StringNot", "ArnNot"))
    if actual is None:
        return negated or operator.endswith("IfExists")
    matched = any(SUPPORTED_OPERATORS[_positive(operator)](value, actual) for value in values)
    return not matched if negated else matched


def _no_variables(text: str) -> None:
    if "${" in text:
        raise UnsupportedPolicy(f"policy variables are not supported: {text}")


def _as_list(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
