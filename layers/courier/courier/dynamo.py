"""Small helpers for DynamoDB's attribute-value wire format and its errors."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

Item = dict[str, dict[str, Any]]

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def get_s(item: Item, name: str, default: str = "") -> str:
    attr = item.get(name)
    return attr["S"] if attr else default


def get_n(item: Item, name: str, default: int = 0) -> int:
    attr = item.get(name)
    return int(attr["N"]) if attr else default


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_condition_failure(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def is_throttling(exc: ClientError) -> bool:
    return error_code(exc) in THROTTLING_CODES
