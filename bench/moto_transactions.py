"""python -m bench.moto_transactions [--sizes 200 5000] [--seconds 1.5]: what one DynamoDB
request costs in-process moto as its tables fill, as moto ships and with the local stack's
cost patches (local/moto_patches.py, DynamoDBCostPatches).

Each measurement runs in a fresh mock with the template's tables, each filled with `size`
items (set-up, not measured), then counts requests per second through a boto3 client:

- TransactWriteItems of 4 Puts on 4 tables, as a send writes (Dedup, Channels, Messages,
  Memberships); each Put replaces an item already there, so the tables keep their size;
- GetItem of a channel's counter row;
- Query of one channel's last 20 messages (base table, newest first);
- Query of one channel's members on the ByChannel index (a global secondary index: moto
  reads the whole table for it, patched or not).

Messages and members are 10 a channel whatever the size, so that a Query returns as much
at 200 items as at 5,000: what changes with the size is what moto reads to answer it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from bench.results import Rates
from local.moto_patches import DynamoDBCostPatches
from local.template import create_tables, load_template

REGION = "us-east-1"
PER_CHANNEL = 10  # items of Messages and Memberships per channel: what a Query returns
SIZES = (200, 5_000)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _items(i: int) -> dict[str, dict[str, Any]]:
    """The i-th item of each table, as a send would write it."""
    channel = f"g:bench-{i // PER_CHANNEL}"
    return {
        "DedupTable": {"dedupKey": _s(f"u{i}#{i}"), "channel": _s(channel), "seq": _n(i)},
        "ChannelsTable": {"channel": _s(f"g:bench-{i}"), "lastSeq": _n(i), "lastTs": _n(i)},
        "MessagesTable": {"channel": _s(channel), "seq": _n(i), "body": _s("x" * 64)},
        "MembershipsTable": {"userId": _s(f"u{i}"), "channel": _s(channel), "readSeq": _n(i)},
    }


def _rate(seconds: float, step: Callable[[int], None], at_least: int = 3) -> float:
    """How many times per second `step` runs back to back (for `seconds`, `at_least` times)."""
    started, count = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - started) < seconds or count < at_least:
        step(count)
        count += 1
    return count / elapsed


@contextmanager
def _filled_tables(size: int) -> Iterator[tuple[Any, dict[str, str]]]:
    """A fresh mock: the template's tables, `size` items in each; a client and the names."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        names = create_tables(client, load_template())
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        for i in range(size):
            for logical_id, item in _items(i).items():
                backend.put_item(names[logical_id], item)
        yield client, names


def measure(size: int, patched: bool, seconds: float) -> Rates:
    patches = DynamoDBCostPatches()
    if patched:
        patches.install()
    try:
        with _filled_tables(size) as (client, names):
            channels = max(1, size // PER_CHANNEL)

            def transact(i: int) -> None:
                items = _items(i % size)
                client.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": names[logical_id], "Item": item}}
                        for logical_id, item in items.items()
                    ]
                )

            def get(i: int) -> None:
                client.get_item(
                    TableName=names["ChannelsTable"], Key={"channel": _s(f"g:bench-{i % size}")}
                )

            def query(i: int) -> None:
                client.query(
                    TableName=names["MessagesTable"],
                    KeyConditionExpression="channel = :c",
                    ExpressionAttributeValues={":c": _s(f"g:bench-{i % channels}")},
                    ScanIndexForward=False,
                    Limit=20,
                )

            def index_query(i: int) -> None:
                client.query(
                    TableName=names["MembershipsTable"],
                    IndexName="ByChannel",
                    KeyConditionExpression="channel = :c",
                    ExpressionAttributeValues={":c": _s(f"g:bench-{i % channels}")},
                )

            return {
                "size": size,
                "patched": patched,
                "transact_per_s": _rate(seconds, transact),
                "get_per_s": _rate(seconds, get),
                "query_per_s": _rate(seconds, query),
                "index_query_per_s": _rate(seconds, index_query),
            }
    finally:
        patches.uninstall()


def run_moto_transactions(
    sizes: tuple[int, ...] = SIZES,
    seconds: float = 1.5,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Rates]:
    """Every size as moto ships, then patched, each in a fresh mock."""
    rates = []
    for size in sizes:
        for patched in (False, True):
            progress(f"moto: {size} items a table, {'patched' if patched else 'as moto ships'}")
            rates.append(measure(size, patched, seconds))
    return rates


def table(rates: list[Rates]) -> str:
    lines = [
        "| items/table | moto | TransactWriteItems/s | GetItem/s | Query/s | GSI Query/s |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in rates:
        lines.append(
            f"| {r['size']:,} | {'patched' if r['patched'] else 'as shipped'} "
            f"| {r['transact_per_s']:,.1f} | {r['get_per_s']:,.0f} "
            f"| {r['query_per_s']:,.0f} | {r['index_query_per_s']:,.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.moto_transactions", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seconds", type=float, default=1.5, help="per measurement")
    args = parser.parse_args()
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {message}", flush=True)

    print(table(run_moto_transactions(tuple(args.sizes), args.seconds, progress)))


if __name__ == "__main__":
    main()
