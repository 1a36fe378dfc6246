"""ReviewsTable: the DynamoDB table, its reviewer index and their capacity autoscaling."""

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from . import table_schema as schema
from .aws import appautoscaling_policy, appautoscaling_target, dynamodb_table
from .config import TableConfig

INITIAL_CAPACITY = 5

# (scalable dimension, predefined metric, resource-id suffix): the four things that scale.
SCALING_DIMENSIONS = {
    "table_read": ("dynamodb:table:ReadCapacityUnits", "DynamoDBReadCapacityUtilization", ""),
    "table_write": ("dynamodb:table:WriteCapacityUnits", "DynamoDBWriteCapacityUtilization", ""),
    "index_read": (
        "dynamodb:index:ReadCapacityUnits", "DynamoDBReadCapacityUtilization",
        f"/index/{schema.REVIEWER_INDEX_NAME}",
    ),
    "index_write": (
        "dynamodb:index:WriteCapacityUnits", "DynamoDBWriteCapacityUtilization",
        f"/index/{schema.REVIEWER_INDEX_NAME}",
    ),
}


class ReviewsTable(Construct):
    """Exposes `name`, `arn`, `index_name` and `index_arn` for the function's grant and for monitoring."""

    def __init__(self, scope: Construct, id: str, config: TableConfig):
        super().__init__(scope, id)
        provisioned = config.billing_mode == "provisioned"
        capacity = (
            {"read_capacity": INITIAL_CAPACITY, "write_capacity": INITIAL_CAPACITY}
            if provisioned
            else {}
        )

        self.table = dynamodb_table.DynamodbTable(
            self,
            "table",
            name=config.name,
            billing_mode="PROVISIONED" if provisioned else "PAY_PER_REQUEST",
            hash_key=schema.PARTITION_KEY,
            range_key=schema.SORT_KEY,
            attribute=[
                dynamodb_table.DynamodbTableAttribute(name=name, type="S")
                for name in schema.KEY_ATTRIBUTES
            ],
            global_secondary_index=[
                dynamodb_table.DynamodbTableGlobalSecondaryIndex(
                    name=schema.REVIEWER_INDEX_NAME,
                    hash_key=schema.REVIEWER_INDEX_PARTITION_KEY,
                    range_key=schema.REVIEWER_INDEX_SORT_KEY,
                    projection_type="ALL",
                    **capacity,
                )
            ],
            ttl=dynamodb_table.DynamodbTableTtl(attribute_name=schema.TTL_ATTRIBUTE, enabled=True),
            point_in_time_recovery=dynamodb_table.DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=dynamodb_table.DynamodbTableServerSideEncryption(enabled=True),
            deletion_protection_enabled=config.deletion_protection,
            # The autoscaler owns capacity after creation; Terraform must not reset it.
            lifecycle=TerraformResourceLifecycle(
                ignore_changes=["read_capacity", "write_capacity", "global_secondary_index"]
            )
            if provisioned
            else None,
            **capacity,
        )
        self.name = config.name
        self.index_name = schema.REVIEWER_INDEX_NAME
        self.arn = self.table.arn
        self.index_arn = f"{self.table.arn}/index/{schema.REVIEWER_INDEX_NAME}"

        if provisioned:
            self._autoscale(config)

    def _autoscale(self, config: TableConfig) -> None:
        for label, (dimension, metric, suffix) in SCALING_DIMENSIONS.items():
            target = appautoscaling_target.AppautoscalingTarget(
                self,
                f"{label}_target",
                service_namespace="dynamodb",
                resource_id=f"table/{config.name}{suffix}",
                scalable_dimension=dimension,
                min_capacity=config.min_capacity,
                max_capacity=config.max_capacity,
                depends_on=[self.table],
            )
            appautoscaling_policy.AppautoscalingPolicy(
                self,
                f"{label}_policy",
                name=f"{config.name}-{label.replace('_', '-')}-utilization",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                target_tracking_scaling_policy_configuration=(
                    appautoscaling_policy.AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                        target_value=config.target_utilization,
                        predefined_metric_specification=appautoscaling_policy.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                            predefined_metric_type=metric,
                        ),
                    )
                ),
            )
