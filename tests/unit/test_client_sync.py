"""The SDK catches up through `sync`: gaps are filled once, expired messages do not leave
a hole it keeps trying to fill, acks cover the contiguous prefix, a message sent again
is acked again, and reads made offline reach the server on the next connect."""

from __future__ import annotations

import asyncio

from courier_client import Store
from tests.unit.fake_courier import (
    GATEWAY_ERROR,
    FakeClient,
    FakeServer,
    bob_sends,
    connected,
    next_event,
    until,
)

DM = "dm:alice:bob"


def test_messages_that_expired_count_as_filled() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        bob_sends(server, 10)
        server.expired = {(DM, seq) for seq in (1, 2, 3, 4, 7)}  # TTL takes them in any order
        async with connected(FakeClient(server)) as client:
            assert [m["seq"] for m in client.store.messages(DM)] == [5, 6, 8, 9, 10]
            assert client.store.contiguous_prefix(DM) == 10
            await until(lambda: server.acks.get(DM) == 10)
            syncs = len(server.sent("sync"))

            client.socket.push(server.add(DM, "bob", "new"))  # seq 11, right after the prefix
            await until(lambda: server.acks.get(DM) == 11)
            assert len(server.sent("sync")) == syncs  # nothing left to fill
            assert client.unread(DM) == 11  # expired messages stay unread (lastSeq - readSeq)

    asyncio.run(scenario())


def test_a_channel_whose_every_message_expired_is_acked_through_its_last_seq() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        bob_sends(server, 3)
        server.expired = {(DM, seq) for seq in (1, 2, 3)}
        async with connected(FakeClient(server)) as client:
            await until(lambda: server.acks.get(DM) == 3)
            assert client.store.messages(DM) == [] and client.store.contiguous_prefix(DM) == 3

    asyncio.run(scenario())


def test_a_message_past_a_gap_is_filled_through_sync_and_acked_cumulatively() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server)) as client:
            first, _, third = bob_sends(server, 3)
            client.socket.push(first)
            client.socket.push(third)  # the frame of 2 was lost
            await until(lambda: server.acks.get(DM) == 3)
            assert [m["seq"] for m in client.store.messages(DM)] == [1, 2, 3]
            assert [a["seq"] for a in server.sent("ack")] == [1, 3]  # never past the gap

    asyncio.run(scenario())


def test_a_retried_message_is_acked_again_and_never_changes_unread() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server)) as client:
            [message] = bob_sends(server, 1)
            for _ in range(3):  # the server did not get the ack: it retries
                client.socket.push(message)
            await until(lambda: len(server.sent("ack")) == 3)
            assert client.unread(DM) == 1 and len(client.store.messages(DM)) == 1
            shown = [e for e in drain(client) if e.get("type") == "message"]
            assert len(shown) == 1

    asyncio.run(scenario())


def drain(client: FakeClient) -> list[dict[str, object]]:
    events = []
    while not client.events.empty():
        events.append(client.events.get_nowait())
    return events


def test_a_read_made_offline_reaches_the_server_on_connect() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        store = Store(":memory:")
        for message in bob_sends(server, 2):
            store.add_message(DM, message)
        offline = FakeClient(server, store)
        await offline.read(DM)  # not connected: only the local cursor moves
        assert offline.unread(DM) == 0 and server.reads.get(DM, 0) == 0
        async with connected(offline) as client:
            await until(lambda: server.reads.get(DM) == 2)
            assert client.unread(DM) == 0

    asyncio.run(scenario())


def test_a_read_whose_outcome_is_unknown_is_sent_again() -> None:
    async def scenario() -> None:
        server = FakeServer("alice", faults={"read": [GATEWAY_ERROR]})
        async with connected(FakeClient(server)) as client:
            client.socket.push(bob_sends(server, 1)[0])
            await next_event(client, "message")
            await client.read(DM)
            await next_event(client, "gateway_error")
            read = await next_event(client, "read")
            assert read["readSeq"] == 1 and server.reads[DM] == 1
            assert len(server.sent("read")) == 2

    asyncio.run(scenario())
