"""The SDK's v1.1 actions against the fake server: mentions go out with a send (or are
refused before anything is queued), recall, edit and mute are requests whose reply is
applied, and the frames other members' actions cause are applied once, so the SDK's unread
and mentions always agree with the server's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from courier_client import InvalidMentions, Store
from courier_client.client import RequestError
from tests.unit.fake_courier import (
    FakeClient,
    FakeServer,
    connected,
    next_event,
    settled,
    until,
)

DM = "dm:alice:bob"


def agrees(client: FakeClient, server: FakeServer, channel: str = DM) -> bool:
    """The SDK's unread, mentions and total are what the server would report."""
    return (
        client.unread(channel) == server._unread(channel)
        and client.mentions(channel) == server._mentions(channel)
        and client.total_unread() == server._total_unread()
    )


def test_mentions_go_out_with_the_send_and_are_stored_with_its_sendack() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server)) as client:
            await client.send(DM, {"text": "hi @bob"}, mentions=["bob", "carol"])
            await next_event(client, "sendack")
            assert server.sent("send")[0]["mentions"] == ["bob", "carol"]
            assert client.store.messages(DM)[0]["mentions"] == ["bob", "carol"]
            await client.send(DM, {"text": "no one"})
            await next_event(client, "sendack")
            assert "mentions" not in server.sent("send")[1]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("mentions", "says"),
    [
        ([f"user{n}" for n in range(51)], "at most 50"),
        (["bob", "carol", "bob"], "more than once: bob"),
        (["bob", "no spaces"], "not a user id"),
        (["x" * 65], "not a user id"),
        ("bob", "not one string"),
    ],
)
def test_mentions_the_server_would_refuse_raise_before_anything_is_queued(
    mentions: list[str], says: str
) -> None:
    async def scenario() -> None:
        client = FakeClient(FakeServer("alice"))
        with pytest.raises(InvalidMentions, match=says):
            await client.send(DM, {"text": "x"}, mentions=mentions)
        assert client.store.outbox() == []
        await client.send(DM, {"text": "x"}, mentions=[f"user{n}" for n in range(50)])
        assert len(client.store.outbox()[0].mentions) == 50

    asyncio.run(scenario())


def test_recalling_a_message_of_ones_own_erases_it_here_and_on_the_server() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server)) as client:
            await client.send(DM, {"text": "oops"}, mentions=["bob"])
            seq = (await next_event(client, "sendack"))["seq"]
            reply = await client.recall(DM, seq)
            assert reply["type"] == "recall" and reply["seq"] == seq
            [kept] = client.store.messages(DM)
            assert kept["recalled"] and kept["body"] is None and kept["mentions"] == []
            assert server.messages[DM][0]["recalled"] is True
            assert (await client.recall(DM, seq))["seq"] == seq  # idempotent

    asyncio.run(scenario())


def test_recalling_someone_elses_message_is_refused_and_changes_nothing() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        server.add(DM, "bob", "mine, not yours")
        async with connected(FakeClient(server)) as client:
            with pytest.raises(RequestError) as refused:
                await client.recall(DM, 1)
            assert refused.value.code == "forbidden"
            with pytest.raises(RequestError) as beyond:
                await client.edit(DM, 2, {"text": "no such message"})
            assert beyond.value.code == "invalid"
            assert client.store.messages(DM)[0]["recalled"] is False
            assert client.unread(DM) == 1

    asyncio.run(scenario())


def test_recall_edit_and_mute_need_a_connection_and_queue_nothing() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        client = FakeClient(server)
        with pytest.raises(ConnectionError):
            await client.recall(DM, 1)
        with pytest.raises(ConnectionError):
            await client.edit(DM, 1, {"text": "x"})
        with pytest.raises(ConnectionError):
            await client.mute(DM)
        async with connected(client):
            await until(lambda: server.sent("sync") != [])
            assert [f["action"] for f in server.received if f["action"] != "sync"] == []

    asyncio.run(scenario())


def test_editing_a_message_of_ones_own_stores_the_new_body_and_version() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server)) as client:
            await client.send(DM, {"text": "helo"})
            await next_event(client, "sendack")
            first = await client.edit(DM, 1, {"text": "hello"})
            second = await client.edit(DM, 1, {"text": "hello!"})
            assert (first["version"], second["version"]) == (1, 2)
            client.socket.push(first)  # a late copy of the older edit
            await client.recall(DM, 1)  # something to wait for behind it
            assert client.store.messages(DM)[0]["recalled"] is True
            with pytest.raises(RequestError) as refused:
                await client.edit(DM, 1, {"text": "after the recall"})
            assert refused.value.code == "forbidden"

    asyncio.run(scenario())


