"""The test table: the stack's key schema (stacks/table_schema.py) created in moto."""

from api_client import FUNCTION_NAME
from stacks import table_schema

TABLE_NAME = "reviews-test"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-2",
    "AWS_REGION": "us-east-2",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "TABLE_NAME": TABLE_NAME,
    "REVIEWER_INDEX_NAME": table_schema.REVIEWER_INDEX_NAME,
    "ALLOWED_ORIGINS": "https://shop.example.com, https://admin.example.com",
    "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
}


def create_table(client, name: str) -> None:
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in table_schema.KEY_ATTRIBUTES],
        KeySchema=[
            {"AttributeName": table_schema.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": table_schema.SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": table_schema.REVIEWER_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": table_schema.REVIEWER_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": table_schema.REVIEWER_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            }
        ],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": table_schema.TTL_ATTRIBUTE},
    )
