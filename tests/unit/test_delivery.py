"""Delivery of `message` frames: who gets them, stale connections, and what a send costs."""

from __future__ import annotations

from tests.aws_calls import recording
from tests.harness import Courier

DM = "dm:alice:bob"


def test_message_reaches_every_live_connection_of_every_member_but_the_sending_one(
    courier: Courier,
) -> None:
    alice_phone, alice_tablet = courier.connect("alice"), courier.connect("alice", "tablet")
    bob_phone, bob_laptop = courier.connect("bob"), courier.connect("bob", "laptop")
    carol = courier.connect("carol")

    ack = courier.send(alice_phone, DM, "m1", {"text": "hi"})

    expected = {
        "type": "message",
        "channel": DM,
        "seq": 1,
        "messageId": ack["messageId"],
        "from": "alice",
        "clientMsgNo": "m1",
        "body": {"text": "hi"},
        "ts": ack["ts"],
    }
    for conn in (alice_tablet, bob_phone, bob_laptop):
        assert courier.posted(conn, "message") == [expected]
    assert courier.posted(alice_tablet) == [expected]  # bob's get a receipt too (DM)
    assert courier.posted(alice_phone) == []
    assert courier.posted(carol) == []


def test_stale_connection_gone_410_is_deleted_and_does_not_fail_the_send(courier: Courier) -> None:
    alice, bob_phone, bob_tablet = (
        courier.connect("alice"),
        courier.connect("bob"),
        courier.connect("bob", "tablet"),
    )
    courier.drop(bob_phone)  # the socket vanished without a $disconnect

    ack = courier.send(alice, DM, "m1")

    assert ack["type"] == "sendack" and ack["seq"] == 1
    assert len(courier.posted(bob_tablet, "message")) == 1
    stored = courier.dynamodb.scan(TableName=courier.tables["ConnectionsTable"])["Items"]
    assert {i["connectionId"]["S"] for i in stored} == {
        alice.connection_id,
        bob_tablet.connection_id,
    }


def test_stale_connection_found_by_a_read_broadcast_is_deleted(courier: Courier) -> None:
    alice, bob_phone, bob_tablet = (
        courier.connect("alice"),
        courier.connect("bob"),
        courier.connect("bob", "tablet"),
    )
    courier.send(alice, DM, "m1")
    courier.drop(bob_tablet)

    assert courier.read(bob_phone, DM, 1)["readSeq"] == 1

    stored = courier.dynamodb.scan(TableName=courier.tables["ConnectionsTable"])["Items"]
    assert bob_tablet.connection_id not in {i["connectionId"]["S"] for i in stored}


def test_disconnect_removes_the_connection_so_nothing_is_posted_to_it(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.disconnect(bob)
    courier.send(alice, DM, "m1")
    assert courier.posted(bob) == []


def test_group_message_reaches_each_member_connection_exactly_once(courier: Courier) -> None:
    members = [f"user{i}" for i in range(12)]
    courier.group("big", members)
    conns = [courier.connect(m) for m in members] + [courier.connect("user3", "tablet")]
    outsider = courier.connect("mallory")

    courier.send(conns[0], "g:big", "hello")

    for conn in conns[1:]:
        assert len(courier.posted(conn, "message")) == 1, conn
    assert courier.posted(conns[0]) == []
    assert courier.posted(outsider) == []


def test_group_send_writes_a_constant_number_of_items_whatever_the_group_size(
    courier: Courier,
) -> None:
    courier.group("pair", ["alice", "bob"])
    courier.group("crowd", ["alice"] + [f"member{i}" for i in range(300)])
    alice = courier.connect("alice")
    courier.send(alice, "g:pair", "warm-up-1")
    courier.send(alice, "g:crowd", "warm-up-2")

    with recording() as pair:
        courier.send(alice, "g:pair", "p")
    with recording() as crowd:
        courier.send(alice, "g:crowd", "c")

    assert pair.dynamodb_item_writes() == crowd.dynamodb_item_writes() == 4
    assert pair.count("dynamodb", "TransactWriteItems") == 1
    assert crowd.count("dynamodb", "TransactWriteItems") == 1


def test_dm_send_costs_one_read_one_transaction_two_lookups_and_one_probe(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "first")  # the first message also creates bob's membership row

    courier.stream_paused = True
    with recording() as send:
        courier.send(alice, DM, "second")
    with recording() as durable:
        courier.pump_stream()

    assert send.by_operation() == {  # the send: commit, then the fast post and receipt
        "dynamodb.GetItem": 1,
        "dynamodb.TransactWriteItems": 1,
        "dynamodb.Query": 2,
        "apigatewaymanagementapi.PostToConnection": 2,
    }
    assert send.dynamodb_item_writes() == 4
    assert bob.connection_id in courier.connections.frames
    assert durable.by_operation() == {  # the stream: the devices, and bob's retry probe
        "dynamodb.Query": 2,
        "sqs.SendMessageBatch": 1,
    }


def test_removed_group_member_gets_no_more_messages_and_may_not_send(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, "g:team", "m1")

    courier.group("team", ["alice"])
    courier.send(alice, "g:team", "m2")
    refused = courier.frame(
        bob, {"action": "send", "channel": "g:team", "clientMsgNo": "b", "body": 1}
    )

    assert [f["seq"] for f in courier.posted(bob, "message")] == [1]
    assert refused is not None and refused["code"] == "forbidden"
    assert [c["channel"] for c in courier.sync(bob)["conversations"]] == []
