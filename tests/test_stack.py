"""The synthesized Terraform JSON: every resource and setting a user relies on."""

import base64
import hashlib
import json
import re
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from handlers.reviews import contract
from stacks.api import USER_POOL_PLACEHOLDER
from stacks.handler_package import package_handler
from tests.support import terraform_validate


def resources(stack: dict, resource_type: str) -> list[dict]:
    return list(stack["resource"].get(resource_type, {}).values())


def one(stack: dict, resource_type: str) -> dict:
    found = resources(stack, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def address(stack: dict, resource_type: str, **match) -> str:
    """The `type.name` address of the one resource of a type whose settings match `match`."""
    names = [
        name
        for name, body in stack["resource"][resource_type].items()
        if all(body.get(k) == v for k, v in match.items())
    ]
    assert len(names) == 1, f"{resource_type} matching {match}: {names}"
    return f"{resource_type}.{names[0]}"


def ref(stack: dict, resource_type: str, attribute: str, **match) -> str:
    """The ${type.name.attribute} reference Terraform JSON uses for that resource."""
    return f"${{{address(stack, resource_type, **match)}.{attribute}}}"


# --- DynamoDB ---------------------------------------------------------------------------


def test_table_keys_and_reviewer_index_follow_the_contract(stack):
    table = one(stack, "aws_dynamodb_table")
    assert table["name"] == "ProductReviews-dev"
    assert (table["hash_key"], table["range_key"]) == (contract.PARTITION_KEY, contract.SORT_KEY)
    assert {(a["name"], a["type"]) for a in table["attribute"]} == {(name, "S") for name in contract.KEY_ATTRIBUTES}
    [index] = table["global_secondary_index"]
    assert index["name"] == contract.REVIEWER_INDEX.name
    assert index["hash_key"] == contract.REVIEWER_INDEX.partition_key
    assert index["range_key"] == contract.REVIEWER_INDEX.sort_key
    assert index["projection_type"] == contract.REVIEWER_INDEX.projection == "ALL"
    assert table["ttl"] == {"attribute_name": contract.TTL_ATTRIBUTE, "enabled": True}


def test_the_tables_terraform_address_never_changes(stack):
    # A new address plans the table's destruction with all reviews in it (deletion protection
    # stops it outside dev): construct ids on the path to the table must stay as they are.
    assert list(stack["resource"]["aws_dynamodb_table"]) == ["table_43360BC0"]


def test_table_is_recoverable_and_encrypted(stack):
    table = one(stack, "aws_dynamodb_table")
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"] == {"enabled": True}


def test_deletion_protection_is_off_in_dev_and_on_elsewhere(stack, synth):
    assert one(stack, "aws_dynamodb_table")["deletion_protection_enabled"] is False
    assert one(stack, "aws_cognito_user_pool")["deletion_protection"] == "INACTIVE"
    prod = synth(ENVIRONMENT_SUFFIX="prod").terraform
    assert one(prod, "aws_dynamodb_table")["deletion_protection_enabled"] is True
    assert one(prod, "aws_cognito_user_pool")["deletion_protection"] == "ACTIVE"


def test_capacity_is_the_live_capacity_so_index_changes_plan_and_scaler_changes_do_not(stack):
    table = one(stack, "aws_dynamodb_table")
    assert table["billing_mode"] == "PROVISIONED"
    # Nothing is ignored: every index change shows in the plan and is applied ...
    assert "lifecycle" not in table
    # ... while capacity is whatever the autoscaler set, read from the table at plan time,
    # never below the configured minimum (the value before the table or an index exists).
    [current] = stack["data"]["aws_dynamodb_table"]
    live = f"data.aws_dynamodb_table.{current}[0]"
    assert table["read_capacity"] == f"${{max(5, try(coalesce({live}.read_capacity, 0), 0))}}"
    assert table["write_capacity"] == f"${{max(5, try(coalesce({live}.write_capacity, 0), 0))}}"
    [index] = table["global_secondary_index"]
    assert index["read_capacity"] == (
        f"${{max(5, try(coalesce(one([for index in {live}.global_secondary_index : index.read_capacity "
        f'if index.name == "{contract.REVIEWER_INDEX.name}"]), 0), 0))}}'
    )
    [tables] = stack["data"]["aws_dynamodb_tables"]
    assert stack["data"]["aws_dynamodb_table"][current]["count"] == (
        f'${{try(contains(data.aws_dynamodb_tables.{tables}.names, "ProductReviews-dev"), false) ? 1 : 0}}'
    )


def evaluate(expressions: list[str], tmp_path) -> list:
    """Terraform's own values of `expressions` (`terraform console`, which needs no provider)."""
    console = subprocess.run(
        ["terraform", f"-chdir={tmp_path}", "console"],
        input=f"jsonencode([{', '.join(expressions)}])\n",  # it prints only the last line's value
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert console.returncode == 0, console.stderr
    return json.loads(json.loads(console.stdout))


@pytest.mark.parametrize(
    ("live_table", "live_tables", "capacities"),
    [
        ("[]", "null", [5, 5, 0]),  # no table yet (and no table in the region)
        (
            '[{read_capacity = 9, global_secondary_index = [{name = "ReviewerIdIndex", read_capacity = 17}]}]',
            '["ProductReviews-dev"]',
            [9, 17, 1],
        ),
        # a second index on an existing provisioned table: not there yet, so no capacity of its own
        (
            '[{read_capacity = 9, global_secondary_index = [{name = "OtherIndex", read_capacity = 17}]}]',
            '["ProductReviews-dev"]',
            [9, 5, 1],
        ),
        # a table that was billed per request reports 0
        ("[{read_capacity = 0, global_secondary_index = []}]", '["ProductReviews-dev", "Other"]', [5, 5, 1]),
    ],
    ids=["new-table", "autoscaled", "new-index", "was-on-demand"],
)
def test_every_fallback_yields_the_minimum_never_null_or_zero(stack, tmp_path, live_table, live_tables, capacities):
    # try() catches errors only: one([]) is null, and an on-demand table's capacity is 0.
    table = one(stack, "aws_dynamodb_table")
    [current] = stack["data"]["aws_dynamodb_table"]
    [tables] = stack["data"]["aws_dynamodb_tables"]

    def with_live_values(expression: str) -> str:
        expression = expression.replace(f"data.aws_dynamodb_table.{current}", live_table)
        return expression.replace(f"data.aws_dynamodb_tables.{tables}.names", live_tables)[2:-1]

    expressions = [
        table["read_capacity"],
        table["global_secondary_index"][0]["read_capacity"],
        stack["data"]["aws_dynamodb_table"][current]["count"],
    ]
    assert evaluate([with_live_values(e) for e in expressions], tmp_path) == capacities


def test_no_other_fallback_can_yield_null(stack):
    # Every try() in the stack: the capacity ones above, and the count, whose contains() fails
    # (rather than yielding null) when `names` is null.
    text = json.dumps(stack)
    fallbacks = re.findall(r"try\(", text)
    assert len(fallbacks) == 4 + 1  # table and index, read and write; the count
    assert "try(one(" not in text


def test_initial_capacity_follows_the_configured_minimum(synth):
    table = one(synth(REVIEWS_MIN_CAPACITY="10").terraform, "aws_dynamodb_table")
    assert table["read_capacity"].startswith("${max(10, ")
    assert table["global_secondary_index"][0]["write_capacity"].startswith("${max(10, ")


def test_autoscaling_tracks_70_percent_on_table_and_index_reads_and_writes(stack):
    targets = resources(stack, "aws_appautoscaling_target")
    assert {(t["resource_id"], t["scalable_dimension"]) for t in targets} == {
        ("table/ProductReviews-dev", "dynamodb:table:ReadCapacityUnits"),
        ("table/ProductReviews-dev", "dynamodb:table:WriteCapacityUnits"),
        (f"table/ProductReviews-dev/index/{contract.REVIEWER_INDEX.name}", "dynamodb:index:ReadCapacityUnits"),
        (f"table/ProductReviews-dev/index/{contract.REVIEWER_INDEX.name}", "dynamodb:index:WriteCapacityUnits"),
    }
    assert all((t["min_capacity"], t["max_capacity"]) == (5, 100) for t in targets)
    policies = resources(stack, "aws_appautoscaling_policy")
    assert len(policies) == 4
    for policy in policies:
        assert policy["policy_type"] == "TargetTrackingScaling"
        tracking = policy["target_tracking_scaling_policy_configuration"]
        assert tracking["target_value"] == 70
        metric = tracking["predefined_metric_specification"]["predefined_metric_type"]
        # Each policy scales its own target, on the matching utilization metric.
        assert policy["scalable_dimension"].startswith("${aws_appautoscaling_target.")
        assert ("Read" in metric) == ("read" in policy["name"])


def test_capacity_settings_reach_the_scaling_targets(synth):
    stack = synth(REVIEWS_MIN_CAPACITY="10", REVIEWS_MAX_CAPACITY="400", REVIEWS_TARGET_UTILIZATION="50").terraform
    targets = resources(stack, "aws_appautoscaling_target")
    assert {(t["min_capacity"], t["max_capacity"]) for t in targets} == {(10, 400)}
    assert {
        p["target_tracking_scaling_policy_configuration"]["target_value"]
        for p in resources(stack, "aws_appautoscaling_policy")
    } == {50}


def test_on_demand_billing_drops_capacity_and_autoscaling(synth):
    stack = synth(REVIEWS_BILLING_MODE="on-demand").terraform
    table = one(stack, "aws_dynamodb_table")
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert "read_capacity" not in table and "lifecycle" not in table
    assert "read_capacity" not in table["global_secondary_index"][0]
    assert "data" not in stack  # no live capacity to read
    assert "aws_appautoscaling_target" not in stack["resource"]
    assert "aws_appautoscaling_policy" not in stack["resource"]


# --- Lambda -----------------------------------------------------------------------------


def test_function_settings(stack):
    function = one(stack, "aws_lambda_function")
    assert function["function_name"] == "ReviewProcessor-dev"
    assert function["runtime"] == "python3.13"
    assert function["handler"] == "reviews.app.handler"
    assert (function["memory_size"], function["timeout"]) == (256, 30)
    assert function["reserved_concurrent_executions"] == 50
    assert function["tracing_config"] == {"mode": "Active"}
    assert function["environment"]["variables"] == {
        contract.TABLE_NAME_VARIABLE: "ProductReviews-dev",
        contract.REVIEWER_INDEX_VARIABLE: contract.REVIEWER_INDEX.name,
        contract.ALLOWED_ORIGINS_VARIABLE: "*",
    }
    assert "inline" not in json.dumps(function) and "zip_file" not in function


def test_reserved_concurrency_can_be_switched_off(synth):
    stack = synth(REVIEWS_RESERVED_CONCURRENCY="off").terraform
    assert one(stack, "aws_lambda_function")["reserved_concurrent_executions"] == -1


def test_function_code_is_the_handlers_package_with_its_hash(stack, synth):
    function = one(stack, "aws_lambda_function")
    package = synth().directory / function["filename"]
    data = package.read_bytes()
    assert function["source_code_hash"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    names = zipfile.ZipFile(package).namelist()
    assert "reviews/app.py" in names and "reviews/contract.py" in names
    assert all(name.endswith(".py") and "__pycache__" not in name for name in names)


def test_only_a_code_change_changes_the_package(tmp_path):
    source = tmp_path / "src" / "reviews"
    source.mkdir(parents=True)
    (source / "app.py").write_text("def handler(event, context):\n    return {}\n")
    first = package_handler(source.parent, tmp_path / "a.zip").read_bytes()
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"compiled")
    assert package_handler(source.parent, tmp_path / "b.zip").read_bytes() == first
    (source / "app.py").write_text("def handler(event, context):\n    return {'changed': 1}\n")
    assert package_handler(source.parent, tmp_path / "c.zip").read_bytes() != first


def test_a_package_built_while_another_synth_reads_it_is_never_half_written(tmp_path):
    """Synths in one project (test workers, `make watch`) build build/reviews-handler.zip at the
    same time: each reader sees a whole package, the same bytes every time."""
    source = tmp_path / "src" / "reviews"
    source.mkdir(parents=True)
    (source / "app.py").write_text("def handler(event, context):\n    return {}\n" + "# padding\n" * 20_000)
    destination = tmp_path / "build" / "reviews-handler.zip"
    expected = package_handler(source.parent, destination).read_bytes()
    seen = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        builds = pool.submit(lambda: [package_handler(source.parent, destination) for _ in range(60)])
        while not builds.done():
            seen.append(destination.read_bytes())
        builds.result()
    assert seen and all(data == expected for data in seen)
    assert [p.name for p in destination.parent.iterdir()] == ["reviews-handler.zip"]  # no partial file left


def test_function_log_group_exists_first_with_retention(stack):
    log_group = address(stack, "aws_cloudwatch_log_group", name="/aws/lambda/ReviewProcessor-dev")
    assert one(stack, "aws_lambda_function")["depends_on"] == [log_group]
    assert stack["resource"]["aws_cloudwatch_log_group"][log_group.split(".")[1]]["retention_in_days"] == 30


# --- IAM --------------------------------------------------------------------------------


def test_function_role_trusts_lambda_and_has_basic_execution_and_xray(stack):
    role_ref = ref(stack, "aws_iam_role", "arn", name="ReviewProcessor-dev-role")
    assert one(stack, "aws_lambda_function")["role"] == role_ref
    role = stack["resource"]["aws_iam_role"][role_ref.split(".")[1]]
    trust = json.loads(role["assume_role_policy"])
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    attached = {
        a["policy_arn"]
        for a in resources(stack, "aws_iam_role_policy_attachment")
        if a["role"] == role_ref.replace(".arn}", ".name}")
    }
    assert attached == {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    }


def test_table_access_is_limited_to_the_table_and_its_index(stack):
    policy = json.loads(one(stack, "aws_iam_role_policy")["policy"])
    table_arn = ref(stack, "aws_dynamodb_table", "arn")
    by_resource = {s["Resource"]: set(s["Action"]) for s in policy["Statement"]}
    assert by_resource == {
        table_arn: set(contract.TABLE_ACTIONS),
        f"{table_arn}/index/{contract.REVIEWER_INDEX.name}": set(contract.INDEX_ACTIONS),
    }
    granted = set().union(*by_resource.values())
    assert not {"dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:*"} & granted
    assert all(s["Effect"] == "Allow" and "*" not in s["Resource"] for s in policy["Statement"])


# --- API Gateway ------------------------------------------------------------------------


def api_definition(stack: dict) -> dict:
    return json.loads(one(stack, "aws_api_gateway_rest_api")["body"])


def references(body: dict) -> set[str]:
    """The `type.name` of every resource or data source a resource's settings refer to."""
    text = json.dumps(body)
    found = set(re.findall(r"\$\{(?:data\.)?(aws_[a-z0-9_]+\.[A-Za-z0-9_]+)", text))
    found.update(re.findall(r"\b(aws_[a-z0-9_]+\.[A-Za-z0-9_]+)\b", json.dumps(body.get("depends_on", []))))
    return found


def dependencies(stack: dict, address: str) -> set[str]:
    """Everything `address` depends on, directly or not."""
    bodies = {
        f"{t}.{n}": b
        for section in ("resource", "data")
        for t, r in stack.get(section, {}).items()
        for n, b in r.items()
    }
    seen: set[str] = set()
    todo = [address]
    while todo:
        for found in references(bodies[todo.pop()]) - seen:
            seen.add(found)
            todo.append(found)
    return seen


def test_every_route_is_a_lambda_proxy_operation_and_every_write_needs_a_reviewer_and_the_api_key(stack):
    definition = api_definition(stack)
    uri = (
        "arn:aws:apigateway:us-east-2:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:us-east-2:111122223333:function:ReviewProcessor-dev/invocations"
    )
    operations = {
        (method.upper(), path): operation
        for path, methods in definition["paths"].items()
        for method, operation in methods.items()
    }
    expected = {(r.method, r.path) for r in contract.ROUTES} | {("OPTIONS", p) for p in contract.resource_paths()}
    assert set(operations) == expected
    for (method, path), operation in operations.items():
        assert operation["x-amazon-apigateway-integration"] == {"type": "aws_proxy", "httpMethod": "POST", "uri": uri}
        signed_in = any(r.signed_in for r in contract.ROUTES if (r.method, r.path) == (method, path))
        # Reads and CORS preflights are public; writes need the authorizer and the key.
        assert operation.get("security") == ([{"reviewer": []}, {"api_key": []}] if signed_in else None), (method, path)
    assert ("POST", "/reviews") in {(r.method, r.path) for r in contract.ROUTES if r.signed_in}
    api_key_scheme = {"type": "apiKey", "name": "x-api-key", "in": "header"}
    assert definition["components"]["securitySchemes"]["api_key"] == api_key_scheme
    assert definition["x-amazon-apigateway-api-key-source"] == "HEADER"
    assert one(stack, "aws_api_gateway_rest_api")["put_rest_api_mode"] == "overwrite"


@pytest.mark.parametrize(
    ("origins", "allow_origin"),
    [
        ("*", "'*'"),
        ("https://shop.example.com", "'https://shop.example.com'"),
        ("https://shop.example.com,https://admin.example.com", "method.request.header.Origin"),
    ],
)
def test_api_gateways_own_errors_carry_cors_headers(synth, origins, allow_origin):
    responses = api_definition(synth(REVIEWS_CORS_ORIGINS=origins).terraform)["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        assert response["responseParameters"] == {
            "gatewayresponse.header.Access-Control-Allow-Origin": allow_origin,
            "gatewayresponse.header.Vary": "'Origin'",
        }


def test_lambda_permission_is_scoped_to_this_api_stage_and_replaced_with_the_function(stack):
    permission = one(stack, "aws_lambda_permission")
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["source_arn"] == ref(stack, "aws_api_gateway_rest_api", "execution_arn") + "/v1/*/*"
    assert permission["function_name"] == ref(stack, "aws_lambda_function", "function_name")
    # A destroyed function takes its resource policy with it.
    function = address(stack, "aws_lambda_function")
    assert permission["lifecycle"] == {"replace_triggered_by": [f"{function}.id"]}


@pytest.mark.parametrize(
    ("child_type", "parent_type", "argument"),
    [
        ("aws_iam_role_policy_attachment", "aws_iam_role", "role"),
        ("aws_iam_role_policy", "aws_iam_role", "role"),
        ("aws_lambda_permission", "aws_lambda_function", "function_name"),
        ("aws_api_gateway_method_settings", "aws_api_gateway_stage", "stage_name"),
        ("aws_api_gateway_usage_plan", "aws_api_gateway_stage", "api_stages"),
        ("aws_appautoscaling_policy", "aws_appautoscaling_target", "resource_id"),
    ],
)
def test_what_aws_deletes_with_its_parent_is_replaced_with_it(synth, child_type, parent_type, argument):
    # A replaced parent keeps its name, so the child's arguments do not change: without
    # replace_triggered_by, Terraform would keep a child AWS deleted with the old parent.
    stack = synth(REVIEWS_ALARM_EMAIL="oncall@example.com").terraform
    children = stack["resource"][child_type]
    assert children
    for child in children.values():
        [parent] = re.findall(rf"\b({parent_type}\.[A-Za-z0-9_]+)\.", json.dumps(child[argument]))
        assert child["lifecycle"] == {"replace_triggered_by": [f"{parent}.id"]}


def test_deployment_is_replaced_when_the_definition_or_the_user_pool_changes(stack, synth):
    deployment = one(stack, "aws_api_gateway_deployment")
    assert deployment["lifecycle"] == {"create_before_destroy": True}
    pool_arn = ref(stack, "aws_cognito_user_pool", "arn")
    body = one(stack, "aws_api_gateway_rest_api")["body"]
    # The body names the pool by reference, a new ARN only at apply: the hash covers the rest.
    definition = body.replace(pool_arn, USER_POOL_PLACEHOLDER)
    assert deployment["triggers"] == {
        "redeployment": hashlib.sha1(definition.encode()).hexdigest(),
        "user_pool": pool_arn,
    }
    other = one(synth(REVIEWS_CORS_ORIGINS="https://shop.example.com").terraform, "aws_api_gateway_deployment")
    assert other["triggers"] != deployment["triggers"]


def test_nothing_with_a_fixed_name_is_created_before_its_old_copy_is_destroyed(stack):
    # create_before_destroy passes to everything a resource depends on. The deployment depends
    # only on the REST API and the user pool, whose names need not be unique; a function, log
    # group or API key created before its old copy is destroyed would clash on its name.
    creating_first = {
        f"{t}.{n}"
        for t, r in stack["resource"].items()
        for n, b in r.items()
        if b.get("lifecycle", {}).get("create_before_destroy")
    }
    assert {a.split(".")[0] for a in creating_first} == {"aws_api_gateway_deployment"}
    for deployment in creating_first:
        assert {a.split(".")[0] for a in dependencies(stack, deployment)} == {
            "aws_api_gateway_rest_api",
            "aws_cognito_user_pool",
        }


def test_stage_traces_and_writes_json_access_logs_with_retention(stack):
    stage = one(stack, "aws_api_gateway_stage")
    assert stage["stage_name"] == "v1" and stage["xray_tracing_enabled"] is True
    access = stage["access_log_settings"]
    assert access["destination_arn"] == ref(
        stack, "aws_cloudwatch_log_group", "arn", name="/aws/apigateway/ProductReviewsAPI-dev/access"
    )
    fields = json.loads(access["format"])
    assert {"requestId", "status", "resourcePath", "httpMethod"} <= set(fields)
    retention = {g["name"]: g["retention_in_days"] for g in resources(stack, "aws_cloudwatch_log_group")}
    assert set(retention.values()) == {30} and len(retention) == 3


def test_method_settings_throttle_meter_and_log_without_bodies(stack):
    settings = one(stack, "aws_api_gateway_method_settings")
    assert settings["method_path"] == "*/*"
    assert settings["settings"] == {
        "throttling_rate_limit": 10,
        "throttling_burst_limit": 20,
        "metrics_enabled": True,
        "logging_level": "INFO",
        "data_trace_enabled": False,
    }


def test_post_is_protected_by_an_api_key_in_a_usage_plan_bound_to_the_stage(stack):
    plan = one(stack, "aws_api_gateway_usage_plan")
    assert plan["api_stages"] == [
        {
            "api_id": ref(stack, "aws_api_gateway_rest_api", "id"),
            "stage": ref(stack, "aws_api_gateway_stage", "stage_name"),
        }
    ]
    assert plan["throttle_settings"] == {"rate_limit": 10, "burst_limit": 20}
    assert plan["quota_settings"] == {"limit": 500000, "period": "DAY"}
    key = one(stack, "aws_api_gateway_usage_plan_key")
    assert key["key_id"] == ref(stack, "aws_api_gateway_api_key", "id")
    assert key["usage_plan_id"] == ref(stack, "aws_api_gateway_usage_plan", "id")


def test_the_api_key_value_is_never_an_output(stack):
    key_ref = ref(stack, "aws_api_gateway_api_key", "id")
    assert stack["output"]["api_key_id"]["value"] == key_ref
    assert ".value}" not in json.dumps(stack["output"])


def test_throttle_settings_reach_stage_and_usage_plan(synth):
    stack = synth(REVIEWS_THROTTLE_RATE="50", REVIEWS_THROTTLE_BURST="100").terraform
    settings = one(stack, "aws_api_gateway_method_settings")["settings"]
    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (50, 100)
    assert one(stack, "aws_api_gateway_usage_plan")["throttle_settings"] == {"rate_limit": 50, "burst_limit": 100}


# --- Monitoring -------------------------------------------------------------------------


def test_dashboard_has_api_lambda_and_dynamodb_widgets(stack):
    body = json.loads(one(stack, "aws_cloudwatch_dashboard")["dashboard_body"])
    metrics = {(m[0], m[1]) for widget in body["widgets"] for m in widget["properties"]["metrics"]}
    assert metrics >= {
        ("AWS/ApiGateway", "Count"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/ApiGateway", "4XXError"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/Lambda", "Invocations"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/DynamoDB", "ConsumedReadCapacityUnits"),
        ("AWS/DynamoDB", "ConsumedWriteCapacityUnits"),
        ("AWS/DynamoDB", "ReadThrottleEvents"),
        ("ProductReviews", "Fault"),
    }
    assert len(body["widgets"]) >= 10


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(stack):
    assert one(stack, "aws_sns_topic")["kms_master_key_id"] == ref(stack, "aws_kms_key", "arn")
    key = one(stack, "aws_kms_key")
    assert key["enable_key_rotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    assert statements["CloudWatchAlarmsPublish"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(statements["CloudWatchAlarmsPublish"]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    # Without a statement for the account, nobody could ever administer or delete the key.
    assert statements["AccountAdministersTheKey"]["Principal"]["AWS"].endswith(":root")


def test_the_alarm_email_is_no_terraform_resource_but_part_of_the_configuration(stack, synth):
    # SNS deletes an unconfirmed subscription after 48 hours: as a resource it would be a create
    # in every plan. deploy/alarm_email.py subscribes it; the output puts the address in what a
    # plan is reviewed (and an apply checked) against.
    with_email = synth(REVIEWS_ALARM_EMAIL="oncall@example.com").terraform
    assert "aws_sns_topic_subscription" not in with_email["resource"]
    assert with_email["output"]["alarm_email"]["value"] == "oncall@example.com"
    assert stack["output"]["alarm_email"]["value"] == ""


def test_deployments_that_managed_the_subscription_forget_it_without_unsubscribing(stack):
    # The address earlier versions created it at: a destroy would unsubscribe a confirmed
    # address and mail it a new confirmation link.
    assert {"from": "aws_sns_topic_subscription.monitoring_alarm_email_49646F11", "lifecycle": {"destroy": False}} in (
        stack["removed"]
    )


def test_alarms_notify_the_topic_on_alarm_and_ok_and_treat_missing_data_as_healthy(stack):
    topic = ref(stack, "aws_sns_topic", "arn")
    alarms = {a["alarm_name"]: a for a in resources(stack, "aws_cloudwatch_metric_alarm")}
    assert set(alarms) == {
        f"ProductReviews-dev-{name}"
        for name in ("api-4xx-rate", "api-5xx", "lambda-errors", "lambda-throttles", "dynamodb-throttles")
    }
    for alarm in alarms.values():
        assert alarm["alarm_actions"] == [topic] and alarm["ok_actions"] == [topic]
        assert alarm["treat_missing_data"] == "notBreaching"
        assert sum(q["return_data"] for q in alarm["metric_query"]) == 1


def test_4xx_alarm_fires_above_ten_percent_of_requests(stack):
    alarm = next(a for a in resources(stack, "aws_cloudwatch_metric_alarm") if a["alarm_name"].endswith("api-4xx-rate"))
    assert alarm["threshold"] == 10 and alarm["comparison_operator"] == "GreaterThanThreshold"
    queries = {q["id"]: q for q in alarm["metric_query"]}
    assert queries["result"]["expression"] == "IF(requests > 0, 100 * errors / requests, 0)"
    assert queries["errors"]["metric"]["metric_name"] == "4XXError"
    assert queries["requests"]["metric"]["metric_name"] == "Count"
    assert queries["errors"]["metric"]["dimensions"] == {"ApiName": "ProductReviewsAPI-dev", "Stage": "v1"}


def test_handler_faults_alarm_with_lambda_errors(stack):
    alarm = next(
        a for a in resources(stack, "aws_cloudwatch_metric_alarm") if a["alarm_name"].endswith("lambda-errors")
    )
    metrics = {(q["metric"]["namespace"], q["metric"]["metric_name"]) for q in alarm["metric_query"] if "metric" in q}
    assert metrics == {("AWS/Lambda", "Errors"), ("ProductReviews", "Fault")}


# --- Cognito: who the reviewer is ------------------------------------------------------


def test_reviewers_sign_in_with_a_verified_address_and_must_choose_a_display_name(stack):
    pool = one(stack, "aws_cognito_user_pool")
    assert pool["name"] == "ProductReviews-dev"
    assert pool["username_attributes"] == pool["auto_verified_attributes"] == ["email"]
    assert pool["username_configuration"] == {"case_sensitive": False}
    assert pool["account_recovery_setting"] == {"recovery_mechanism": [{"name": "verified_email", "priority": 1}]}
    assert pool["user_attribute_update_settings"] == {"attributes_require_verification_before_update": ["email"]}
    assert pool["admin_create_user_config"] == {"allow_admin_create_user_only": False}
    # The name listings show: a required standard attribute (a custom one cannot be required).
    assert pool["schema"] == [
        {
            "name": contract.DISPLAY_NAME_ATTRIBUTE,
            "attribute_data_type": "String",
            "required": True,
            "mutable": True,
            "string_attribute_constraints": {"min_length": "1", "max_length": str(contract.DISPLAY_NAME_MAX_CHARS)},
        }
    ]


def test_the_storefront_client_is_a_browser_client_that_hides_who_has_an_account(stack):
    client = one(stack, "aws_cognito_user_pool_client")
    assert client["user_pool_id"] == ref(stack, "aws_cognito_user_pool", "id")
    assert client["generate_secret"] is False
    assert client["prevent_user_existence_errors"] == "ENABLED"
    assert client["enable_token_revocation"] is True
    assert client["supported_identity_providers"] == ["COGNITO"]
    assert "allowed_oauth_flows" not in client and "callback_urls" not in client  # no hosted UI
    # The ID token carries the display name and never the e-mail address.
    assert client["read_attributes"] == [contract.DISPLAY_NAME_ATTRIBUTE]
    assert client["write_attributes"] == ["email", contract.DISPLAY_NAME_ATTRIBUTE]


def test_password_sign_in_is_allowed_in_dev_only_unless_set(stack, synth):
    browser = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert one(stack, "aws_cognito_user_pool_client")["explicit_auth_flows"] == [*browser, "ALLOW_USER_PASSWORD_AUTH"]
    prod = synth(ENVIRONMENT_SUFFIX="prod").terraform
    assert one(prod, "aws_cognito_user_pool_client")["explicit_auth_flows"] == browser
    dev_without = synth(REVIEWS_USER_PASSWORD_AUTH="false").terraform
    assert one(dev_without, "aws_cognito_user_pool_client")["explicit_auth_flows"] == browser


def test_token_lifetimes_and_the_password_policy_follow_the_settings(stack, synth):
    client = one(stack, "aws_cognito_user_pool_client")
    assert (client["id_token_validity"], client["access_token_validity"], client["refresh_token_validity"]) == (
        60,
        60,
        30,
    )
    assert client["token_validity_units"] == [
        {"id_token": "minutes", "access_token": "minutes", "refresh_token": "days"}
    ]
    assert one(stack, "aws_cognito_user_pool")["password_policy"] == {
        "minimum_length": 12,
        "require_lowercase": True,
        "require_uppercase": True,
        "require_numbers": True,
        "require_symbols": False,
        "temporary_password_validity_days": 7,
    }
    changed = synth(
        REVIEWS_ID_TOKEN_MINUTES="15",
        REVIEWS_ACCESS_TOKEN_MINUTES="10",
        REVIEWS_REFRESH_TOKEN_DAYS="7",
        REVIEWS_PASSWORD_MIN_LENGTH="16",
        REVIEWS_PASSWORD_CHARACTERS="symbols",
    ).terraform
    client = one(changed, "aws_cognito_user_pool_client")
    assert (client["id_token_validity"], client["access_token_validity"], client["refresh_token_validity"]) == (
        15,
        10,
        7,
    )
    policy = one(changed, "aws_cognito_user_pool")["password_policy"]
    assert policy["minimum_length"] == 16
    assert [policy[f"require_{c}"] for c in ("lowercase", "uppercase", "numbers", "symbols")] == [
        False,
        False,
        False,
        True,
    ]


def test_writes_are_authorized_by_the_pools_id_tokens_in_the_authorization_header(stack):
    scheme = api_definition(stack)["components"]["securitySchemes"]["reviewer"]
    assert scheme == {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "x-amazon-apigateway-authtype": "cognito_user_pools",
        "x-amazon-apigateway-authorizer": {
            "type": "cognito_user_pools",
            "providerARNs": [ref(stack, "aws_cognito_user_pool", "arn")],
        },
    }
    # No method names OAuth scopes: the authorizer then takes ID tokens (docs/api.md).
    requirements = [
        r for p in api_definition(stack)["paths"].values() for o in p.values() for r in o.get("security", [])
    ]
    assert requirements and all(scopes == [] for r in requirements for scopes in r.values())


# --- Parameters, outputs, state, tags --------------------------------------------------


def test_ssm_parameters_hold_the_real_resource_values(stack):
    parameters = {p["name"]: p["value"] for p in resources(stack, "aws_ssm_parameter")}
    assert parameters == {
        "/productreviews/dev/api/throttle-limit": "10",
        "/productreviews/dev/api/gateway-id": ref(stack, "aws_api_gateway_rest_api", "id"),
        "/productreviews/dev/dynamodb/table-arn": ref(stack, "aws_dynamodb_table", "arn"),
        "/productreviews/dev/lambda/function-arn": ref(stack, "aws_lambda_function", "arn"),
        "/productreviews/dev/cognito/user-pool-id": ref(stack, "aws_cognito_user_pool", "id"),
        "/productreviews/dev/cognito/storefront-client-id": ref(stack, "aws_cognito_user_pool_client", "id"),
    }


def test_outputs(stack):
    assert set(stack["output"]) >= {"api_url", "table_name", "function_arn", "api_key_id"}
    assert stack["output"]["api_url"]["value"] == ref(stack, "aws_api_gateway_stage", "invoke_url")
    # What a sign-in page needs, none of it secret.
    assert stack["output"]["user_pool_id"]["value"] == ref(stack, "aws_cognito_user_pool", "id")
    assert stack["output"]["user_pool_client_id"]["value"] == ref(stack, "aws_cognito_user_pool_client", "id")
    endpoint = ref(stack, "aws_cognito_user_pool", "endpoint")
    assert stack["output"]["user_pool_issuer"]["value"] == f"https://{endpoint}"


def test_state_lives_in_a_kms_encrypted_locked_s3_backend_keyed_per_environment(stack, synth):
    backend = stack["terraform"]["backend"]["s3"]
    assert backend == {
        "bucket": "example-terraform-state",
        "key": "product-reviews/dev/terraform.tfstate",
        "region": "us-east-2",
        "encrypt": True,
        "kms_key_id": "arn:aws:kms:us-east-2:111122223333:key/0b8f6a52-7c1e-4d3a-9f2b-5e6c7d8a9b01",
        "use_lockfile": True,
    }
    prod = synth(ENVIRONMENT_SUFFIX="prod").terraform["terraform"]["backend"]["s3"]
    assert prod["key"] == "product-reviews/prod/terraform.tfstate"


def test_provider_is_pinned_and_tags_everything(stack):
    # One exact version, the one Terraform can install here (tests/test_framework.py).
    assert re.fullmatch(r"\d+\.\d+\.\d+", stack["terraform"]["required_providers"]["aws"]["version"])
    [provider] = stack["provider"]["aws"]
    assert provider["region"] == "us-east-2"
    # Nothing that depends on who deploys: another person's deploy of the same stack plans no change.
    assert provider["default_tags"] == [
        {
            "tags": {
                "Environment": "dev",
                "Repository": "example/product-reviews",
                "Project": "ProductReviews",
            }
        }
    ]
    assert provider["allowed_account_ids"] == ["111122223333"]
    assert "endpoints" not in provider and "access_key" not in provider


def test_local_target_points_provider_and_backend_at_the_emulator(synth):
    local = synth(REVIEWS_TARGET="local", REVIEWS_EMULATOR_PORT="4599", REVIEWS_GATEWAY_PORT="8099")
    stack = local.terraform
    [provider] = stack["provider"]["aws"]
    [endpoints] = provider["endpoints"]
    assert set(endpoints.values()) == {"http://127.0.0.1:4599"}
    assert {"dynamodb", "lambda", "apigateway", "applicationautoscaling", "cognitoidp", "sts"} <= set(endpoints)
    assert provider["max_retries"] <= 3
    assert provider["allowed_account_ids"] == ["123456789012"]  # the emulator's account
    backend = stack["terraform"]["backend"]["s3"]
    assert backend["endpoints"] == {"s3": "http://127.0.0.1:4599"} and backend["use_lockfile"] is True
    assert backend["bucket"] == "product-reviews-tfstate-local"
    assert backend["kms_key_id"] == "alias/product-reviews-tfstate-local"  # created with the bucket
    # A stack (and cdktf.out folder) of its own: switching targets never needs -reconfigure.
    assert local.directory.name == "product-reviews-dev-local"
    # `cdktf output` gives the URL the local gateway serves.
    assert stack["output"]["api_url"]["value"] == "http://127.0.0.1:8099/v1"


def test_the_targets_differ_only_in_provider_backend_account_and_url(synth):
    local = synth(REVIEWS_TARGET="local", REVIEWS_ACCOUNT_ID="123456789012").terraform
    aws = synth(REVIEWS_ACCOUNT_ID="123456789012").terraform

    def without_metadata(resources: dict) -> str:  # metadata names the stack, which differs
        return json.dumps(
            {t: {n: {k: v for k, v in b.items() if k != "//"} for n, b in r.items()} for t, r in resources.items()},
            sort_keys=True,
        )

    assert without_metadata(local["resource"]) == without_metadata(aws["resource"])


# --- Whole-stack checks -----------------------------------------------------------------


def test_synth_is_byte_identical_twice(tmp_path, synth_default_into):
    first = synth_default_into(tmp_path / "a").directory / "cdk.tf.json"
    second = synth_default_into(tmp_path / "b").directory / "cdk.tf.json"
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("settings", [{}, {"REVIEWS_BILLING_MODE": "on-demand"}], ids=["provisioned", "on-demand"])
def test_terraform_validate_passes(synth, settings):
    result = terraform_validate(synth(**settings).directory)
    assert result["valid"] is True, result["diagnostics"]
