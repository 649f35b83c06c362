"""The reference SDK against the local stack, v1.1: after mentions, an edit, a recall and
a mute, the SDK's unread, mentions and total match the server's (part 1); a DM peer's
read reaches the SDK as a receipt and in conversation entries, `receipts` counts a group's
readers, typing reaches the other member, and presence tells online from offline, with
lastSeen, for the users the caller shares a conversation with (part 2)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp

from courier_client import CourierClient, Store
from courier_client.client import Frame
from tests.integration.sdk_events import EVENT_TIMEOUT, next_event
from tests.integration.wire import put_group, run, token

ALICE, BOB = "alice.v11", "bob.v11"
GROUP = "g:v11"
READER, WRITER, THIRD = "reader.v11", "writer.v11", "third.v11"
SEEKER, PEER, STRANGER = "seeker.v11", "peer.v11", "stranger.v11"
INDEX_WAIT = 5.0  # the ByChannel index is eventually consistent (docs/protocol.md)


async def admin_unread(session: aiohttp.ClientSession, url: str, user: str) -> dict[str, object]:
    async with session.get(f"{url}/admin/users/{user}/unread") as reply:
        assert reply.status == 200, await reply.text()
        return dict(await reply.json())


def test_the_sdk_counts_unread_and_mentions_as_the_server_does_through_recall_edit_and_mute(
    stack_url: str,
) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        await put_group(session, stack_url, "v11", [ALICE, BOB])
        alice_jwt = await token(session, stack_url, ALICE)
        bob_jwt = await token(session, stack_url, BOB)
        alice = CourierClient(stack_url, alice_jwt, Store(":memory:"), backoff_base=0.05)
        bob = CourierClient(stack_url, bob_jwt, Store(":memory:"), backoff_base=0.05)
        await alice.connect()
        await bob.connect()

        for n in range(3):
            await alice.send(GROUP, {"text": f"m{n}"}, mentions=[BOB] if n != 1 else [])
            await next_event(alice, "sendack")
            await next_event(bob, "message")
        await alice.edit(GROUP, 1, {"text": "m0, edited"})
        await next_event(bob, "edit")
        await alice.recall(GROUP, 3)
        await next_event(bob, "recall")
        await bob.mute(GROUP, True)

        server = await admin_unread(session, stack_url, BOB)
        assert server["channels"] == {GROUP: 2} and server["mentions"] == {GROUP: 1}
        assert server["muted"] == [GROUP] and server["totalUnread"] == 0
        assert (bob.unread(GROUP), bob.mentions(GROUP), bob.total_unread()) == (2, 1, 0)
        assert bob.muted(GROUP)
        [first, _second, third] = bob.store.messages(GROUP)
        assert first["body"] == {"text": "m0, edited"} and first["version"] == 1
        assert third.get("recalled") is True and third.get("body") is None

        for client in (alice, bob):
            await client.close()
            client.store.close()

    run(scenario, timeout=40)


def test_a_peers_read_reaches_the_sdk_as_a_receipt_and_in_a_sync_and_typing_reaches_them(
    stack_url: str,
) -> None:
    dm = f"dm:{READER}:{WRITER}"
    group = "g:v11-receipts"

    async def scenario(session: aiohttp.ClientSession) -> None:
        await put_group(session, stack_url, "v11-receipts", [READER, WRITER, THIRD])
        writer_jwt = await token(session, stack_url, WRITER)
        writer = CourierClient(stack_url, writer_jwt, Store(":memory:"), backoff_base=0.05)
        reader_jwt = await token(session, stack_url, READER)
        reader = CourierClient(stack_url, reader_jwt, Store(":memory:"), backoff_base=0.05)
        await writer.connect()
        await reader.connect()

        for channel in (dm, group):
            await writer.send(channel, {"text": "read me"})
            await next_event(writer, "sendack")
            await next_event(reader, "message")
            await reader.read(channel)
            if channel == dm:
                receipt = await next_event(writer, "peer_read")
                assert (receipt["channel"], receipt["peerReadSeq"]) == (dm, 1)
        assert writer.peer_read_seq(dm) == 1 and writer.peer_read_seq(group) == 0

        async with asyncio.timeout(INDEX_WAIT):
            while (counted := await writer.receipts(group, 1))["count"] < 1:
                await asyncio.sleep(0.05)
        assert (counted["members"], counted["readBy"]) == (3, [READER])

        assert await reader.typing(dm) is True
        assert await reader.typing(dm) is False  # within 3 s: not sent
        typing = await next_event(writer, "typing")
        assert (typing["channel"], typing["user"]) == (dm, READER)

        other_device = CourierClient(stack_url, writer_jwt, Store(":memory:"))
        await other_device.connect()  # a fresh store learns it from the conversation entry
        assert other_device.peer_read_seq(dm) == 1

        for client in (writer, reader, other_device):
            await client.close()
            client.store.close()

    run(scenario, timeout=40)


async def presence_until(
    client: CourierClient, users: list[str], done: Callable[[dict[str, Frame]], bool]
) -> dict[str, Frame]:
    """Ask presence again until `done(reply)` (the local stack runs $disconnect once the
    socket has closed, and the DM counter is read eventually consistent): no sleep decides,
    EVENT_TIMEOUT only guards against a hang."""
    async with asyncio.timeout(EVENT_TIMEOUT):
        while not done(reported := await client.presence(users)):
            await asyncio.sleep(0.02)
    return reported


def test_presence_through_the_sdk_reports_a_dm_peer_online_then_offline_and_never_a_stranger(
    stack_url: str,
) -> None:
    dm = f"dm:{PEER}:{SEEKER}"

    async def scenario(session: aiohttp.ClientSession) -> None:
        # Given the seeker and the peer sharing a DM, and a stranger who shares nothing
        # with the seeker (only a DM with the peer), all three connected
        clients = {}
        try:
            for user in (SEEKER, PEER, STRANGER):
                jwt = await token(session, stack_url, user)
                clients[user] = CourierClient(stack_url, jwt, Store(":memory:"), backoff_base=0.05)
                await clients[user].connect()
            seeker, peer, stranger = clients[SEEKER], clients[PEER], clients[STRANGER]
            await seeker.send(dm, {"text": "hi"})
            await next_event(seeker, "sendack")
            await stranger.send(f"dm:{PEER}:{STRANGER}", {"text": "hello"})
            await next_event(stranger, "sendack")

            # When the peer is connected, the seeker sees them online; the stranger is left out
            online = await presence_until(seeker, [PEER, STRANGER], lambda got: PEER in got)
            assert online == {PEER: {"online": True}}

            # When the peer closes, the seeker sees them offline since the close began
            closing_at = time.time_ns() // 1_000_000
            await peer.close()
            offline = await presence_until(
                seeker, [PEER, STRANGER], lambda got: got[PEER]["online"] is False
            )
            asked_by = time.time_ns() // 1_000_000
            assert offline == {PEER: {"online": False, "lastSeen": offline[PEER]["lastSeen"]}}
            assert closing_at <= offline[PEER]["lastSeen"] <= asked_by, (closing_at, offline)

        finally:  # a failure must not leave sockets open for the next test to trip on
            for client in clients.values():
                await client.close()
                client.store.close()

    run(scenario, timeout=40)
