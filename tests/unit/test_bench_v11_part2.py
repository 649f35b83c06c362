"""`make bench`'s protocol v1.1 part 2 rows (receipts, typing, presence), counted through
the handlers: each operation makes the AWS calls docs/protocol.md ("v1.1, part 2") writes
down, so a call more or fewer fails here. Counts, never timings."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from bench import scenarios, scenarios_v11, scenarios_v11_part2
from bench.cost import by_channel_entry_bytes, inline_limit, v11_part2_operations
from bench.recorder import Trace
from bench.scenarios import Sizes
from tests.unit.test_bench_v11 import MEMBERS, POST, SIZES, calls, measured

QUERY = "dynamodb.Query"


def posted_types(trace: Trace) -> list[str]:
    return [json.loads(c.params["Data"])["type"] for c in calls(trace, POST)]


@pytest.mark.parametrize("members", [MEMBERS, 4 * MEMBERS])
def test_receipts_read_the_membership_once_whatever_the_groups_size(members: int) -> None:
    trace, billed = measured(scenarios_v11_part2.receipts, members=members)

    assert [i.function for i in trace.invocations] == ["receipts"]
    assert billed.by_operation == {
        "dynamodb.BatchGetItem": 1,  # the channel row and the caller's membership
        "dynamodb.GetItem": 1,  # the message: its sender
        QUERY: 1,  # the ByChannel index, one page (1 MB) at these sizes
    }
    (query,) = calls(trace, QUERY)
    assert query.params["IndexName"] == "ByChannel"
    assert "LastEvaluatedKey" not in query.response
    assert billed.wru == 0


def test_a_cursor_move_writes_an_index_entry_of_one_write_unit() -> None:
    trace, _ = measured(scenarios_v11_part2.receipts, members=MEMBERS)

    entry = by_channel_entry_bytes([trace])
    assert 0 < entry <= 1024


def test_a_dm_read_adds_the_peers_connections_and_one_receipt_post_to_a_plain_read() -> None:
    trace, billed = measured(scenarios_v11_part2.read_dm)
    _, plain = measured(scenarios_v11.read_mention, mentioned=False)

    assert billed.by_operation - plain.by_operation == Counter({QUERY: 1, POST: 1})
    assert plain.by_operation - billed.by_operation == Counter()
    assert posted_types(trace) == ["receipt"]
    assert (billed.wru, billed.api_messages - plain.api_messages) == (plain.wru, 1)


def test_a_dm_sends_receipt_is_one_post_to_the_connections_it_delivered_to() -> None:
    trace, billed = measured(scenarios_v11_part2.send_dm)

    (send,) = (i for i in trace.invocations if i.function == "send")
    posts = [c for c in send.calls if c.name == POST]
    assert [json.loads(c.params["Data"])["type"] for c in posts] == ["message", "receipt"]
    assert len({c.params["ConnectionId"] for c in posts}) == 1
    assert billed.by_operation == {
        "dynamodb.GetItem": 2,
        "dynamodb.TransactWriteItems": 1,
        QUERY: 4,
        POST: 2,
        "sqs.SendMessageBatch": 1,
        "dynamodb.BatchGetItem": 1,
        "dynamodb.UpdateItem": 1,
    }


def test_a_conversation_page_reads_its_dm_peers_rows_in_one_batch() -> None:
    trace, billed = measured(scenarios.sync_conversations)

    assert billed.by_operation == {"dynamodb.BatchGetItem": 3, QUERY: 1}
    membership_batches = [
        [key["channel"]["S"] for key in request["Keys"]]
        for call in calls(trace, "dynamodb.BatchGetItem")
        for request in call.params["RequestItems"].values()
        if "userId" in request["Keys"][0]
    ]
    (channels,) = membership_batches  # the DMs' peers, the groups left out
    assert len(channels) == SIZES.conversations // 2
    assert all(channel.startswith("dm:") for channel in channels)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, {"dynamodb.UpdateItem": 1, QUERY: 1, POST: 1}),
        ({"throttled": True}, {"dynamodb.UpdateItem": 1}),
        (
            {"members": MEMBERS},
            {"dynamodb.UpdateItem": 1, QUERY: MEMBERS, POST: MEMBERS - 1},
        ),
        ({"members": SIZES.groups[-1], "relayed": False}, {QUERY: 1}),
    ],
    ids=["dm", "throttled", "group", "above-inline-limit"],
)
def test_typing_is_one_conditional_write_then_the_others_connections(
    arguments: dict[str, Any], expected: dict[str, int]
) -> None:
    trace, billed = measured(scenarios_v11_part2.typing, **arguments)

    assert [i.function for i in trace.invocations] == ["typing"]
    assert billed.by_operation == expected
    assert billed.wru == expected.get("dynamodb.UpdateItem", 0)
    member_pages = [c for c in calls(trace, QUERY) if c.params.get("IndexName") == "ByChannel"]
    in_group = "members" in arguments
    assert [c.params["Limit"] for c in member_pages] == [inline_limit() + 1] * in_group


@pytest.mark.parametrize("users", [1, 3])
@pytest.mark.parametrize("idle", [False, True])
def test_presence_costs_one_query_per_user_and_a_check_per_idle_connection(
    users: int, idle: bool
) -> None:
    trace, billed = measured(scenarios_v11_part2.presence, users=users, idle=idle)

    assert [i.function for i in trace.invocations] == ["presence"]
    checks = users if idle else 0
    expected = {
        QUERY: 1 + users,  # the caller's memberships, then each user's connections
        "dynamodb.BatchGetItem": 1,  # the DMs' counter rows
        "apigatewaymanagementapi.GetConnection": checks,
        "dynamodb.UpdateItem": checks,  # activeAt = now
    }
    assert billed.by_operation == {op: n for op, n in expected.items() if n}
    assert billed.wru == checks


def test_the_part2_rows_measure_receipts_at_10_100_and_5000_members() -> None:
    keys = [op.key for op in v11_part2_operations(Sizes())]

    assert [k for k in keys if k.startswith("receipts_")] == [
        "receipts_10",
        "receipts_100",
        "receipts_5000",
    ]
    assert [k for k in keys if k.startswith("presence_")] == [
        "presence_1",
        "presence_10",
        "presence_100",
        "presence_idle_10",
    ]
    assert {"read_dm", "read_group", "send_dm", "typing_dm", "typing_throttled"} <= set(keys)
    assert [k for k in keys if k.startswith("typing_") and k[7:].isdigit()] == [
        "typing_10",
        "typing_1000",
    ]
