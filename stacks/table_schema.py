"""The reviews table's key schema: one definition shared by the stack and the handler tests.

Plain data with no CDKTF import, so the handler tests can create the same table in moto
without paying for a synth; tests/test_stack.py checks the synthesized table against it.
"""

PARTITION_KEY = "product_id"
SORT_KEY = "review_id"
REVIEWER_INDEX_NAME = "ReviewerIdIndex"
REVIEWER_INDEX_PARTITION_KEY = "reviewer_id"
# review_id is time-ordered (see handlers/reviews), so it also orders a reviewer's reviews.
REVIEWER_INDEX_SORT_KEY = "review_id"
# Idempotency records expire through DynamoDB TTL on this attribute.
TTL_ATTRIBUTE = "expires_at"

# Every key attribute is a string.
KEY_ATTRIBUTES = (PARTITION_KEY, SORT_KEY, REVIEWER_INDEX_PARTITION_KEY)
