"""ReviewsMonitoring: the dashboard, the alarm topic and the alarms that notify it."""

import json
from dataclasses import dataclass
from typing import TypedDict

from constructs import Construct

from handlers.reviews import contract

from .api import ReviewsApi
from .aws import cloudwatch_dashboard, cloudwatch_metric_alarm, kms_alias, kms_key, sns_topic
from .config import MonitoringConfig, TargetConfig
from .function import ReviewsFunction
from .table import ReviewsTable

PERIOD_SECONDS = 300


class Metric(TypedDict):
    """A CloudWatch metric and the statistic an alarm or a dashboard graph takes of it."""

    namespace: str
    name: str
    dimensions: dict[str, str]
    stat: str


def metric(namespace: str, name: str, dimensions: dict[str, str], stat: str = "Sum") -> Metric:
    return Metric(namespace=namespace, name=name, dimensions=dimensions, stat=stat)


@dataclass(frozen=True)
class Metrics:
    """The metrics of one deployment, by where they come from."""

    api: dict[str, str]
    function: dict[str, str]
    table: dict[str, str]
    index: dict[str, str]

    def of_api(self, name: str, stat: str = "Sum") -> Metric:
        return metric("AWS/ApiGateway", name, self.api, stat)

    def of_function(self, name: str, stat: str = "Sum") -> Metric:
        return metric("AWS/Lambda", name, self.function, stat)

    def fault(self) -> Metric:
        """The handler's own count of requests it could not serve (Embedded Metric Format)."""
        return metric(contract.METRIC_NAMESPACE, contract.FAULT_METRIC, self.function)

    def of_table(self, name: str) -> list[Metric]:
        return [metric("AWS/DynamoDB", name, dims) for dims in (self.table, self.index)]


class ReviewsMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        config: MonitoringConfig,
        *,
        target: TargetConfig,
        api: ReviewsApi,
        function: ReviewsFunction,
        table: ReviewsTable,
    ):
        super().__init__(scope, id)
        self.name_prefix = config.name_prefix
        self.target = target
        self.topic = sns_topic.SnsTopic(
            self,
            "alarm_topic",
            name=config.alarm_topic_name,
            kms_master_key_id=self._alarm_topic_key().arn,
        )
        # The e-mail subscription is not a Terraform resource: deploy/alarm_email.py says why.
        table_dims = {"TableName": table.name}
        metrics = Metrics(
            api={"ApiName": api.name, "Stage": api.stage_name},
            function={contract.METRIC_DIMENSION: function.name},
            table=table_dims,
            index={**table_dims, "GlobalSecondaryIndexName": contract.REVIEWER_INDEX.name},
        )
        self._dashboard(metrics)
        self._alarms(metrics)

    def _dashboard(self, m: Metrics) -> None:
        widgets = [
            ("API requests", [m.of_api("Count")]),
            ("API latency (p50, p99)", [m.of_api("Latency", "p50"), m.of_api("Latency", "p99")]),
            ("API 4xx errors", [m.of_api("4XXError")]),
            ("API 5xx errors", [m.of_api("5XXError")]),
            ("Lambda invocations", [m.of_function("Invocations")]),
            ("Lambda duration (avg, p99)", [m.of_function("Duration", "Average"), m.of_function("Duration", "p99")]),
            ("Lambda errors and handler faults", [m.of_function("Errors"), m.fault()]),
            ("Lambda throttles", [m.of_function("Throttles")]),
            ("DynamoDB consumed read capacity", m.of_table("ConsumedReadCapacityUnits")),
            ("DynamoDB consumed write capacity", m.of_table("ConsumedWriteCapacityUnits")),
            (
                "DynamoDB throttle events",
                [
                    metric("AWS/DynamoDB", name, dims)
                    for dims in (m.table, m.index)
                    for name in ("ReadThrottleEvents", "WriteThrottleEvents")
                ],
            ),
        ]
        cloudwatch_dashboard.CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.name_prefix,
            dashboard_body=json.dumps(
                {
                    "widgets": [
                        {
                            "type": "metric",
                            "x": (i % 2) * 12,
                            "y": (i // 2) * 6,
                            "width": 12,
                            "height": 6,
                            "properties": {
                                "title": title,
                                "region": self.target.region,
                                "period": PERIOD_SECONDS,
                                "view": "timeSeries",
                                "metrics": [
                                    [q["namespace"], q["name"], *sum(q["dimensions"].items(), ()), {"stat": q["stat"]}]
                                    for q in queries
                                ],
                            },
                        }
                        for i, (title, queries) in enumerate(widgets)
                    ]
                }
            ),
        )

    def _alarms(self, m: Metrics) -> None:
        self._alarm(
            "api_4xx_rate",
            "More than 10% of API requests answered 4xx over 5 minutes",
            threshold=10,
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            metrics={"errors": m.of_api("4XXError"), "requests": m.of_api("Count")},
            evaluation_periods=2,
            datapoints_to_alarm=1,
        )
        self._alarm(
            "api_5xx",
            "The API answered 5xx (function faults, timeouts or integration errors)",
            threshold=0,
            metrics={"errors": m.of_api("5XXError")},
        )
        self._alarm(
            "lambda_errors",
            "The function crashed or timed out, or the handler could not serve a request (Fault metric)",
            threshold=0,
            expression="crashes + faults",
            metrics={"crashes": m.of_function("Errors"), "faults": m.fault()},
        )
        self._alarm(
            "lambda_throttles",
            "Invocations were throttled: reserved concurrency is exhausted",
            threshold=0,
            metrics={"throttles": m.of_function("Throttles")},
        )
        throttle_metrics = {
            f"{scope}_{kind}": metric("AWS/DynamoDB", f"{kind.capitalize()}ThrottleEvents", dims)
            for scope, dims in (("table", m.table), ("index", m.index))
            for kind in ("read", "write")
        }
        self._alarm(
            "dynamodb_throttles",
            "DynamoDB throttled reads or writes on the table or its reviewer index",
            threshold=0,
            expression=" + ".join(throttle_metrics),
            metrics=throttle_metrics,
        )

    def _alarm_topic_key(self) -> kms_key.KmsKey:
        """A customer-managed key for the alarm topic: CloudWatch cannot publish to a topic
        encrypted with the AWS managed key aws/sns, whose policy cannot be given to it."""
        key = kms_key.KmsKey(
            self,
            "alarm_topic_key",
            description=f"Encrypts the {self.name_prefix} alarm topic",
            enable_key_rotation=True,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministersTheKey",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{self.target.account_id}:root"},
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
                }
            ),
        )
        kms_alias.KmsAlias(
            self, "alarm_topic_key_alias", name=f"alias/{self.name_prefix}-alarms", target_key_id=key.key_id
        )
        return key

    def _alarm(
        self,
        key: str,
        description: str,
        *,
        threshold: float,
        metrics: dict[str, Metric],
        expression: str | None = None,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int = 1,
    ) -> None:
        """An alarm on one metric, or on `expression` over several, notifying on ALARM and OK.
        No data means no traffic, which is healthy: missing data never breaches."""
        queries = [
            cloudwatch_metric_alarm.CloudwatchMetricAlarmMetricQuery(
                id=query_id,
                return_data=expression is None,
                metric=cloudwatch_metric_alarm.CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=query["namespace"],
                    metric_name=query["name"],
                    dimensions=query["dimensions"],
                    stat=query["stat"],
                    period=PERIOD_SECONDS,
                ),
            )
            for query_id, query in metrics.items()
        ]
        if expression is not None:
            queries.append(
                cloudwatch_metric_alarm.CloudwatchMetricAlarmMetricQuery(
                    id="result",
                    expression=expression,
                    label=description,
                    return_data=True,
                )
            )
        cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            self,
            key,
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
