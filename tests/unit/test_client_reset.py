"""A server that lost its state (the local stack restarted empty): the SDK finds out before
anything goes out or comes in, drops what came from the old server and keeps what the user
did. The outbox goes to the new server (new messages there); a read holds only as far as
the new server has the very messages read, so nothing unseen is ever marked read."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.unit.fake_courier import (
    FakeClient,
    FakeServer,
    FakeSocket,
    bob_sends,
    connected,
    next_event,
    until,
)

DM = "dm:alice:bob"


class Restarted(FakeServer):
    """A new server: its messageIds differ from the old one's (they are random on a real one)."""

    def add(self, channel: str, sender: str, text: str) -> dict[str, Any]:
        frame = super().add(channel, sender, text)
        frame["messageId"] = self.messages[channel][-1]["messageId"] = f"new-{frame['messageId']}"
        return frame


class Device(FakeClient):
    """A FakeClient whose server can be down (connections refused), and can greet a new
    connection with a frame of its own before anything else."""

    down = False
    greeting: dict[str, Any] | None = None

    def _open(self) -> Any:
        if self.down:
            raise aiohttp.ClientConnectionError("connection refused")
        opened = super()._open()
        if self.greeting is not None:
            self.socket.push(self.greeting)
            self.greeting = None
        return opened


async def server_goes_down(client: Device) -> FakeSocket:
    client.down = True
    socket = client.socket
    await socket.close()
    await next_event(client, "disconnected")
    return socket


def comes_back_as(client: Device, server: FakeServer) -> None:
    client.server, client.down = server, False


def test_after_a_server_reset_the_outbox_goes_to_the_new_server_and_old_reads_mark_nothing() -> (
    None
):
    async def scenario() -> None:
        old = FakeServer("alice")
        bob_sends(old, 3)
        async with connected(Device(old, backoff_max=0.05)) as alice:
            await server_goes_down(alice)
            await alice.read(DM)  # offline: never reaches the old server
            typed = await alice.send(DM, {"text": "typed while the server was down"})

            new = Restarted("alice")
            comes_back_as(alice, new)
            assert (await next_event(alice, "server_reset"))["outbox"] == 1
            ack = await next_event(alice, "sendack")
            assert ack["clientMsgNo"] == typed and ack["seq"] == 1 and not ack["duplicate"]
            assert [s["clientMsgNo"] for s in new.sent("send")] == [typed]
            await next_event(alice, "connected")
            assert alice.store.outbox() == []
            assert [m["body"] for m in alice.store.messages(DM)] == [
                {"text": "typed while the server was down"}
            ]
            assert new.sent("read") == []  # the read of the old 1..3 is not the new 1..3
            assert alice.store.wanted_reads() == {} and alice.store.read_anchors(DM) == {}

            alice.socket.push(new.add(DM, "bob", "first from bob on the new server"))
            await until(lambda: len(alice.store.messages(DM)) == 2)
            assert alice.unread(DM) == 1 and new.reads[DM] == 1

    asyncio.run(scenario())


def test_after_a_server_reset_a_read_holds_as_far_as_the_new_server_has_the_messages_read() -> None:
    async def scenario() -> None:
        old = FakeServer("alice")
        read = bob_sends(old, 3)
        async with connected(Device(old, backoff_max=0.05)) as alice:
            await server_goes_down(alice)
            await alice.read(DM)  # offline, up to 3

            backup = Restarted("alice")  # restored from a backup taken at seq 2
            backup.messages = {DM: [dict(m) for m in old.messages[DM][:2]]}
            comes_back_as(alice, backup)
            await next_event(alice, "server_reset")
            await until(lambda: backup.reads.get(DM) == 2)  # 1 and 2 are the ones read
            await until(lambda: alice.store.wanted_reads() == {})
            assert alice.store.read_anchors(DM) == {3: read[2]["messageId"]}  # cannot be held

            alice.socket.push(backup.add(DM, "bob", "after the restore"))  # a new seq 3
            await until(lambda: len(alice.store.messages(DM)) == 3)
            assert alice.store.read_anchors(DM) == {}
            assert alice.unread(DM) == 1 and backup.reads[DM] == 2

    asyncio.run(scenario())


def test_a_server_that_still_holds_the_newest_message_is_not_reset() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        bob_sends(server, 3)
        async with connected(FakeClient(server)) as alice:
            seen: list[str] = []
            alice.callbacks.append(lambda event: seen.append(str(event.get("type"))))
            server.expired = {(DM, 3)}  # retention took the newest message itself
            await alice.socket.close()
            await next_event(alice, "disconnected")
            await next_event(alice, "connected")
            probe = {"action": "sync", "channel": DM, "afterSeq": 2, "limit": 1}
            assert any(probe.items() <= frame.items() for frame in server.sent("sync"))
            assert "server_reset" not in seen
            assert [m["seq"] for m in alice.store.messages(DM)] == [1, 2, 3]

    asyncio.run(scenario())


def test_what_the_new_server_sends_during_the_check_is_shown_once_after_the_reset() -> None:
    async def scenario() -> None:
        old = FakeServer("alice")
        bob_sends(old, 2)
        async with connected(Device(old, backoff_max=0.05)) as alice:
            await server_goes_down(alice)
            new = Restarted("alice")
            sent = bob_sends(new, 3)
            seen: list[dict[str, Any]] = []
            alice.callbacks.append(seen.append)
            alice.greeting = sent[2]  # pushed live before the check is answered
            comes_back_as(alice, new)
            await next_event(alice, "connected")
            shown = [e for e in seen if e["type"] in ("server_reset", "message")]
            assert shown[0]["type"] == "server_reset"
            assert sorted(e["seq"] for e in shown[1:]) == [1, 2, 3]  # each once
            stored = [m["messageId"] for m in alice.store.messages(DM)]
            assert stored == [m["messageId"] for m in sent]

    asyncio.run(scenario())