def test_an_edit_frame_arriving_twice_is_shown_once_and_a_late_older_one_never() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        server.add(DM, "bob", "helo")
        async with connected(FakeClient(server)) as client:
            await settled(client)
            older = server.edit(DM, 1, {"text": "hello"})
            newer = server.edit(DM, 1, {"text": "hello!"})
            for frame in (newer, newer, older):
                client.socket.push(frame)
            shown = [e for e in await settled(client) if e["type"] == "edit"]
            assert [e["version"] for e in shown] == [2]
            assert client.store.messages(DM)[0]["body"] == {"text": "hello!"}
            assert agrees(client, server)

    asyncio.run(scenario())


def test_a_recall_frame_lowers_unread_once_however_often_it_arrives() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        server.add(DM, "bob", "one")
        server.add(DM, "bob", "two @alice", mentions=("alice",))
        async with connected(FakeClient(server)) as client:
            assert client.unread(DM) == 2 and client.mentions(DM) == 1
            await settled(client)
            recall = server.recall(DM, 2)
            client.socket.push(recall)
            client.socket.push(recall)
            events = await settled(client)
            assert [e["type"] for e in events] == ["recall", "unread"]  # once
            assert (events[1]["unread"], events[1]["mentions"]) == (1, 0)
            assert agrees(client, server)

    asyncio.run(scenario())


def test_a_recall_of_a_message_not_received_yet_fetches_it_and_it_stays_recalled() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server)) as client:
            first = server.add(DM, "bob", "one")
            server.add(DM, "bob", "two", mentions=("alice",))  # its frame is lost
            client.socket.push(first)
            client.socket.push(server.recall(DM, 2))
            await until(lambda: len(client.store.messages(DM)) == 2)
            assert client.store.messages(DM)[1]["recalled"] is True
            assert agrees(client, server) and client.unread(DM) == 1
            await until(lambda: server.acks.get(DM) == 2)

    asyncio.run(scenario())


def test_muted_conversations_are_left_out_of_total_unread() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        server.add(DM, "bob", "one")
        server.add("g:team", "carol", "two")
        server.add("g:team", "carol", "three")
        async with connected(FakeClient(server)) as client:
            assert client.total_unread() == 3
            reply = await client.mute("g:team")
            assert reply["muted"] is True and server.muted == {"g:team"}
            assert client.muted("g:team") and client.total_unread() == 1
            assert client.unread("g:team") == 2  # still shown on its own
            assert agrees(client, server, "g:team")
            await settled(client)
            another_device = {"type": "mute", "channel": "g:team", "muted": False}
            client.socket.push(another_device | {"totalUnread": 3})
            [event] = await settled(client)
            assert event["totalUnread"] == 3 and not client.muted("g:team")

    asyncio.run(scenario())


def test_a_conversations_page_brings_the_mute_and_a_changed_last_message() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        store = Store(":memory:")
        for seq in (1, 2):
            store.add_message(DM, server.add(DM, "bob", f"m{seq}", mentions=("alice",)))
        store.add_message("g:team", server.add("g:team", "carol", "edit me"))
        server.reads["g:team"] = 1
        store.read_confirmed("g:team", 1)
        server.recall(DM, 2)  # while this device was away
        server.edit("g:team", 1, {"text": "edited"})  # read already: unread says nothing
        server.muted.add("g:team")
        async with connected(FakeClient(server, store)) as client:
            assert client.store.messages(DM)[1]["recalled"] is True
            assert client.store.messages("g:team")[0]["body"] == {"text": "edited"}
            assert client.muted("g:team")
            assert agrees(client, server) and agrees(client, server, "g:team")
            assert (client.unread(DM), client.mentions(DM), client.total_unread()) == (1, 1, 1)
            server.add(DM, "bob", "new while away")  # not held: comes whole from sync
            await client.socket.close()
            await until(lambda: len(client.store.messages(DM)) == 3)
            assert client.store.messages(DM)[2]["clientMsgNo"] == "c-bob-3"
            assert agrees(client, server)

    asyncio.run(scenario())


def test_after_a_restart_the_sdk_agrees_with_the_server_on_unread_and_mentions(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "alice.sqlite3")

    async def scenario() -> None:
        server = FakeServer("alice")
        for seq in range(4):
            server.add(DM, "bob", f"m{seq}", mentions=("alice",) if seq % 2 else ())
        async with connected(FakeClient(server, Store(path))) as client:
            client.socket.push(server.recall(DM, 2))
            client.socket.push(server.edit(DM, 3, {"text": "edited"}))
            await next_event(client, "edit")
            assert agrees(client, server)
        server.recall(DM, 4)  # while the app was closed: no frame tells this device
        server.add(DM, "bob", "m5", mentions=("alice",))
        restarted = FakeClient(server, Store(path))
        assert (restarted.unread(DM), restarted.mentions(DM)) == (3, 1)  # as it was left
        async with connected(restarted):
            assert agrees(restarted, server)
            assert (restarted.unread(DM), restarted.mentions(DM)) == (3, 1)  # 4 out, 5 in
            assert restarted.store.messages(DM)[3]["recalled"] is True
            assert restarted.store.messages(DM)[2]["body"] == {"text": "edited"}

    asyncio.run(scenario())
