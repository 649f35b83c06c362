"""Count the AWS calls made through botocore: that count is Courier's cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient


@dataclass
class CallLog:
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def count(self, service: str | None = None, operation: str | None = None) -> int:
        return sum(
            1
            for s, op, _ in self.calls
            if (service is None or s == service) and (operation is None or op == operation)
        )

    def by_operation(self) -> Counter[str]:
        return Counter(f"{s}.{op}" for s, op, _ in self.calls)

    def dynamodb_item_writes(self) -> int:
        """Items written: each Put/Update/Delete, and each item of a transaction or batch."""
        writes = 0
        for service, op, params in self.calls:
            if service != "dynamodb":
                continue
            if op in {"PutItem", "UpdateItem", "DeleteItem"}:
                writes += 1
            elif op == "TransactWriteItems":
                writes += sum(1 for item in params["TransactItems"] if "ConditionCheck" not in item)
            elif op == "BatchWriteItem":
                writes += sum(len(v) for v in params["RequestItems"].values())
        return writes


@contextmanager
def recording() -> Iterator[CallLog]:
    """Record every botocore API call made inside the block, by any client."""
    log = CallLog()
    original = BaseClient._make_api_call

    def counted(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        log.calls.append((self.meta.service_model.service_name, operation_name, api_params))
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield log
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
