"""DynamoDB's attribute-value wire format, for the baselines that talk to DynamoDB raw."""

from __future__ import annotations

from typing import Any

Item = dict[str, dict[str, Any]]


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
