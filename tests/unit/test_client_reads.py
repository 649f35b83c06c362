"""A read the user made is never lost by the SDK: it is kept in the store as the channel's
wanted read until the server reports a read cursor that covers it, sent again on a timer
while connected (like the outbox), and again after a restart of the app."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from courier_client import Store
from tests.unit.fake_courier import (
    DROP,
    THROTTLED,
    FakeClient,
    FakeServer,
    bob_sends,
    connected,
    next_event,
    until,
)

DM = "dm:alice:bob"


def without_request_id(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in frame.items() if k != "requestId"} for frame in frames]


def test_a_read_whose_frame_is_dropped_is_resent_until_the_server_holds_it() -> None:
    async def scenario() -> None:
        server = FakeServer("alice", faults={"read": [DROP, DROP]})
        bob_sends(server, 2)
        async with connected(FakeClient(server, resend_timeout=0.05)) as client:
            await client.read(DM)
            assert client.store.wanted_read(DM) == 2  # lost on the way: still wanted
            read = await next_event(client, "read")  # the third frame gets through
            assert read["readSeq"] == 2 and server.reads[DM] == 2
            frames = without_request_id(server.sent("read"))
            assert frames == [{"action": "read", "channel": DM, "seq": 2}] * 3
            assert client.store.wanted_reads() == {}  # held: nothing left to resend
            assert len(client.sockets) == 1  # the timer did it, not a reconnect

    asyncio.run(scenario())


def test_a_read_not_yet_held_survives_a_restart_of_the_app(tmp_path: Path) -> None:
    path = str(tmp_path / "alice.sqlite3")

    async def scenario() -> None:
        server = FakeServer("alice", faults={"read": [DROP]})
        bob_sends(server, 2)
        async with connected(FakeClient(server, Store(path), resend_timeout=60)) as client:
            await client.read(DM)  # lost; the app is closed before the timer resends it
        assert server.reads.get(DM, 0) == 0

        restarted = FakeClient(server, Store(path))
        assert restarted.store.wanted_read(DM) == 2 and restarted.unread(DM) == 0
        async with connected(restarted):
            await until(lambda: server.reads.get(DM) == 2)
            await until(lambda: restarted.store.wanted_reads() == {})
            assert restarted.unread(DM) == 0

    asyncio.run(scenario())


def test_a_read_is_held_once_any_report_of_the_cursor_covers_it() -> None:
    async def scenario() -> None:
        server = FakeServer("alice", faults={"read": [DROP]})
        bob_sends(server, 3)
        async with connected(FakeClient(server, resend_timeout=60)) as client:
            await client.read(DM)
            assert client.store.wanted_read(DM) == 3
            another_device = {"type": "read", "channel": DM, "readSeq": 2, "unread": 1}
            client.socket.push(another_device)  # not far enough
            await next_event(client, "read")
            assert client.store.wanted_read(DM) == 3 and client.unread(DM) == 0
            client.socket.push({**another_device, "readSeq": 3, "unread": 0})
            await next_event(client, "read")
            assert client.store.wanted_reads() == {}

    asyncio.run(scenario())


def test_a_throttled_read_is_sent_again() -> None:
    async def scenario() -> None:
        server = FakeServer("alice", faults={"read": [THROTTLED]})
        bob_sends(server, 1)
        async with connected(FakeClient(server, resend_timeout=60)) as client:
            await client.read(DM)
            assert (await next_event(client, "error"))["code"] == "throttled"
            read = await next_event(client, "read")  # long before resend_timeout
            assert read["readSeq"] == 1 and client.store.wanted_reads() == {}

    asyncio.run(scenario())


def test_a_read_the_server_clamps_to_its_last_seq_is_not_resent_forever() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        store = Store(":memory:")
        for message in bob_sends(server, 3):
            store.add_message(DM, message)
        server.messages[DM].pop()  # the server has 1 and 2 only
        client = FakeClient(server, store, resend_timeout=0.05, check_server=False)
        async with connected(client):
            await client.read(DM)
            read = await next_event(client, "read")
            assert read["readSeq"] == 2 and server.reads[DM] == 2
            assert client.store.wanted_reads() == {}  # all of it the server can hold

    asyncio.run(scenario())
