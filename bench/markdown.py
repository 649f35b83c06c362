"""Markdown tables and the figures in them, for bench/results/REPORT.md."""

from __future__ import annotations

from collections.abc import Sequence

from bench.results import BillRow


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """A Markdown table; columns after the first `left` ones are right-aligned."""
    align = ["---"] * left + ["---:"] * (len(headers) - left)
    return [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def per_million(usd: float) -> str:
    return f"${usd * 1e6:,.2f}"


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator else "—"


def units_row(title: str, row: BillRow) -> list[str]:
    return [
        title,
        num(row["calls"]),
        num(row["wru"]),
        num(row["rru"]),
        num(row["sqs_requests"]),
        num(row["api_messages"]),
        num(row["lambda_invocations"]),
        f"{row['lambda_gb_seconds']:.3f}",
        num(row["sns_publishes"]),
        f"{row['log_bytes'] / 1024:,.1f}",
        per_million(row["usd"]["total"]),
    ]


UNIT_HEADERS = [
    "operation",
    "AWS calls",
    "WRU",
    "RRU",
    "SQS requests",
    "API GW messages",
    "Lambda invocations",
    "Lambda GB-s",
    "SNS publishes",
    "log KB",
    "$ per million",
]


def calls_by_operation(row: BillRow) -> str:
    return ", ".join(f"{op.split('.')[-1]} {n:,}" for op, n in row["by_operation"].items())
