"""The committed IAM evidence (iam_evidence/recorded/) is current, complete and clean: it
covers every resource type and argument the stack synthesizes, its permissions follow from its
calls by today's rules, every action is in the IAM reference, `*` appears only where the
reference allows nothing narrower, and nothing secret is in it.

When a test here fails after a stack change: `make iam-evidence` (docs/iam.md)."""

import json
import re

import pytest

from iam_evidence import docs, evidence
from iam_evidence import grants as grants_file
from iam_evidence.record import LIFECYCLE
from iam_evidence.reference import privilege
from iam_evidence.roles import ENVIRONMENT
from localaws.api_calls import KEPT_PARAMETERS

REGENERATE = "the evidence does not cover the stack: run `make iam-evidence` and review the diff"


@pytest.fixture(scope="module")
def calls():
    return grants_file.recorded_calls()


@pytest.fixture(scope="module")
def grants():
    return grants_file.recorded_grants()


def uncovered(shape: dict, recorded: dict) -> list[str]:
    """What `shape` has that `recorded` lacks: types, and arguments of a type."""
    missing = []
    for section, kinds in shape.items():
        for kind, arguments in kinds.items():
            known = recorded.get(section, {}).get(kind)
            if known is None:
                missing.append(f"{section} {kind}")
            else:
                missing += [f"{section} {kind}.{name}" for name in arguments if name not in known]
    return sorted(missing)


@pytest.mark.parametrize(
    "settings", [{}, {"REVIEWS_ALARM_EMAIL": "oncall@example.com"}], ids=["default", "alarm-email"]
)
def test_the_evidence_covers_every_resource_type_and_argument_the_stack_synthesizes(synth, settings):
    shape = evidence.stack_shape(synth(**settings).terraform)
    assert len(shape["resource"]) > 15
    assert uncovered(shape, grants_file.recorded_shape()) == [], REGENERATE


def test_a_resource_type_or_argument_the_recording_never_saw_is_caught():
    recorded = grants_file.recorded_shape()
    grown = json.loads(json.dumps(recorded))
    grown["resource"]["aws_sqs_queue"] = ["name"]
    grown["resource"]["aws_lambda_function"].append("made_up_argument")
    grown["backend"]["s3"].append("made_up_argument")
    assert uncovered(grown, recorded) == [
        "backend s3.made_up_argument",
        "resource aws_lambda_function.made_up_argument",
        "resource aws_sqs_queue",
    ]


def test_every_step_of_the_lifecycle_was_recorded_for_its_role(calls):
    recorded = {(step, call["role"]) for call in calls for step in call["steps"]}
    assert {(step.name, step.role) for step in LIFECYCLE} <= recorded
    assert {call["role"] for call in calls} == {"plan", "deploy"}
    assert all(call["operation"] != "?" for call in calls), "an unidentified request: see localaws/api_calls.py"


def test_the_permissions_follow_from_the_calls_by_todays_rules(calls, grants):
    """A change to the mapping rules needs `python -m iam_evidence map` (seconds)."""
    assert [grant.line() for grant in evidence.grants(calls)] == [grant.line() for grant in grants]


def test_every_action_is_in_the_iam_reference_and_star_only_where_it_has_no_resource_types(grants):
    for grant in grants:
        granted = privilege(grant.permission.action)
        assert granted.action == grant.permission.action
        if grant.permission.resource == "*":
            assert granted.resource_types == (), grant


def test_the_evidence_is_sorted_and_without_repeats():
    for name in ("calls.jsonl", "permissions.jsonl"):
        lines = (grants_file.RECORDED / name).read_text().splitlines()
        assert len(lines) == len(set(lines)) and lines, name
    grants = grants_file.recorded_grants()
    keys = [(grant.role, grant.permission) for grant in grants]
    assert keys == sorted(keys) and len(keys) == len(set(keys))


def test_nothing_but_names_of_resources_is_kept(calls):
    for call in calls:
        for name, value in call["parameters"].items():
            if name == "EncryptionContext":  # KMS conditions read it: names of what a sealed plan is for
                assert set(value) == {"repository", "environment", "commit"}, value
                continue
            assert name == "patchOperations" or KEPT_PARAMETERS.search(name), name
            assert isinstance(value, str | list), (name, value)
    text = "".join((grants_file.RECORDED / name).read_text() for name in ("calls.jsonl", "permissions.jsonl"))
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), "an e-mail address (the alarm subscription's)"
    assert '"value"' not in text.replace('"value": "arn:', "") and "Value" not in text
    assert ENVIRONMENT in text  # the recording's names are there, to be renamed per environment


def test_docs_show_the_recorded_permissions_as_recorded():
    """docs/iam.md's table is rendered from the evidence: `python -m iam_evidence docs`."""
    assert docs.current_section() == docs.render()


def test_random_ids_are_renamed_in_order_of_appearance_so_recordings_compare():
    def get(path, step):
        return {
            "role": "plan",
            "step": step,
            "service": "apigateway",
            "operation": "GetRestApi",
            "method": "GET",
            "path": path,
            "region": "us-east-2",
            "client": "terraform-provider-aws",
            "parameters": {},
        }

    recorded = [
        get("/restapis/zz9f0a1b2c", "plan"),
        get("/restapis/aa1b2c3d4e", "plan"),
        get("/restapis/zz9f0a1b2c", "drift"),
    ]
    renamed = evidence.with_stable_ids(recorded)
    assert [call["path"] for call in renamed] == [
        "/restapis/RestApiId1",
        "/restapis/RestApiId2",
        "/restapis/RestApiId1",
    ]
    assert [call["steps"] for call in evidence.distinct_calls(renamed)] == [["plan", "drift"], ["plan"]]
