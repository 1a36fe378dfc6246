"""The test table: the contract's key schema (handlers/reviews/contract.py) created in moto."""

from api_client import FUNCTION_NAME
from handlers.reviews import contract

TABLE_NAME = "reviews-test"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-2",
    "AWS_REGION": "us-east-2",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    contract.TABLE_NAME_VARIABLE: TABLE_NAME,
    contract.REVIEWER_INDEX_VARIABLE: contract.REVIEWER_INDEX.name,
    contract.ALLOWED_ORIGINS_VARIABLE: "https://shop.example.com, https://admin.example.com",
    "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
}


def create_table(client, name: str) -> None:
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in contract.KEY_ATTRIBUTES],
        KeySchema=[
            {"AttributeName": contract.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": contract.SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": contract.REVIEWER_INDEX.name,
                "KeySchema": [
                    {"AttributeName": contract.REVIEWER_INDEX.partition_key, "KeyType": "HASH"},
                    {"AttributeName": contract.REVIEWER_INDEX.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": contract.REVIEWER_INDEX.projection},
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            }
        ],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": contract.TTL_ATTRIBUTE},
    )
