"""The reviews API's HTTP layer rebuilt on AWS Lambda Powertools' APIGatewayRestResolver, for
benchmarks/http_layer.py to measure against handlers/reviews/app.py (docs/http-layer.md)."""
