"""`make bench`'s protocol v1.1 rows, counted through the handlers: each operation makes
the AWS calls docs/protocol.md ("How it is stored, and what each operation costs") writes
down, so a call more or fewer fails here. Counts, never timings."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bench import scenarios, scenarios_v11
from bench.billing import Bill, bill
from bench.cost import bill_row, inline_limit, v11_operations
from bench.moto_env import moto_courier
from bench.recorder import Call, Trace
from bench.report_v11 import calls_by_service
from bench.scenarios import Sizes

SIZES = Sizes.quick()
MEMBERS = 5
POST = "apigatewaymanagementapi.PostToConnection"


def measured(scenario: Any, **arguments: Any) -> tuple[Trace, Bill]:
    with moto_courier() as bench:
        trace = scenario(bench, SIZES, **arguments)
    return trace, bill(trace)


def calls(trace: Trace, name: str) -> list[Call]:
    return [c for c in trace.calls() if c.name == name]


def test_a_recall_is_one_transaction_of_two_items_then_each_members_connections() -> None:
    trace, billed = measured(scenarios_v11.recall_group, members=MEMBERS)

    assert [i.function for i in trace.invocations] == ["recall"]
    (transaction,) = calls(trace, "dynamodb.TransactWriteItems")
    assert len(transaction.params["TransactItems"]) == 2  # the message, the channel row
    assert billed.by_operation == {
        "dynamodb.BatchGetItem": 2,  # the caller's view; the members' rows, for their unread
        "dynamodb.GetItem": 2,  # the message; the channel row after the recall
        "dynamodb.TransactWriteItems": 1,
        "dynamodb.Query": 1 + MEMBERS,  # the members (ByChannel), then each one's connections
        POST: MEMBERS - 1,  # every member's device but the caller's
    }
    assert billed.wru == 4


def test_a_dm_recall_reads_no_member_index() -> None:
    _, billed = measured(scenarios_v11.recall_dm)

    assert billed.by_operation == {
        "dynamodb.BatchGetItem": 2,
        "dynamodb.GetItem": 2,
        "dynamodb.TransactWriteItems": 1,
        "dynamodb.Query": 2,
        POST: 1,
    }


def test_an_admin_recall_is_one_http_request_and_tells_the_sender_too() -> None:
    trace, billed = measured(scenarios_v11.admin_recall, members=MEMBERS)

    assert [i.function for i in trace.invocations] == ["admin"]
    assert billed.by_operation == {
        "dynamodb.GetItem": 3,  # the channel row (is the seq sent?), the message, the row again
        "dynamodb.TransactWriteItems": 1,
        "dynamodb.BatchGetItem": 1,
        "dynamodb.Query": 1 + MEMBERS,
        POST: MEMBERS,
    }
    assert (billed.http_requests, billed.api_messages, billed.wru) == (1, MEMBERS, 4)


@pytest.mark.parametrize(
    ("scenario", "arguments", "queries", "posts"),
    [
        (scenarios_v11.edit_dm, {}, 2, 1),
        (scenarios_v11.edit_group, {"members": MEMBERS}, 1 + MEMBERS, MEMBERS - 1),
    ],
)
def test_an_edit_is_one_update_item_then_each_members_connections(
    scenario: Any, arguments: dict[str, Any], queries: int, posts: int
) -> None:
    trace, billed = measured(scenario, **arguments)

    assert [i.function for i in trace.invocations] == ["edit"]
    assert billed.by_operation == {
        "dynamodb.BatchGetItem": 1,
        "dynamodb.UpdateItem": 1,
        "dynamodb.Query": queries,
        POST: posts,
    }
    assert billed.wru == 1


@pytest.mark.parametrize("muted", [True, False])
def test_a_mute_is_one_update_item_and_the_users_conversation_list(muted: bool) -> None:
    _, billed = measured(scenarios_v11.mute, muted=muted)

    assert billed.by_operation == {
        "dynamodb.BatchGetItem": 2,  # the channel view; the conversations' rows
        "dynamodb.UpdateItem": 1,
        "dynamodb.Query": 2,  # the user's memberships; the user's connections
    }
    assert billed.wru == 1


def test_each_mention_is_one_more_transaction_item_and_the_send_reads_members_once() -> None:
    named = 3
    plain_trace, plain = measured(scenarios.group_send, members=SIZES.mention_group)
    trace, billed = measured(scenarios.group_send, members=SIZES.mention_group, mentions=named)

    (plain_send,) = calls(plain_trace, "dynamodb.TransactWriteItems")
    (send,) = calls(trace, "dynamodb.TransactWriteItems")
    assert len(send.params["TransactItems"]) == len(plain_send.params["TransactItems"]) + named
    assert billed.wru - plain.wru == 2 * named
    more, fewer = billed.by_operation - plain.by_operation, plain.by_operation - billed.by_operation
    assert (more, fewer) == (Counter({"dynamodb.BatchGetItem": 1}), Counter())


def test_a_read_drops_the_mention_it_passes_in_the_update_it_makes_anyway() -> None:
    plain_trace, plain = measured(scenarios_v11.read_mention, mentioned=False)
    trace, billed = measured(scenarios_v11.read_mention, mentioned=True)

    (plain_update,) = calls(plain_trace, "dynamodb.UpdateItem")
    (update,) = calls(trace, "dynamodb.UpdateItem")
    assert "DELETE" in update.params["UpdateExpression"]
    assert "DELETE" not in plain_update.params["UpdateExpression"]
    assert (
        billed.by_operation
        == plain.by_operation
        == {
            "dynamodb.BatchGetItem": 1,
            "dynamodb.UpdateItem": 1,
            "dynamodb.Query": 1,  # the reader's other connections, told the new cursor
        }
    )
    assert (billed.wru, billed.rru) == (plain.wru, plain.rru)


def test_the_v11_rows_measure_groups_up_to_the_inline_limit_and_one_above() -> None:
    keys = [op.key for op in v11_operations(Sizes())]
    groups = [int(k.removeprefix("edit_")) for k in keys if k.removeprefix("edit_").isdigit()]

    assert {"recall_dm", "admin_recall", "edit_dm", "mute", "unmute", "read_mention"} <= set(keys)
    assert [k for k in keys if k.startswith("recall_") and k != "recall_dm"] == [
        f"recall_{n}" for n in groups
    ]
    assert [n for n in groups if n > inline_limit()] == [groups[-1]]
    assert [k for k in keys if k.startswith("mentions_")] == [f"mentions_{n}" for n in (0, 1, 10)]


def test_calls_are_listed_by_service_then_operation() -> None:
    row = bill_row(Bill())
    row["by_operation"] = {POST: 9, "dynamodb.Query": 1, "dynamodb.UpdateItem": 1}

    assert calls_by_service(row) == (
        "API Gateway: PostToConnection 9; DynamoDB: Query 1, UpdateItem 1"
    )
