"""local/moto_patches.py: where the local stack makes moto behave as AWS does."""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import responses
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.exceptions import TransactWriteSingleOpException
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.sqs.models import Queue, SQSBackend, sqs_backends
from moto.sqs.responses import SQSResponse

from local import moto_patches
from local.moto_patches import (
    AtomicDynamoDB,
    DynamoDBCostPatches,
    FifoDeduplicationWindow,
    PartitionQuery,
    ResponseMethodCache,
    SqsCostPatches,
    TransactionRollbackByItem,
    UpdateExpressionCache,
)


@pytest.fixture
def fifo_queue() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        yield sqs, url


def send_and_consume(sqs: Any, url: str, dedup_id: str) -> list[str]:
    """Send one job with `dedup_id`, then receive and delete whatever is there."""
    sqs.send_message(
        QueueUrl=url, MessageBody=dedup_id, MessageGroupId="g", MessageDeduplicationId=dedup_id
    )
    bodies = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies.append(message["Body"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_fifo_deduplication_outlives_the_deleted_message(fifo_queue: tuple[Any, str]) -> None:
    sqs, url = fifo_queue
    window = FifoDeduplicationWindow()
    window.install()
    try:
        assert send_and_consume(sqs, url, "chunk-1") == ["chunk-1"]
        assert send_and_consume(sqs, url, "chunk-1") == []  # SQS: same id within 5 minutes
        assert send_and_consume(sqs, url, "chunk-2") == ["chunk-2"]
    finally:
        window.uninstall()
    assert send_and_consume(sqs, url, "chunk-1") == ["chunk-1"]  # moto's own behaviour again


def test_fifo_deduplication_window_expires() -> None:
    window = FifoDeduplicationWindow(window_seconds=300)
    assert window.first_sighting("arn:q", "id", now=1000.0)
    assert not window.first_sighting("arn:q", "id", now=1299.0)
    assert window.first_sighting("arn:other", "id", now=1299.0)
    assert window.first_sighting("arn:q", "id", now=1300.0)


# ----------------------------------------------------------- DynamoDB cost patches

REGION = "us-east-1"
COUNTERS, MESSAGES, MEMBERS = "counters", "messages", "members"
INITIAL_MESSAGES = 30  # per channel


@pytest.fixture
def moto_as_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's own TransactWriteItems and Query, whatever a session fixture installed."""
    monkeypatch.setattr(
        DynamoDBBackend,
        "transact_write_items",
        inspect.unwrap(DynamoDBBackend.transact_write_items),
    )
    monkeypatch.setattr(Table, "query", inspect.unwrap(Table.query))


@contextlib.contextmanager
def patched(*patches: Any) -> Iterator[None]:
    for patch in patches:
        patch.install()
    try:
        yield
    finally:
        for patch in reversed(patches):
            patch.uninstall()


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int | str) -> dict[str, str]:
    return {"N": str(value)}


def create_tables(dynamodb: Any) -> None:
    def key(name: str, kind: str, key_type: str) -> tuple[dict[str, str], dict[str, str]]:
        return (
            {"AttributeName": name, "AttributeType": kind},
            {"AttributeName": name, "KeyType": key_type},
        )

    def table(name: str, *keys: tuple[dict[str, str], dict[str, str]], **extra: Any) -> None:
        definitions = [definition for definition, _ in keys] + extra.pop("definitions", [])
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=definitions,
            KeySchema=[schema for _, schema in keys],
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )

    table(COUNTERS, key("channel", "S", "HASH"))
    table(
        MESSAGES,
        key("channel", "S", "HASH"),
        key("seq", "N", "RANGE"),
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    table(
        MEMBERS,
        key("userId", "S", "HASH"),
        key("channel", "S", "RANGE"),
        definitions=[
            {"AttributeName": "role", "AttributeType": "S"},
            {"AttributeName": "level", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByChannel",
                "KeySchema": [
                    {"AttributeName": "channel", "KeyType": "HASH"},
                    {"AttributeName": "userId", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "ByRole",
                "KeySchema": [{"AttributeName": "role", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "ByLevel",
                "KeySchema": [{"AttributeName": "level", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )
    table("numbers", key("id", "N", "HASH"), key("at", "N", "RANGE"))


def seed(dynamodb: Any) -> None:
    for channel in ("c1", "c2", "c3"):
        dynamodb.put_item(TableName=COUNTERS, Item={"channel": s(channel), "lastSeq": n(5)})
        for seq in range(1, INITIAL_MESSAGES + 1):
            dynamodb.put_item(
                TableName=MESSAGES,
                Item={"channel": s(channel), "seq": n(seq), "body": s(f"{channel}-{seq % 4}")},
            )
    for user in range(12):
        for group in range(4):
            item = {"userId": s(f"u{user}"), "channel": s(f"g:{group}"), "readSeq": n(user)}
            item["role"] = s("admin" if user % 3 == 0 else "member")
            if user % 2 == 0:
                item["level"] = n(user % 4)  # a sparse index
            dynamodb.put_item(TableName=MEMBERS, Item=item)
    for at in range(5):
        dynamodb.put_item(TableName="numbers", Item={"id": n(1), "at": n(at)})


@pytest.fixture
def dynamodb(moto_as_shipped: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_tables(client)
        seed(client)
        yield client


def backend_state() -> dict[str, Any]:
    """Every table as moto stores it (empty partitions included) and its stream's length."""
    state: dict[str, Any] = {}
    for name, table in dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables.items():
        items = {
            repr(hash_key): (
                {repr(r): item.to_json() for r, item in stored.items()}
                if isinstance(stored, dict)
                else stored.to_json()
            )
            for hash_key, stored in table.items.items()
        }
        stream = len(table.stream_shard.items) if table.stream_shard is not None else None
        state[name] = {"items": items, "stream": stream}
    return state


def outcome(call: Callable[[], Any]) -> dict[str, Any]:
    try:
        call()
    except ClientError as error:
        return {
            "code": error.response["Error"]["Code"],
            "message": error.response["Error"]["Message"],
            "reasons": error.response.get("CancellationReasons"),
        }
    return {"code": None}


def put_message(channel: str, seq: int, body: str = "new") -> dict[str, Any]:
    return {
        "Put": {
            "TableName": MESSAGES,
            "Item": {"channel": s(channel), "seq": n(seq), "body": s(body)},
        }
    }


def update_counter(channel: str, prev: int, to: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": COUNTERS,
            "Key": {"channel": s(channel)},
            "UpdateExpression": "SET lastSeq = :to",
            "ConditionExpression": "lastSeq = :prev",
            "ExpressionAttributeValues": {":prev": n(prev), ":to": n(to)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def update_member(user: str, channel: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": MEMBERS,
            "Key": {"userId": s(user), "channel": s(channel)},
            "UpdateExpression": "SET readSeq = readSeq + :one, #r = :role",
            "ExpressionAttributeNames": {"#r": "role"},
            "ExpressionAttributeValues": {":one": n(1), ":role": s("owner")},
        }
    }


def delete_message(channel: str, seq: int) -> dict[str, Any]:
    return {"Delete": {"TableName": MESSAGES, "Key": {"channel": s(channel), "seq": n(seq)}}}


def check_missing(table: str, key: dict[str, Any]) -> dict[str, Any]:
    return {
        "ConditionCheck": {
            "TableName": table,
            "Key": key,
            "ConditionExpression": "attribute_exists(lastSeq)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


# Each: the transaction, and whether it commits. The writes before and after a failure
# are applied as moto goes (it collects every reason), so both must be undone.
TRANSACTIONS: dict[str, tuple[list[dict[str, Any]], bool]] = {
    "commits": (
        [
            put_message("c1", 31),
            update_counter("c1", 5, 6),
            update_member("u1", "g:1"),
            delete_message("c2", 1),
            put_message("c9", 1),  # a new partition
        ],
        True,
    ),
    "a condition fails among the writes": (
        [
            put_message("c1", 31),  # creates
            update_counter("c1", 5, 6),
            update_member("u1", "g:1"),  # updates in place
            update_counter("c2", 4, 5),  # fails, its item in the reasons
            delete_message("c2", 1),
            put_message("c9", 1),  # a new partition
            put_message("c3", 7, "overwritten"),  # replaces
            put_message("c9", 2),  # the partition this transaction made
        ],
        False,
    ),
    "the first condition fails": (
        [
            update_counter("c3", 99, 100),
            put_message("c9", 1),
            update_member("u2", "g:2"),
            delete_message("c1", 2),
        ],
        False,
    ),
    "a check on a missing item": (
        [
            put_message("c1", 31),
            check_missing(COUNTERS, {"channel": s("c404")}),
            check_missing(MESSAGES, {"channel": s("c404"), "seq": n(1)}),
            delete_message("c1", 3),
        ],
        False,
    ),
    "a table that does not exist": (
        [
            put_message("c9", 1),
            update_member("u3", "g:0"),
            check_missing("nowhere", {"channel": s("c1")}),
        ],
        False,
    ),
    "two operations on one item": (
        [
            put_message("c9", 1),
            update_counter("c1", 5, 6),
            delete_message("c1", 4),
            put_message("c9", 1, "again"),
            put_message("c2", 31),
        ],
        False,
    ),
    "a key that is not the table's, midway": (
        [
            put_message("c9", 1),
            update_member("u4", "g:3"),
            delete_message("c1", 5),
            {"Delete": {"TableName": MESSAGES, "Key": {"channel": s("c1")}}},
            put_message("c2", 31),
        ],
        False,
    ),
}


def run_transaction(name: str, patch: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """In a fresh mock: the outcome of one of TRANSACTIONS and the state it leaves."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_tables(client)
        seed(client)
        with patched(TransactionRollbackByItem()) if patch else contextlib.nullcontext():
            result = outcome(
                lambda: client.transact_write_items(TransactItems=TRANSACTIONS[name][0])
            )
        return result, backend_state()


@pytest.mark.parametrize("name", TRANSACTIONS)
def test_transactions_end_as_moto_ends_them(moto_as_shipped: None, name: str) -> None:
    assert run_transaction(name, patch=True) == run_transaction(name, patch=False)


@pytest.mark.parametrize(
    "name", [name for name, (_, commits) in TRANSACTIONS.items() if not commits]
)
def test_a_failed_transaction_leaves_every_item_as_it_was(dynamodb: Any, name: str) -> None:
    before = backend_state()
    with patched(TransactionRollbackByItem()):
        result = outcome(lambda: dynamodb.transact_write_items(TransactItems=TRANSACTIONS[name][0]))
    assert result["code"] in {"TransactionCanceledException", "ValidationException"}
    assert backend_state() == before


def test_a_cancelled_transaction_says_why(dynamodb: Any) -> None:
    with patched(TransactionRollbackByItem()):
        result = outcome(
            lambda: dynamodb.transact_write_items(
                TransactItems=TRANSACTIONS["a condition fails among the writes"][0]
            )
        )
    assert result["code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in result["reasons"]] == [
        "None",
        "None",
        "None",
        "ConditionalCheckFailed",
        "None",
        "None",
        "None",
        "None",
    ]
    assert result["reasons"][3]["Item"] == {"channel": s("c2"), "lastSeq": n(5)}


def test_a_validation_error_midway_rolls_back(dynamodb: Any) -> None:
    before = backend_state()
    with patched(TransactionRollbackByItem()):
        twice = outcome(
            lambda: dynamodb.transact_write_items(
                TransactItems=TRANSACTIONS["two operations on one item"][0]
            )
        )
        bad_key = outcome(
            lambda: dynamodb.transact_write_items(
                TransactItems=TRANSACTIONS["a key that is not the table's, midway"][0]
            )
        )
    assert twice["code"] == bad_key["code"] == "ValidationException"
    assert "multiple operations on one item" in twice["message"]
    assert backend_state() == before


def test_two_operations_in_one_item_roll_back_too(dynamodb: Any) -> None:
    """Where moto leaves the writes before such an item applied."""
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    before = backend_state()
    both = {**put_message("c9", 2), **delete_message("c1", 1)}
    with patched(TransactionRollbackByItem()), pytest.raises(TransactWriteSingleOpException):
        backend.transact_write_items([put_message("c9", 1), update_counter("c1", 5, 6), both])
    assert backend_state() == before


def test_too_many_items_change_nothing(dynamodb: Any) -> None:
    before = backend_state()
    with patched(TransactionRollbackByItem()):
        result = outcome(
            lambda: dynamodb.transact_write_items(
                TransactItems=[put_message("c9", seq) for seq in range(101)]
            )
        )
    assert result["code"] == "ValidationException"
    assert "less than or equal to 100" in result["message"]
    assert backend_state() == before


def test_concurrent_senders_leave_no_trace_of_cancelled_transactions(dynamodb: Any) -> None:
    """Senders race for a channel's next seq (the counter's condition says who wins); each
    transaction puts the message at that seq first, replacing whatever is there. Saboteurs
    run the same transaction with a stale counter, overwriting the last committed message
    and creating the next one, so every one of theirs is cancelled."""
    senders, commits_each, saboteurs, attempts_each = 4, 12, 2, 25
    committed: dict[int, str] = {}
    cancelled: list[list[str]] = []
    lost: list[str] = []  # why senders lost a race
    lock = threading.Lock()
    clients = [boto3.client("dynamodb", region_name=REGION) for _ in range(senders + saboteurs)]

    def last_seq(client: Any) -> int:
        item = client.get_item(TableName=COUNTERS, Key={"channel": s("race")}).get("Item")
        return int(item["lastSeq"]["N"]) if item else 0

    def send(client: Any, prev: int, seq: int, who: str) -> list[dict[str, Any]]:
        return [
            put_message("race", seq, who),
            {
                "Update": {
                    "TableName": COUNTERS,
                    "Key": {"channel": s("race")},
                    "UpdateExpression": "SET lastSeq = :seq",
                    "ConditionExpression": "attribute_not_exists(lastSeq) OR lastSeq = :prev",
                    "ExpressionAttributeValues": {":prev": n(prev), ":seq": n(seq)},
                }
            },
        ]

    def sender(index: int) -> None:
        client, who, done = clients[index], f"sender-{index}", 0
        for _ in range(10_000):
            if done == commits_each:
                return
            prev = last_seq(client)
            try:
                client.transact_write_items(TransactItems=send(client, prev, prev + 1, who))
            except ClientError as error:
                with lock:
                    lost.append(error.response["Error"]["Code"])
                continue
            with lock:
                committed[prev + 1] = who
            done += 1
        raise AssertionError(f"{who} never got its {commits_each} messages in")

    def saboteur(index: int) -> None:
        client, who = clients[index], f"saboteur-{index}"
        for _ in range(attempts_each):
            prev = last_seq(client)
            items = [put_message("race", prev, who), *send(client, -1, prev + 1, who)]
            try:
                client.transact_write_items(TransactItems=items)
            except ClientError as error:
                with lock:
                    cancelled.append([r["Code"] for r in error.response["CancellationReasons"]])
            else:
                raise AssertionError("a transaction on a stale counter committed")

    atomic = AtomicDynamoDB()
    with patched(atomic, TransactionRollbackByItem()):
        threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
        threads += [
            threading.Thread(target=saboteur, args=(i,))
            for i in range(senders, senders + saboteurs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    total = senders * commits_each
    assert last_seq(dynamodb) == total
    assert sorted(committed) == list(range(1, total + 1))
    stored = dynamodb.query(
        TableName=MESSAGES,
        KeyConditionExpression="channel = :c",
        ExpressionAttributeValues={":c": s("race")},
    )["Items"]
    assert {int(item["seq"]["N"]): item["body"]["S"] for item in stored} == committed
    assert set(lost) <= {"TransactionCanceledException"}
    assert cancelled == [["None", "None", "ConditionalCheckFailed"]] * (saboteurs * attempts_each)


# Each: Query arguments (no TableName) whose every page must be the same as moto's.
QUERIES: dict[str, dict[str, Any]] = {
    "partition": {"KeyConditionExpression": "channel = :c", "Values": {":c": s("c1")}},
    "between, newest first": {
        "KeyConditionExpression": "channel = :c AND seq BETWEEN :a AND :b",
        "Values": {":c": s("c1"), ":a": n(5), ":b": n(12)},
        "ScanIndexForward": False,
    },
    "greater than, pages of 4": {
        "KeyConditionExpression": "channel = :c AND seq > :a",
        "Values": {":c": s("c2"), ":a": n(7)},
        "Limit": 4,
    },
    "newest first, pages of 7": {
        "KeyConditionExpression": "channel = :c",
        "Values": {":c": s("c3")},
        "ScanIndexForward": False,
        "Limit": 7,
    },
    "at most": {
        "KeyConditionExpression": "channel = :c AND seq <= :a",
        "Values": {":c": s("c1"), ":a": n(3)},
    },
    "less than": {
        "KeyConditionExpression": "channel = :c AND seq < :a",
        "Values": {":c": s("c1"), ":a": n(3)},
    },
    "equal": {
        "KeyConditionExpression": "channel = :c AND seq = :a",
        "Values": {":c": s("c1"), ":a": n(3)},
    },
    "at least, newest first, pages of 2": {
        "KeyConditionExpression": "channel = :c AND seq >= :a",
        "Values": {":c": s("c1"), ":a": n(26)},
        "ScanIndexForward": False,
        "Limit": 2,
    },
    "filter, pages of 5": {
        "KeyConditionExpression": "channel = :c",
        "FilterExpression": "begins_with(body, :b)",
        "Values": {":c": s("c2"), ":b": s("c2-1")},
        "Limit": 5,
    },
    "projection": {
        "KeyConditionExpression": "channel = :c AND seq < :a",
        "ProjectionExpression": "seq",
        "Values": {":c": s("c1"), ":a": n(6)},
    },
    "count": {
        "KeyConditionExpression": "channel = :c",
        "Values": {":c": s("c1")},
        "Select": "COUNT",
    },
    "a partition that does not exist": {
        "KeyConditionExpression": "channel = :c",
        "Values": {":c": s("nowhere")},
    },
    "string range key": {
        "TableName": MEMBERS,
        "KeyConditionExpression": "userId = :u AND begins_with(channel, :g)",
        "Values": {":u": s("u1"), ":g": s("g:")},
        "ConsistentRead": True,
    },
    "hash key only": {
        "TableName": COUNTERS,
        "KeyConditionExpression": "channel = :c",
        "Values": {":c": s("c2")},
    },
    "a number written otherwise": {
        "TableName": "numbers",
        "KeyConditionExpression": "id = :i AND at > :a",
        "Values": {":i": n("1.0"), ":a": n("0.5")},
    },
    "key conditions": {
        "KeyConditions": {
            "channel": {"ComparisonOperator": "EQ", "AttributeValueList": [s("c1")]},
            "seq": {"ComparisonOperator": "GT", "AttributeValueList": [n(24)]},
        },
        "Limit": 3,
    },
    "index, pages of 3": {
        "TableName": MEMBERS,
        "IndexName": "ByChannel",
        "KeyConditionExpression": "channel = :c",
        "Values": {":c": s("g:1")},
        "Limit": 3,
    },
    "index, range key, newest first": {
        "TableName": MEMBERS,
        "IndexName": "ByChannel",
        "KeyConditionExpression": "channel = :c AND userId > :u",
        "Values": {":c": s("g:2"), ":u": s("u3")},
        "ScanIndexForward": False,
    },
    "index without a range key, pages of 4": {
        "TableName": MEMBERS,
        "IndexName": "ByRole",
        "KeyConditionExpression": "#r = :r",
        "Names": {"#r": "role"},
        "Values": {":r": s("admin")},
        "Limit": 4,
    },
    "sparse index on a number, written otherwise": {
        "TableName": MEMBERS,
        "IndexName": "ByLevel",
        "KeyConditionExpression": "#l = :l",
        "Names": {"#l": "level"},
        "Values": {":l": n("2.0")},
        "ScanIndexForward": False,
        "Limit": 5,
    },
}


def all_pages(client: Any, spec: dict[str, Any]) -> list[dict[str, Any]]:
    arguments = {key: value for key, value in spec.items() if key not in {"Values", "Names"}}
    arguments.setdefault("TableName", MESSAGES)
    if "Values" in spec:
        arguments["ExpressionAttributeValues"] = spec["Values"]
    if "Names" in spec:
        arguments["ExpressionAttributeNames"] = spec["Names"]
    pages = []
    while True:
        reply = client.query(**arguments)
        reply.pop("ResponseMetadata")
        pages.append(reply)
        if "LastEvaluatedKey" not in reply:
            return pages
        arguments["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


def test_queries_answer_as_moto_does(dynamodb: Any) -> None:
    expected = {name: all_pages(dynamodb, spec) for name, spec in QUERIES.items()}
    before = backend_state()
    with patched(PartitionQuery()):
        got = {name: all_pages(dynamodb, spec) for name, spec in QUERIES.items()}
    assert got == expected
    assert backend_state() == before  # no partition added by looking one up
    # The queries are worth comparing: results, several pages, both orders.
    assert len(expected["newest first, pages of 7"]) == 5
    assert [item["seq"] for item in expected["between, newest first"][0]["Items"]] == [
        n(seq) for seq in range(12, 4, -1)
    ]
    assert sum(page["Count"] for page in expected["index without a range key, pages of 4"]) == 16
    assert (
        sum(page["Count"] for page in expected["sparse index on a number, written otherwise"]) == 12
    )
    assert expected["a number written otherwise"][0]["Count"] == 4


def test_the_query_patch_reads_one_partition(dynamodb: Any) -> None:

    read: list[int] = []
    original = Table.all_items

    def counted(table: Any) -> Any:
        items = original(table)
        read.append(len(items))
        return items

    with patched(PartitionQuery()), pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(Table, "all_items", counted)
        all_pages(dynamodb, QUERIES["partition"])
        all_pages(dynamodb, QUERIES["index, pages of 3"])
    assert read == []  # neither sorted the whole table


def test_uninstall_gives_moto_back(moto_as_shipped: None) -> None:

    shipped = DynamoDBBackend.transact_write_items, Table.query
    outer, inner = DynamoDBCostPatches(), DynamoDBCostPatches()
    outer.install()
    inner.install()
    assert (DynamoDBBackend.transact_write_items, Table.query) != shipped
    inner.uninstall()
    outer.uninstall()
    assert (DynamoDBBackend.transact_write_items, Table.query) == shipped


def test_the_query_patch_leaves_a_query_it_cannot_read_alone(dynamodb: Any) -> None:
    """Under a wrapper that takes *args, it could not tell an index Query from another."""
    shipped = Table.query

    def wrapper(table: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        return shipped(table, hash_key, *args, **kwargs)

    expected = all_pages(dynamodb, QUERIES["index, pages of 3"])
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(Table, "query", wrapper)
        with patched(PartitionQuery()):
            assert Table.query is wrapper
            assert all_pages(dynamodb, QUERIES["index, pages of 3"]) == expected


# SqsCostPatches: moto's SQS answers, at the cost of what a call touches.


def _queue_state(sqs: Any, url: str) -> dict[str, str]:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateNumberOfMessagesNotVisible",
        "ContentBasedDeduplication",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {name: attributes.get(name, "") for name in names}


def _sqs_story(patches: SqsCostPatches | None) -> list[Any]:
    """Sends (due, delayed, deduplicated), receives, and the counts after each step."""
    seen: list[Any] = []
    with mock_aws():
        if patches is not None:
            patches.install()
        try:
            sqs = boto3.client("sqs", region_name="us-east-1")
            url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
            fifo = sqs.create_queue(
                QueueName="chunks.fifo",
                Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
            )["QueueUrl"]
            for n in range(5):
                sqs.send_message(QueueUrl=url, MessageBody=f"due-{n}")
            for n in range(3):
                sqs.send_message(QueueUrl=url, MessageBody=f"later-{n}", DelaySeconds=900)
            seen.append(_queue_state(sqs, url))
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)
            seen.append(sorted(m["Body"] for m in got["Messages"]))
            seen.append(_queue_state(sqs, url))
            first, second = (m["ReceiptHandle"] for m in got["Messages"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=first)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=first)  # again: no error
            entries = [{"Id": "a", "ReceiptHandle": second}, {"Id": "b", "ReceiptHandle": "bogus"}]
            reply = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
            seen.append(
                (
                    [e["Id"] for e in reply.get("Successful", [])],
                    [(e["Id"], e["Code"]) for e in reply.get("Failed", [])],
                )
            )
            seen.append(_queue_state(sqs, url))
            for _ in range(2):  # the same body twice: one message, by content
                sqs.send_message(QueueUrl=fifo, MessageBody="chunk", MessageGroupId="g")
            seen.append(_queue_state(sqs, fifo))
        finally:
            if patches is not None:
                patches.uninstall()
    return seen


def test_sqs_cost_patches_answer_what_moto_answers() -> None:
    patched = _sqs_story(SqsCostPatches())
    assert patched == _sqs_story(None)
    assert patched[0]["ApproximateNumberOfMessages"] == "5"
    assert patched[0]["ApproximateNumberOfMessagesDelayed"] == "3"
    assert patched[2]["ApproximateNumberOfMessagesNotVisible"] == "2"
    assert patched[3] == (["a"], [("b", "ReceiptHandleIsInvalid")])
    assert patched[4]["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert patched[5]["ApproximateNumberOfMessages"] == "1"


def test_a_message_past_its_retention_period_is_not_received_with_sqs_cost_patches() -> None:
    patches = SqsCostPatches()
    with mock_aws():
        patches.install()
        try:
            sqs = boto3.client("sqs", region_name="us-east-1")
            url = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})[
                "QueueUrl"
            ]
            sqs.send_message(QueueUrl=url, MessageBody="new")
            sqs.send_message(QueueUrl=url, MessageBody="old")
            queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues["short"]
            queue._messages[1].sent_timestamp -= 61_000  # sent 61 s ago
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        finally:
            patches.uninstall()
    assert [m["Body"] for m in got["Messages"]] == ["new"]


def test_sqs_cost_patches_uninstall_gives_moto_back() -> None:
    before = (SQSBackend.send_message, Queue.__dict__["messages"], Queue.__dict__["attributes"])
    patches = SqsCostPatches()
    patches.install()
    assert Queue.__dict__["messages"] is not before[1]
    patches.uninstall()
    assert (
        SQSBackend.send_message,
        Queue.__dict__["messages"],
        Queue.__dict__["attributes"],
    ) == before


def test_response_method_cache_finds_the_same_handlers_and_gives_moto_back() -> None:
    original = responses.method_names_from_class
    cache = ResponseMethodCache()
    cache.install()
    try:
        cached = responses.method_names_from_class
        assert cached is not original
        assert cached(SQSResponse) == original(SQSResponse)
        with mock_aws():  # requests still find their handler methods
            sqs = boto3.client("sqs", region_name="us-east-1")
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="b")
            assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "b"
    finally:
        cache.uninstall()
    assert responses.method_names_from_class is original


def test_update_expression_cache_updates_as_moto_does_and_gives_moto_back() -> None:
    original = UpdateExpressionParser.__dict__["make"]
    cache = UpdateExpressionCache()

    def story() -> list[Any]:
        with mock_aws():
            db = boto3.client("dynamodb", region_name="us-east-1")
            db.create_table(
                TableName="t",
                KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            update = "SET n = if_not_exists(n, :zero) + :one, tags = list_append(tags, :t)"
            seen: list[Any] = []
            for value in range(3):  # one expression, other values each time
                db.update_item(
                    TableName="t",
                    Key={"k": {"S": "a"}},
                    UpdateExpression=update.replace("list_append(tags, :t)", ":t")
                    if value == 0
                    else update,
                    ExpressionAttributeValues={
                        ":zero": {"N": "0"},
                        ":one": {"N": str(value + 1)},
                        ":t": {"L": [{"S": f"t{value}"}]},
                    },
                )
                seen.append(db.get_item(TableName="t", Key={"k": {"S": "a"}})["Item"])
            with pytest.raises(ClientError):
                db.update_item(TableName="t", Key={"k": {"S": "a"}}, UpdateExpression="SET = 1")
            return seen

    cache.install()
    try:
        cached = story()
    finally:
        cache.uninstall()
    assert UpdateExpressionParser.__dict__["make"] is original
    assert cached == story()
    assert cached[-1]["n"] == {"N": "6"}


def test_a_stream_read_never_sees_the_writes_of_a_transaction_that_rolls_back(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by make chaos with a CPU burner: a resend's transaction wrote its message,
    # failed on its dedup record and rolled back, and the stream poller read the message's
    # record in between: a fan-out job posted a message at a seq it never had.
    streams = boto3.client(  # moto routes the regional endpoint, not boto3's default
        "dynamodbstreams",
        region_name=REGION,
        endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com",
    )
    arn = dynamodb.describe_table(TableName=MESSAGES)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
    )["ShardIterator"]
    written, go_on = threading.Event(), threading.Event()
    apply_one = moto_patches._apply_one

    def pausing(*args: Any) -> Any:
        reason = apply_one(*args)
        written.set()  # the message is written, its stream record appended
        assert go_on.wait(10)
        return reason

    monkeypatch.setattr(moto_patches, "_apply_one", pausing)
    seen: list[Any] = []
    reader = threading.Thread(
        target=lambda: seen.extend(streams.get_records(ShardIterator=iterator)["Records"])
    )
    with patched(AtomicDynamoDB(), TransactionRollbackByItem()):
        transaction = threading.Thread(
            target=outcome,
            args=(
                lambda: dynamodb.transact_write_items(
                    TransactItems=[put_message("c1", 99), update_counter("c1", 0, 1)]
                ),
            ),
        )
        transaction.start()
        assert written.wait(10)
        reader.start()
        reader.join(0.5)  # unlocked, the read is done by now; locked, it waits
        go_on.set()
        transaction.join(10)
        reader.join(10)

    assert seen == []
