"""ReviewsTable: the DynamoDB table, its indexes, their capacity autoscaling, and the grant that
lets the handler use them."""

from typing import TypedDict

from constructs import Construct

from handlers.reviews import contract

from .aws import (
    appautoscaling_policy,
    appautoscaling_target,
    data_aws_dynamodb_table,
    data_aws_dynamodb_tables,
    dynamodb_table,
    iam_role,
    iam_role_policy,
)
from .config import TableConfig
from .framework import Token
from .iam import allow, policy_document
from .lifecycle import replaced_with

# The four things that scale: (label, scalable dimension, predefined utilization metric).
READ_WRITE = (
    ("read", "ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
    ("write", "WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"),
)


class ReviewsTable(Construct):
    """Exposes `name`, `arn` and `index_arn(index)`; `grant_handler_access(role)` grants the
    handler exactly the contract's actions."""

    def __init__(self, scope: Construct, id: str, config: TableConfig):
        super().__init__(scope, id)
        self.config = config
        provisioned = config.billing_mode == "provisioned"
        if provisioned:
            capacity = LiveCapacity(self, "live_capacity", config)

        self.table = dynamodb_table.DynamodbTable(
            self,
            "table",
            name=config.name,
            billing_mode="PROVISIONED" if provisioned else "PAY_PER_REQUEST",
            hash_key=contract.PARTITION_KEY,
            range_key=contract.SORT_KEY,
            attribute=[dynamodb_table.DynamodbTableAttribute(name=name, type="S") for name in contract.KEY_ATTRIBUTES],
            global_secondary_index=[
                dynamodb_table.DynamodbTableGlobalSecondaryIndex(
                    name=index.name,
                    hash_key=index.partition_key,
                    range_key=index.sort_key,
                    projection_type=index.projection,
                    **(capacity.of(index.name) if provisioned else Capacity()),
                )
                for index in contract.INDEXES
            ],
            ttl=dynamodb_table.DynamodbTableTtl(attribute_name=contract.TTL_ATTRIBUTE, enabled=True),
            point_in_time_recovery=dynamodb_table.DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=dynamodb_table.DynamodbTableServerSideEncryption(enabled=True),
            deletion_protection_enabled=config.deletion_protection,
            **(capacity.of() if provisioned else Capacity()),
        )
        self.name = config.name
        self.arn = self.table.arn
        if provisioned:
            self._autoscale()

    def index_arn(self, index: contract.Index) -> str:
        return f"{self.arn}/index/{index.name}"

    def grant_handler_access(self, role: iam_role.IamRole) -> None:
        iam_role_policy.IamRolePolicy(
            self,
            "handler_access",
            name="reviews-table-access",
            role=role.id,
            lifecycle=replaced_with(role),
            policy=policy_document(
                allow(contract.TABLE_ACTIONS, self.arn),
                *(allow(contract.INDEX_ACTIONS, self.index_arn(index)) for index in contract.INDEXES),
            ),
        )

    def _autoscale(self) -> None:
        """Target tracking on reads and writes of the table and of every index."""
        scaled = [("table", "table", f"table/{self.name}")]
        scaled += [(f"index_{i.name}", "index", f"table/{self.name}/index/{i.name}") for i in contract.INDEXES]
        for label, kind, resource_id in scaled:
            for operation, units, metric in READ_WRITE:
                target = appautoscaling_target.AppautoscalingTarget(
                    self,
                    f"{label}_{operation}_target",
                    service_namespace="dynamodb",
                    resource_id=resource_id,
                    scalable_dimension=f"dynamodb:{kind}:{units}",
                    min_capacity=self.config.min_capacity,
                    max_capacity=self.config.max_capacity,
                    depends_on=[self.table],
                )
                appautoscaling_policy.AppautoscalingPolicy(
                    self,
                    f"{label}_{operation}_policy",
                    name=f"{self.name}-{label}-{operation}-utilization",
                    policy_type="TargetTrackingScaling",
                    service_namespace=target.service_namespace,
                    resource_id=target.resource_id,
                    scalable_dimension=target.scalable_dimension,
                    lifecycle=replaced_with(target),
                    target_tracking_scaling_policy_configuration=(
                        appautoscaling_policy.AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                            target_value=self.config.target_utilization,
                            predefined_metric_specification=appautoscaling_policy.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                                predefined_metric_type=metric,
                            ),
                        )
                    ),
                )


class Capacity(TypedDict, total=False):
    """The capacity arguments of a table or an index: none when billed per request."""

    read_capacity: float
    write_capacity: float


class LiveCapacity(Construct):
    """The capacity the autoscaler has set, read from the live table at plan time.

    The autoscaler owns capacity after creation. The usual `ignore_changes` on
    `global_secondary_index` would also hide every index change (projection, keys, a new
    index), and the provider cannot ignore capacity inside that block alone. So the table's
    configuration carries the live capacity instead: an autoscaled value never shows as drift,
    and every other index change plans and applies. Before the table exists (and for a new
    index, or a table that was billed per request) the value is the configured minimum.
    """

    def __init__(self, scope: Construct, id: str, config: TableConfig):
        super().__init__(scope, id)
        self.minimum = config.min_capacity
        tables = data_aws_dynamodb_tables.DataAwsDynamodbTables(self, "tables")
        self.current = data_aws_dynamodb_table.DataAwsDynamodbTable(
            self,
            "current",
            name=config.name,
            # `names` is null, not [], in a region without tables.
            count=Token.as_number(f'${{try(contains({tables.fqn}.names, "{config.name}"), false) ? 1 : 0}}'),
        )

    def of(self, index_name: str | None = None) -> Capacity:
        """The capacity arguments for the table, or for one of its indexes."""
        return Capacity(
            read_capacity=Token.as_number(self._expression("read", index_name)),
            write_capacity=Token.as_number(self._expression("write", index_name)),
        )

    def _expression(self, operation: str, index_name: str | None) -> str:
        """The live capacity, never below the configured minimum. With no live capacity, the
        minimum: `try` catches the error of a table that does not exist yet, and `coalesce`
        the null of an index that does not (`one([])` is null, which `try` passes through);
        `max` lifts the 0 that a table billed per request reports when it switches to
        provisioned."""
        current = f"{self.current.fqn}[0]"
        live = f"{current}.{operation}_capacity"
        if index_name is not None:
            live = (
                f"one([for index in {current}.global_secondary_index : "
                f'index.{operation}_capacity if index.name == "{index_name}"])'
            )
        return f"${{max({self.minimum}, try(coalesce({live}, 0), 0))}}"
