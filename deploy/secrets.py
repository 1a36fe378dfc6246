"""Secret values in Terraform state and plans, and taking them out of what we print or write.

Terraform masks attributes the provider marks sensitive in its own plan output, but plan
JSON and state hold every value in clear, and the AWS provider fails to mark some secrets:
`aws_api_gateway_usage_plan_key.value` is the API key itself, so any plan that replaces or
destroys the usage plan key prints the key. So we collect the secret strings from the state
or the plan JSON and replace them with "(sensitive)" wherever they appear:

    secrets = secrets_in_state(json.loads(state_pull_output)) | secrets_in_plan(plan)
    safe_text = redact_text(text, secrets)
    safe_plan = redact_json(plan, secrets)
"""

import functools
import json
import re
from collections.abc import Iterable, Iterator

REDACTED = "(sensitive)"

# Attributes that hold a secret but that the AWS provider (5.100) does not mark sensitive,
# or marks sensitive only in some places. Both hold the storefront's API key.
KNOWN_SECRET_ATTRIBUTES: dict[str, frozenset[str]] = {
    "aws_api_gateway_api_key": frozenset({"value"}),
    "aws_api_gateway_usage_plan_key": frozenset({"value"}),
}

# Shorter sensitive strings (a flag, a port, "true") are not redacted from text: they would
# wipe out unrelated words, and none of our secrets is that short (API keys have 20 or more
# characters).
MIN_SECRET_LENGTH = 8


def with_known_secrets(resource_type: str, marks) -> dict | bool:
    """Terraform's sensitivity marks for one resource's values (`sensitive_values`,
    `before_sensitive`, `after_sensitive`: True where a value is sensitive, mirroring the
    values' shape), plus the known secret attributes of `resource_type`."""
    known = KNOWN_SECRET_ATTRIBUTES.get(resource_type, frozenset())
    if marks is True or not known:
        return marks
    return {**(marks if isinstance(marks, dict) else {}), **{name: True for name in known}}


def secrets_in_state(state: dict) -> set[str]:
    """Secret strings in a state file (`terraform state pull` output, format version 4):
    known secret attributes, sensitive outputs, and attributes listed in each instance's
    `sensitive_attributes` unless the same string is public elsewhere in the state."""
    known: set[str] = set()
    marked: set[str] = set()
    public: set[str] = set()
    for resource in state.get("resources", []):
        for instance in resource.get("instances", []):
            attributes = instance.get("attributes", {})
            marks = _marks_from_paths(instance.get("sensitive_attributes", []))
            for name in KNOWN_SECRET_ATTRIBUTES.get(resource["type"], ()):
                known.update(_strings(attributes.get(name)))
                marks[name] = True
            marked.update(_marked_strings(attributes, marks))
            public.update(_unmarked_strings(attributes, marks))
    known.update(_sensitive_output_strings(state.get("outputs", {})))
    return _long_enough(known | (marked - public))


def secrets_in_plan(plan: dict) -> set[str]:
    """Secret strings in plan JSON (`terraform show -json plan.bin`): values of known secret
    attributes and sensitive outputs, and values under sensitive marks in prior_state,
    planned_values, resource_changes and resource_drift (before and after) unless the same
    string is public elsewhere in the plan."""
    known: set[str] = set()
    marked: set[str] = set()
    public: set[str] = set()

    def collect(resource_type: str, value, marks) -> None:
        known.update(_marked_strings(value, with_known_secrets(resource_type, {})))
        marks = with_known_secrets(resource_type, marks)
        marked.update(_marked_strings(value, marks))
        public.update(_unmarked_strings(value, marks))

    prior_values = plan.get("prior_state", {}).get("values", {})
    for values in (prior_values, plan.get("planned_values", {})):
        for resource in _module_resources(values.get("root_module", {})):
            collect(resource["type"], resource.get("values"), resource.get("sensitive_values", {}))
        known.update(_sensitive_output_strings(values.get("outputs", {})))
    for entry in plan.get("resource_changes", []) + plan.get("resource_drift", []):
        change = entry["change"]
        for side in ("before", "after"):
            collect(entry["type"], change.get(side), change.get(f"{side}_sensitive", False))
    for change in plan.get("output_changes", {}).values():
        for side in ("before", "after"):
            known.update(_marked_strings(change.get(side), change.get(f"{side}_sensitive", False)))
    return _long_enough(known | (marked - public))


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret, as is or as Terraform and JSON quote it, replaced by REDACTED."""
    pattern = _pattern(frozenset(secrets))
    return pattern.sub(REDACTED, text) if pattern else text


def redact_json(document, secrets: Iterable[str]):
    """A copy of a parsed JSON document with every secret in its strings (keys included)
    replaced by REDACTED."""
    pattern = _pattern(frozenset(secrets))
    if pattern is None:
        return document

    def redact(value):
        if isinstance(value, str):
            return pattern.sub(REDACTED, value)
        if isinstance(value, dict):
            return {redact(key): redact(item) for key, item in value.items()}
        if isinstance(value, list):
            return [redact(item) for item in value]
        return value

    return redact(document)


def part_of(value, key):
    """value[key] for a JSON object or list; None when there is no such part."""
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
        return value[key]
    return None


@functools.lru_cache(maxsize=16)  # printing terraform's output line by line reuses one pattern
def _pattern(secrets: frozenset[str]) -> re.Pattern | None:
    # Terraform's plan text and JSON both print a string with \" \\ \n escapes: a secret
    # holding such characters appears in that form.
    forms = {form for secret in secrets for form in (secret, json.dumps(secret)[1:-1])}
    if not forms:
        return None
    # Longest first, so that a secret containing another is replaced whole.
    return re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))


def _long_enough(found: set[str]) -> set[str]:
    return {secret for secret in found if len(secret) >= MIN_SECRET_LENGTH}


def _module_resources(module: dict) -> Iterator[dict]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _module_resources(child)


def _sensitive_output_strings(outputs: dict) -> Iterator[str]:
    for output in outputs.values():
        if output.get("sensitive"):
            yield from _strings(output.get("value"))


def _marked_strings(value, marks) -> Iterator[str]:
    """The strings in `value` under a True in `marks` (a tree of the same shape as value)."""
    if marks is True:
        yield from _strings(value)
        return
    children = marks.items() if isinstance(marks, dict) else enumerate(marks) if isinstance(marks, list) else ()
    for key, mark in children:
        yield from _marked_strings(part_of(value, key), mark)


def _unmarked_strings(value, marks) -> Iterator[str]:
    """The strings in `value` not under a True in `marks`."""
    if marks is True:
        return
    if isinstance(value, str):
        yield value
        return
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _unmarked_strings(item, part_of(marks, key) if isinstance(marks, (dict, list)) else None)


def _marks_from_paths(paths: list[list[dict]]) -> dict:
    """A marks tree (True where sensitive) from state `sensitive_attributes` paths: steps are
    {"type": "get_attr", "value": name} or {"type": "index", "value": {"value": key, ...}}."""
    marks: dict = {}
    for path in paths:
        keys = [step["value"]["value"] if step["type"] == "index" else step["value"] for step in path]
        node = marks
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if node is True:
                break
        else:
            if keys:
                node[keys[-1]] = True
    return marks


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
