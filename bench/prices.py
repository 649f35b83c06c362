"""List prices, us-east-1, and what an operation costs at them.

The AWS pricing pages render their rates client-side, so they were read on the date below
through pages quoting them (noted per price); re-check them at the URLs before relying on
the dollar figures. Free tiers and volume discounts are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.billing import Bill

CHECKED_ON = "2026-11-26"
REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    usd: float
    per: float  # how many units `usd` buys
    unit: str
    source: str


DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the 1 Nov 2024 cut of 50 %)"
SQS = "https://aws.amazon.com/sqs/pricing/ (first 100 B requests/month; 64 KB chunks)"
API_GATEWAY = "https://aws.amazon.com/api-gateway/pricing/ (first 1 B messages; 32 KB increments)"
HTTP_API = "https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs, first 300 M requests/month)"
LAMBDA = "https://aws.amazon.com/lambda/pricing/ (arm64, first 7.5 B GB-s/month)"
SNS = "https://aws.amazon.com/sns/pricing/ (standard topics; 64 KB chunks)"
LOGS = "https://aws.amazon.com/cloudwatch/pricing/ (Lambda logs ingested, first 10 TB)"

PRICES: dict[str, Price] = {
    "wru": Price(0.625, 1e6, "write request units", DYNAMODB),
    "rru": Price(0.125, 1e6, "read request units", DYNAMODB),
    "sqs_standard": Price(0.40, 1e6, "standard queue requests", SQS),
    "sqs_fifo": Price(0.50, 1e6, "FIFO queue requests", SQS),
    "api_messages": Price(1.00, 1e6, "WebSocket messages", API_GATEWAY),
    "http_requests": Price(1.00, 1e6, "HTTP API requests (512 KB increments)", HTTP_API),
    "lambda_requests": Price(0.20, 1e6, "invocations", LAMBDA),
    "lambda_gb_seconds": Price(0.0000133334, 1, "GB-second (arm64)", LAMBDA),
    "sns_publishes": Price(0.50, 1e6, "publish requests", SNS),
    "log_gb": Price(0.50, 1, "GB of logs ingested", LOGS),
}
CONNECTION_MINUTE = Price(0.25, 1e6, "WebSocket connection-minutes", API_GATEWAY)

SERVICES = {  # price key -> the service it belongs to, for breakdowns
    "wru": "DynamoDB",
    "rru": "DynamoDB",
    "sqs_standard": "SQS",
    "sqs_fifo": "SQS",
    "api_messages": "API Gateway",
    "http_requests": "API Gateway",
    "lambda_requests": "Lambda",
    "lambda_gb_seconds": "Lambda",
    "sns_publishes": "SNS",
    "log_gb": "CloudWatch Logs",
}


def usage(bill: Bill) -> dict[str, float]:
    """The bill in the units the prices are quoted in."""
    return {
        "wru": bill.wru,
        "rru": bill.rru,
        "sqs_standard": bill.sqs_standard,
        "sqs_fifo": bill.sqs_fifo,
        "api_messages": bill.api_messages,
        "http_requests": bill.http_requests,
        "lambda_requests": bill.lambda_invocations,
        "lambda_gb_seconds": bill.lambda_gb_seconds,
        "sns_publishes": bill.sns_publishes,
        "log_gb": bill.log_bytes / 2**30,
    }


def cost(bill: Bill) -> dict[str, float]:
    """Dollars per price key for one operation, and their `total`."""
    amounts = {key: value * PRICES[key].usd / PRICES[key].per for key, value in usage(bill).items()}
    return {**amounts, "total": sum(amounts.values())}
