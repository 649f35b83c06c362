"""The reference client SDK against the local stack: exactly-once display, derived unread,
read cursors, gap filling, and an app restart on the same SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from courier_client import CourierClient, Store

EVENT_TIMEOUT = 5.0
ALICE, BOB = "alice.sdk", "bob.sdk"
CHANNEL = f"dm:{ALICE}:{BOB}"


def run(scenario: Callable[[aiohttp.ClientSession], Awaitable[None]]) -> None:
    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.wait_for(scenario(session), timeout=40)

    asyncio.run(main())


async def token(session: aiohttp.ClientSession, url: str, user: str, device: str) -> str:
    async with session.post(
        f"{url}/admin/tokens", json={"user": user, "device": device, "ttlSeconds": 600}
    ) as reply:
        assert reply.status == 200, await reply.text()
        return str((await reply.json())["token"])


async def event(client: CourierClient, kind: str) -> dict[str, Any]:
    """The next UI event of this type, skipping others."""
    while True:
        found = await asyncio.wait_for(client.events.get(), EVENT_TIMEOUT)
        if found.get("type") == kind:
            return found


async def events_until(client: CourierClient, kinds: set[str]) -> dict[str, dict[str, Any]]:
    """The first UI event of each of these types, in whatever order they come."""
    seen: dict[str, dict[str, Any]] = {}
    while set(seen) != kinds:
        found = await asyncio.wait_for(client.events.get(), EVENT_TIMEOUT)
        if found.get("type") in kinds:
            seen.setdefault(found["type"], found)
    return seen


def drain(client: CourierClient) -> list[dict[str, Any]]:
    events = []
    while not client.events.empty():
        events.append(client.events.get_nowait())
    return events


async def server_unread(session: aiohttp.ClientSession, url: str, user: str) -> dict[str, int]:
    async with session.get(f"{url}/admin/users/{user}/unread") as reply:
        assert reply.status == 200
        channels: dict[str, int] = (await reply.json())["channels"]
        return channels


async def send_three_read_and_dedup(
    session: aiohttp.ClientSession, url: str, alice: CourierClient, bob: CourierClient
) -> None:
    # alice sends 3; each sendack clears the outbox and stores the message as read
    sent = [await alice.send(CHANNEL, {"text": f"hi {n}"}) for n in range(3)]
    acks = [await event(alice, "sendack") for _ in sent]
    assert sorted(a["seq"] for a in acks) == [1, 2, 3]
    assert {a["clientMsgNo"] for a in acks} == set(sent)
    assert alice.store.outbox() == [] and alice.unread(CHANNEL) == 0
    assert [m["seq"] for m in alice.store.messages(CHANNEL)] == [1, 2, 3]

    # bob gets each once: 3 unread
    received = [await event(bob, "message") for _ in range(3)]
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
    read = await event(bob, "read")
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
    refilled = [await event(tablet, "message") for _ in range(2)]
    assert [m["seq"] for m in refilled] == [1, 2]
    assert tablet.store.contiguous_prefix(CHANNEL) == 3 and tablet.unread(CHANNEL) == 0
    await tablet.close()
    tablet.store.close()


async def restart_keeps_state_and_sends_the_outbox_once(
    session: aiohttp.ClientSession, url: str, alice_db: str, bob_db: str
) -> None:
    # app restarts, offline: alice queues one message while disconnected
    alice_jwt = await token(session, url, ALICE, "phone")
    bob_jwt = await token(session, url, BOB, "phone")
    offline = CourierClient(url, alice_jwt, Store(alice_db))
    queued = await offline.send(CHANNEL, {"text": "sent from the outbox"})
    assert [e.client_msg_no for e in offline.store.outbox()] == [queued]
    offline.store.close()

    bob = CourierClient(url, bob_jwt, Store(bob_db), backoff_base=0.05)
    assert len(bob.store.messages(CHANNEL)) == 3  # messages and cursors survived
    assert bob.store.read_seq(CHANNEL) == 3 and bob.unread(CHANNEL) == 0
    await bob.connect()

    alice = CourierClient(url, alice_jwt, Store(alice_db), backoff_base=0.05)
    assert [e.client_msg_no for e in alice.store.outbox()] == [queued]
    await alice.connect()  # resends the outbox with the same clientMsgNo
    ack = await event(alice, "sendack")
    assert ack["clientMsgNo"] == queued and ack["seq"] == 4 and ack["duplicate"] is False
    assert alice.store.outbox() == []
    assert [m["seq"] for m in alice.store.messages(CHANNEL)] == [1, 2, 3, 4]

    live = await event(bob, "message")
    assert live["seq"] == 4 and live["body"] == {"text": "sent from the outbox"}
    assert bob.unread(CHANNEL) == 1
    await asyncio.sleep(1.5)
    assert [e for e in drain(bob) if e["type"] == "message"] == []
    assert [m["seq"] for m in bob.store.messages(CHANNEL)] == [1, 2, 3, 4]
    assert (await server_unread(session, url, BOB))[CHANNEL] == 1  # exactly once

    await alice.close()
    await bob.close()
    alice.store.close()
    bob.store.close()


def test_client_delivery_read_dedup_gap_and_restart(stack_url: str, tmp_path: Path) -> None:
    alice_db, bob_db = str(tmp_path / "alice.db"), str(tmp_path / "bob.db")

    async def scenario(session: aiohttp.ClientSession) -> None:
        alice_jwt = await token(session, stack_url, ALICE, "phone")
        bob_jwt = await token(session, stack_url, BOB, "phone")
        alice = CourierClient(stack_url, alice_jwt, Store(alice_db), backoff_base=0.05)
        bob = CourierClient(stack_url, bob_jwt, Store(bob_db), backoff_base=0.05)
        await alice.connect()
        await bob.connect()

        await send_three_read_and_dedup(session, stack_url, alice, bob)
        await second_device_fills_a_gap(session, stack_url, bob)
        await alice.close()
        await bob.close()
        alice.store.close()
        bob.store.close()
        await restart_keeps_state_and_sends_the_outbox_once(session, stack_url, alice_db, bob_db)

    run(scenario)


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
        assert (await event(carol, "sendack"))["seq"] == 1
        assert (await event(dave, "message"))["seq"] == 1

        # the sendack was "lost": the entry is back in the outbox when the connection drops
        carol.store.outbox_add(client_msg_no, channel, {"text": "once"})
        assert carol._ws is not None
        await carol._ws.close()
        await event(carol, "disconnected")
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

    run(scenario)
