"""`make bench`'s cost model: billed units from hand-made call records, and the counting of
one small operation run through the handlers (no timings: those belong to the bench)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import floor as floors
from bench import scenarios
from bench.billing import (
    Bill,
    DurationModel,
    api_messages,
    bill,
    dynamodb_units,
    item_size,
    number_size,
    sqs_requests,
    updated_item_size,
)
from bench.moto_env import moto_courier
from bench.recorder import Call, Invocation, Trace

KB = 1024


def padded(size: int) -> dict[str, Any]:
    """An item of exactly `size` bytes: the name `k` (1 byte) and a string."""
    return {"k": {"S": "x" * (size - 1)}}


def dynamodb(operation: str, params: dict[str, Any], response: Any = None) -> Call:
    return Call("dynamodb", operation, params, response or {})


def test_item_size_follows_dynamodbs_rules() -> None:
    assert number_size("1795694400000") == 5  # 8 significant digits: 4 bytes + 1
    assert number_size("0.50") == 2
    item: dict[str, dict[str, Any]] = {
        "id": {"S": "héllo"},  # 2 + 6 (UTF-8)
        "n": {"N": "12345"},  # 1 + 3 + 1
        "ok": {"BOOL": True},  # 2 + 1
        "tags": {"L": [{"S": "ab"}, {"N": "7"}]},  # 4 + 3 + (2 + 1) + (2 + 1)
        "m": {"M": {"k": {"S": "v"}}},  # 1 + 3 + (1 + 1 + 1)
    }
    assert item_size(item) == 8 + 5 + 3 + 13 + 7


def test_a_1_5_kb_item_written_in_a_transaction_costs_4_wru() -> None:
    call = dynamodb("TransactWriteItems", {"TransactItems": [{"Put": {"Item": padded(1536)}}]})
    assert dynamodb_units(call) == (4.0, 0.0)
    assert dynamodb_units(dynamodb("PutItem", {"Item": padded(1536)})) == (2.0, 0.0)
    assert dynamodb_units(dynamodb("PutItem", {"Item": padded(KB)})) == (1.0, 0.0)


def test_an_update_is_sized_by_its_key_and_the_values_it_sets() -> None:
    update = {
        "Key": {"userId": {"S": "bob"}},  # 6 + 3
        "UpdateExpression": "SET lastSeq = :seq, joinedAt = if_not_exists(joinedAt, :ts) "
        "ADD #u :one REMOVE gone",
        "ExpressionAttributeNames": {"#u": "unread"},
        "ExpressionAttributeValues": {
            ":seq": {"N": "12"},  # 7 + 2
            ":ts": {"N": "1795694400000"},  # 8 + 5
            ":one": {"N": "1"},  # 6 + 2
        },
    }
    assert updated_item_size(update) == 9 + 9 + 13 + 8
    big = {**update, "ExpressionAttributeValues": {":seq": {"S": "x" * 2000}, ":ts": {"N": "1"}}}
    big["UpdateExpression"] = "SET lastSeq = :seq, joinedAt = :ts"
    assert dynamodb_units(dynamodb("UpdateItem", big)) == (2.0, 0.0)


def test_reads_round_up_to_4_kb_and_eventual_consistency_halves_them() -> None:
    five_kb = {"Item": padded(5 * KB)}
    assert dynamodb_units(dynamodb("GetItem", {"ConsistentRead": True}, five_kb)) == (0.0, 2.0)
    assert dynamodb_units(dynamodb("GetItem", {}, five_kb)) == (0.0, 1.0)
    assert dynamodb_units(dynamodb("GetItem", {"ConsistentRead": True}, {})) == (0.0, 1.0)
    # Query and Scan round the total read, not each item: 9 x 1 KB = 3 units
    nine = {"Items": [padded(KB)] * 9}
    assert dynamodb_units(dynamodb("Query", {"ConsistentRead": True}, nine)) == (0.0, 3.0)
    assert dynamodb_units(dynamodb("Query", {"IndexName": "i", "ConsistentRead": True}, nine)) == (
        0.0,
        1.5,
    )
    # BatchGetItem rounds each item; a key that found nothing still costs the minimum
    batch = dynamodb(
        "BatchGetItem",
        {"RequestItems": {"t": {"Keys": [{}, {}, {}], "ConsistentRead": True}}},
        {"Responses": {"t": [padded(KB), padded(5 * KB)]}},
    )
    assert dynamodb_units(batch) == (0.0, 1.0 + 2.0 + 1.0)


def test_a_filtered_scan_cannot_be_billed_from_its_reply() -> None:
    with pytest.raises(ValueError, match="filtered"):
        dynamodb_units(dynamodb("Scan", {"FilterExpression": "a = :b"}, {"Items": []}))


def test_sqs_bills_64_kb_chunks_and_api_gateway_32_kb_messages() -> None:
    entries = [{"Id": str(i), "MessageBody": "x" * (10 * KB)} for i in range(10)]
    fifo = Call("sqs", "SendMessageBatch", {"QueueUrl": "https://q/F.fifo", "Entries": entries})
    assert sqs_requests(fifo) == 2  # 100 KB
    assert sqs_requests(Call("sqs", "DeleteMessageBatch", {"Entries": entries})) == 1
    assert (api_messages(1), api_messages(32 * KB), api_messages(32 * KB + 1)) == (1, 1, 2)
    billed = Bill()
    billed.add_call(fifo)
    billed.add_call(Call("apigatewaymanagementapi", "PostToConnection", {"Data": b"x" * 40 * KB}))
    assert (billed.sqs_fifo, billed.sqs_standard, billed.api_messages) == (2, 0, 2)


def test_an_invocation_bills_its_frames_its_batch_and_a_modelled_duration() -> None:
    post = Call("apigatewaymanagementapi", "PostToConnection", {"Data": b"{}"}, parallel=True)
    route = Invocation("send", 256, frame_bytes=100, reply_bytes=33 * KB, calls=[post] * 20)
    worker = Invocation("retry_worker", 512, records=10, calls=[])
    billed = bill(Trace([route, worker]), DurationModel(base_ms=5, call_ms=10, parallel=16))
    assert billed.lambda_invocations == 2
    assert billed.api_messages == 1 + 2 + 20  # the frame, the 33 KB reply, the posts
    assert billed.sqs_standard == 2  # the event source's receive and delete of the batch
    # 20 parallel posts are 2 waves: 5 + 2 x 10 ms at 0.25 GB; the worker 5 ms at 0.5 GB
    assert billed.lambda_gb_seconds == pytest.approx(0.25 * 0.025 + 0.5 * 0.005)


def test_a_dm_is_counted_call_by_call_through_the_handlers() -> None:
    with moto_courier() as bench:
        trace = scenarios.dm(bench, scenarios.Sizes.quick())

    assert [i.function for i in trace.invocations] == [
        "send",
        "delivery_worker",  # the durable path, from the messages table's stream
        "ack",
        "read",
        "retry_worker",
    ]
    send, durable = trace.invocations[0], trace.invocations[1]
    assert {c.name for c in send.calls} == {
        "dynamodb.GetItem",
        "dynamodb.TransactWriteItems",
        "dynamodb.Query",
        "apigatewaymanagementapi.PostToConnection",
    }
    assert {c.name for c in durable.calls} == {"dynamodb.Query", "sqs.SendMessageBatch"}
    assert durable.records == 1
    assert send.frame_bytes > 0 and send.reply_bytes > 0 and trace.stray == []
    billed = bill(trace)
    assert billed.by_operation["dynamodb.TransactWriteItems"] == 1
    assert billed.wru == 2 * 4 + 1 + 1  # the send's transaction, the ack, the read
    # send + sendack, the post and the sender's receipt, ack, read + its reply and receipt
    assert billed.api_messages == 8
    assert billed.sqs_standard == 3  # the probe: sent, received, deleted
    # Every invocation's EMF metric lines are billed as logs (the harness diverts them)
    assert all(i.log_bytes > 0 for i in trace.invocations)


def test_a_stream_record_is_read_free_and_shares_its_batchs_invocation() -> None:
    query = dynamodb("Query", {"ConsistentRead": True}, {"Items": [padded(100)]})
    record = Invocation("delivery_worker", 256, records=1, stream=True, log_bytes=50)
    record.calls.append(query)
    model = DurationModel(base_ms=5, call_ms=10, parallel=16)

    alone, shared = bill(Trace([record]), model), bill(Trace([record]), model, stream_batch=25)

    assert alone.sqs_standard == shared.sqs_standard == 0  # no receive, no delete
    assert (alone.lambda_invocations, shared.lambda_invocations) == (1, pytest.approx(1 / 25))
    assert alone.lambda_gb_seconds == pytest.approx(0.25 * 0.015)
    assert shared.lambda_gb_seconds == pytest.approx(0.25 * (5 / 25 + 10) / 1000)
    assert shared.log_bytes == pytest.approx(alone.log_bytes / 25)
    assert alone.rru == shared.rru == 1  # its own calls are billed in full


@pytest.mark.parametrize(
    "operation", [floors.dm, floors.dm_offline, floors.dm_unacked, lambda: floors.group_send(10)]
)
def test_the_floor_commits_in_the_send_and_delivers_from_the_stream(operation: Any) -> None:
    trace, reasons = operation()
    send, consumer = trace.invocations[:2]

    assert [c.name for c in send.calls] == ["dynamodb.GetItem", "dynamodb.TransactWriteItems"]
    assert consumer.stream and consumer.records == 1
    assert any(c.service == "sqs" for c in consumer.calls)  # the retry or notification job
    assert reasons
