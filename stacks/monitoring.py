"""ReviewsMonitoring: the dashboard, the alarm topic and the alarms that notify it."""

import json

from constructs import Construct

from .aws import (
    cloudwatch_dashboard, cloudwatch_metric_alarm, data_aws_caller_identity, kms_alias, kms_key,
    sns_topic, sns_topic_subscription,
)
from .config import MonitoringConfig
from .api import ReviewsApi
from .function import ReviewsFunction
from .table import ReviewsTable

PERIOD_SECONDS = 300
# Where handlers/reviews counts its unhandled faults (CloudWatch Embedded Metric Format).
FAULT_NAMESPACE, FAULT_METRIC = "ProductReviews", "Fault"


def metric(namespace: str, name: str, dimensions: dict, stat: str = "Sum") -> dict:
    return {"namespace": namespace, "name": name, "dimensions": dimensions, "stat": stat}


class ReviewsMonitoring(Construct):
    def __init__(
        self, scope: Construct, id: str, config: MonitoringConfig, *,
        environment: str, region: str, api: ReviewsApi, function: ReviewsFunction, table: ReviewsTable,
    ):
        super().__init__(scope, id)
        self.name_prefix = f"ProductReviews-{environment}"
        self.topic = sns_topic.SnsTopic(
            self, "alarm_topic",
            name=f"{self.name_prefix}-alarms",
            kms_master_key_id=self._alarm_topic_key().arn,
        )
        if config.alarm_email:
            sns_topic_subscription.SnsTopicSubscription(
                self, "alarm_email",
                topic_arn=self.topic.arn, protocol="email", endpoint=config.alarm_email,
            )

        api_dims = {"ApiName": api.name, "Stage": api.stage_name}
        fn_dims = {"FunctionName": function.name}
        table_dims = {"TableName": table.name}
        index_dims = {**table_dims, "GlobalSecondaryIndexName": table.index_name}

        api_metric = lambda name, stat="Sum": metric("AWS/ApiGateway", name, api_dims, stat)
        fn_metric = lambda name, stat="Sum": metric("AWS/Lambda", name, fn_dims, stat)

        widgets = [
            ("API requests", [api_metric("Count")]),
            ("API latency (p50, p99)", [api_metric("Latency", "p50"), api_metric("Latency", "p99")]),
            ("API 4xx errors", [api_metric("4XXError")]),
            ("API 5xx errors", [api_metric("5XXError")]),
            ("Lambda invocations", [fn_metric("Invocations")]),
            ("Lambda duration (avg, p99)", [fn_metric("Duration", "Average"), fn_metric("Duration", "p99")]),
            ("Lambda errors and handler faults", [
                fn_metric("Errors"), metric(FAULT_NAMESPACE, FAULT_METRIC, fn_dims),
            ]),
            ("Lambda throttles", [fn_metric("Throttles")]),
            ("DynamoDB consumed read capacity", [
                metric("AWS/DynamoDB", "ConsumedReadCapacityUnits", table_dims),
                metric("AWS/DynamoDB", "ConsumedReadCapacityUnits", index_dims),
            ]),
            ("DynamoDB consumed write capacity", [
                metric("AWS/DynamoDB", "ConsumedWriteCapacityUnits", table_dims),
                metric("AWS/DynamoDB", "ConsumedWriteCapacityUnits", index_dims),
            ]),
            ("DynamoDB throttle events", [
                metric("AWS/DynamoDB", name, dims)
                for dims in (table_dims, index_dims)
                for name in ("ReadThrottleEvents", "WriteThrottleEvents")
            ]),
        ]
        cloudwatch_dashboard.CloudwatchDashboard(
            self, "dashboard",
            dashboard_name=self.name_prefix,
            dashboard_body=json.dumps({"widgets": [
                {
                    "type": "metric",
                    "x": (i % 2) * 12, "y": (i // 2) * 6, "width": 12, "height": 6,
                    "properties": {
                        "title": title,
                        "region": region,
                        "period": PERIOD_SECONDS,
                        "view": "timeSeries",
                        "metrics": [
                            [m["namespace"], m["name"], *sum(m["dimensions"].items(), ()), {"stat": m["stat"]}]
                            for m in metrics
                        ],
                    },
                }
                for i, (title, metrics) in enumerate(widgets)
            ]}),
        )

        self._alarm(
            "api_4xx_rate",
            "More than 10% of API requests answered 4xx over 5 minutes",
            threshold=10,
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            metrics={"errors": api_metric("4XXError"), "requests": api_metric("Count")},
            evaluation_periods=2, datapoints_to_alarm=1,
        )
        self._alarm(
            "api_5xx",
            "The API answered 5xx (function faults, timeouts or integration errors)",
            threshold=0, metrics={"errors": api_metric("5XXError")},
        )
        self._alarm(
            "lambda_errors",
            "The function crashed or timed out, or the handler answered 500 (Fault metric)",
            threshold=0,
            expression="crashes + faults",
            metrics={
                "crashes": fn_metric("Errors"),
                "faults": metric(FAULT_NAMESPACE, FAULT_METRIC, fn_dims),
            },
        )
        self._alarm(
            "lambda_throttles",
            "Invocations were throttled: reserved concurrency is exhausted",
            threshold=0, metrics={"throttles": fn_metric("Throttles")},
        )
        throttle_metrics = {
            f"{scope}_{kind}": metric("AWS/DynamoDB", f"{kind.capitalize()}ThrottleEvents", dims)
            for scope, dims in (("table", table_dims), ("index", index_dims))
            for kind in ("read", "write")
        }
        self._alarm(
            "dynamodb_throttles",
            "DynamoDB throttled reads or writes on the table or its reviewer index",
            threshold=0, expression=" + ".join(throttle_metrics), metrics=throttle_metrics,
        )

    def _alarm_topic_key(self) -> kms_key.KmsKey:
        """A customer-managed key for the alarm topic: CloudWatch cannot publish to a topic
        encrypted with the AWS managed key aws/sns, whose policy cannot be given to it."""
        account = data_aws_caller_identity.DataAwsCallerIdentity(self, "account")
        key = kms_key.KmsKey(
            self, "alarm_topic_key",
            description=f"Encrypts the {self.name_prefix} alarm topic",
            enable_key_rotation=True,
            policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountAdministersTheKey",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "CloudWatchAlarmsPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudwatch.amazonaws.com"},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                    },
                ],
            }),
        )
        kms_alias.KmsAlias(
            self, "alarm_topic_key_alias", name=f"alias/{self.name_prefix}-alarms", target_key_id=key.key_id
        )
        return key

    def _alarm(
        self, key, description, *, threshold, metrics, expression=None,
        evaluation_periods=1, datapoints_to_alarm=1,
    ):
        """An alarm on one metric, or on `expression` over several, notifying on ALARM and OK.
        No data means no traffic, which is healthy: missing data never breaches."""
        queries = [
            cloudwatch_metric_alarm.CloudwatchMetricAlarmMetricQuery(
                id=query_id,
                return_data=expression is None,
                metric=cloudwatch_metric_alarm.CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=m["namespace"], metric_name=m["name"], dimensions=m["dimensions"],
                    stat=m["stat"], period=PERIOD_SECONDS,
                ),
            )
            for query_id, m in metrics.items()
        ]
        if expression is not None:
            queries.append(cloudwatch_metric_alarm.CloudwatchMetricAlarmMetricQuery(
                id="result", expression=expression, label=description, return_data=True,
            ))
        cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            self, key,
            alarm_name=f"{self.name_prefix}-{key.replace('_', '-')}",
            alarm_description=description,
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            metric_query=queries,
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
        )
