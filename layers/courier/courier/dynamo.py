"""DynamoDB errors as Courier reads them, whether botocore or PynamoDB raised them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException

DynamoError: TypeAlias = ClientError | PynamoDBException

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)


def error_code(exc: DynamoError) -> str:
    """The AWS error code: PynamoDB wraps botocore's ClientError and keeps it as `cause`."""
    if isinstance(exc, PynamoDBException):
        return exc.cause_response_code or ""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_condition_failure(exc: DynamoError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def is_throttling(exc: DynamoError) -> bool:
    return error_code(exc) in THROTTLING_CODES


def seqs(values: Iterable[int | float] | None) -> frozenset[int]:
    """A number set attribute as seqs (PynamoDB reads numbers as int or float)."""
    return frozenset(int(v) for v in values or ())
