"""The reference client SDK against the local stack: exactly-once display, derived unread,
read cursors, gap filling, and a lost sendack; the app-level scenarios (groups, dropped
acks, returning offline, restarts) are in test_sdk_scenarios.py."""

from __future__ import annotations

import asyncio

import aiohttp

from courier_client import CourierClient, Store
from tests.integration.sdk_events import drain, events_until, next_event
from tests.integration.wire import run, server_unread, token

ALICE, BOB = "alice.sdk", "bob.sdk"
CHANNEL = f"dm:{ALICE}:{BOB}"


async def send_three_read_and_dedup(
    session: aiohttp.ClientSession, url: str, alice: CourierClient, bob: CourierClient
) -> None:
    # alice sends 3; each sendack clears the outbox and stores the message as read
    sent = [await alice.send(CHANNEL, {"text": f"hi {n}"}) for n in range(3)]
    acks = [await next_event(alice, "sendack") for _ in sent]
    assert sorted(a["seq"] for a in acks) == [1, 2, 3]
    assert {a["clientMsgNo"] for a in acks} == set(sent)
    assert alice.store.outbox() == [] and alice.unread(CHANNEL) == 0
    assert [m["seq"] for m in alice.store.messages(CHANNEL)] == [1, 2, 3]

    # bob gets each once: 3 unread
    received = [await next_event(bob, "message") for _ in range(3)]
    assert sorted(m["seq"] for m in received) == [1, 2, 3]
    assert [m["body"] for m in bob.store.messages(CHANNEL)] == [
        {"text": f"hi {n}"} for n in range(3)
    ]
    assert bob.unread(CHANNEL) == 3 and bob.total_unread() == 3
    await asyncio.sleep(1.5)  # past the first retry: acked, so nothing new shows
    assert [e for e in drain(bob) if e["type"] == "message"] == []
    assert bob.unread(CHANNEL) == 3

    # bob reads: 0 here and on the server
    await bob.read(CHANNEL)
    assert bob.unread(CHANNEL) == 0
    read = await next_event(bob, "read")
    assert read == {"type": "read", "channel": CHANNEL, "readSeq": 3, "unread": 0}
    assert (await server_unread(session, url, BOB))[CHANNEL] == 0

    # the same message frame delivered again: nothing new stored, unread stays 0
    duplicate = {"type": "message", **bob.store.messages(CHANNEL)[1]}
    await bob.handle_frame(duplicate)
    await bob.handle_frame(duplicate)
    assert len(bob.store.messages(CHANNEL)) == 3 and bob.unread(CHANNEL) == 0
    assert [e for e in drain(bob) if e["type"] == "message"] == []


async def second_device_fills_a_gap(
    session: aiohttp.ClientSession, url: str, bob: CourierClient
) -> None:
    # a second device of bob's catches up on connect; a frame past a gap triggers a sync
    tablet_jwt = await token(session, url, BOB, "tablet")
    tablet = CourierClient(url, tablet_jwt, Store(":memory:"))
    await tablet.connect()
    assert [m["seq"] for m in tablet.store.messages(CHANNEL)] == [1, 2, 3]
    assert tablet.unread(CHANNEL) == 0  # the read cursor is per user
    tablet.store._db.execute("DELETE FROM messages WHERE seq < 3")  # lose 1 and 2
    assert tablet.store.contiguous_prefix(CHANNEL) == 0
    drain(tablet)
    await tablet.handle_frame({"type": "message", **bob.store.messages(CHANNEL)[2]})
    refilled = [await next_event(tablet, "message") for _ in range(2)]
    assert [m["seq"] for m in refilled] == [1, 2]
    assert tablet.store.contiguous_prefix(CHANNEL) == 3 and tablet.unread(CHANNEL) == 0
    await tablet.close()
    tablet.store.close()


def test_client_delivery_read_dedup_and_gap(stack_url: str) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        alice_jwt = await token(session, stack_url, ALICE, "phone")
        bob_jwt = await token(session, stack_url, BOB, "phone")
        alice = CourierClient(stack_url, alice_jwt, Store(":memory:"), backoff_base=0.05)
        bob = CourierClient(stack_url, bob_jwt, Store(":memory:"), backoff_base=0.05)
        await alice.connect()
        await bob.connect()

        await send_three_read_and_dedup(session, stack_url, alice, bob)
        await second_device_fills_a_gap(session, stack_url, bob)
        for client in (alice, bob):
            await client.close()
            client.store.close()

    run(scenario, timeout=40)


def test_reconnect_resends_the_outbox_and_a_lost_sendack_creates_nothing(stack_url: str) -> None:
    channel = "dm:carol.sdk:dave.sdk"

    async def scenario(session: aiohttp.ClientSession) -> None:
        carol_jwt = await token(session, stack_url, "carol.sdk", "phone")
        dave_jwt = await token(session, stack_url, "dave.sdk", "phone")
        carol = CourierClient(stack_url, carol_jwt, Store(":memory:"), backoff_base=0.05)
        dave = CourierClient(stack_url, dave_jwt, Store(":memory:"), backoff_base=0.05)
        await carol.connect()
        await dave.connect()
        client_msg_no = await carol.send(channel, {"text": "once"})
        assert (await next_event(carol, "sendack"))["seq"] == 1
        assert (await next_event(dave, "message"))["seq"] == 1

        # the sendack was "lost": the entry is back in the outbox when the connection drops
        carol.store.outbox_add(client_msg_no, channel, {"text": "once"})
        assert carol._ws is not None
        await carol._ws.close()
        await next_event(carol, "disconnected")
        seen = await events_until(carol, {"sendack", "connected"})  # reconnected, resent
        again = seen["sendack"]
        assert again["duplicate"] is True and again["seq"] == 1
        assert again["clientMsgNo"] == client_msg_no
        assert carol.store.outbox() == [] and len(carol.store.messages(channel)) == 1
        assert carol.unread(channel) == 0

        await asyncio.sleep(1.5)
        assert [e for e in drain(dave) if e["type"] == "message"] == []
        assert len(dave.store.messages(channel)) == 1 and dave.unread(channel) == 1
        assert (await server_unread(session, stack_url, "dave.sdk"))[channel] == 1
        for client in (carol, dave):
            await client.close()
            client.store.close()

    run(scenario, timeout=40)
