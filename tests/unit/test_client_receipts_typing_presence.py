"""The SDK's v1.1 part 2 against the fake server: a DM peer's read cursor, from conversation
entries and `receipt` frames, only ever rises and is kept across restarts; `typing` goes
out at most once per channel per 3 s and other members' typing reaches the UI; `receipts`
and `presence` are requests whose replies are the caller's."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from courier_client import InvalidUserIds, Store
from courier_client.client import RequestError
from courier_client.store import MIGRATIONS, SCHEMA
from tests.unit.fake_courier import FakeClient, FakeServer, connected, settled, until

DM = "dm:alice:bob"


class Clock:
    """Seconds that move only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def peer_reads(events: list[dict[str, object]]) -> list[object]:
    return [event["peerReadSeq"] for event in events if event["type"] == "peer_read"]


def test_receipt_frames_raise_peer_read_seq_and_a_late_one_never_lowers_it() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        for n in range(3):
            server.add(DM, "alice", f"m{n}")  # sent from another device of alice's
        async with connected(FakeClient(server)) as client:
            await settled(client)
            assert client.peer_read_seq(DM) == 0
            late = server.receipt(DM, 1)
            for frame in (server.receipt(DM, 2), late, server.receipt(DM, 3), late):
                client.socket.push(frame)
            assert peer_reads(await settled(client)) == [2, 3]  # once per rise
            assert client.peer_read_seq(DM) == 3

    asyncio.run(scenario())


def test_conversation_entries_carry_peer_read_seq_and_an_older_one_lowers_nothing() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        for n in range(4):
            server.add(DM, "alice", f"m{n}")
        server.add("g:team", "carol", "groups have no peerReadSeq")
        server.peer_reads[DM] = 2
        async with connected(FakeClient(server)) as client:
            assert client.peer_read_seq(DM) == 2
            assert client.peer_read_seq("g:team") == 0
            client.socket.push(server.receipt(DM, 4))
            await until(lambda: client.peer_read_seq(DM) == 4)
            server.peer_reads[DM] = 3  # a page read before the receipt's move
            await client.sync_conversations()
            assert client.peer_read_seq(DM) == 4

    asyncio.run(scenario())


def test_a_receipt_above_the_messages_held_fetches_the_missing_ones() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server)) as client:
            server.add(DM, "bob", "its message frame is lost")  # sending moves bob's cursor
            client.socket.push(server.receipt(DM, 1))
            await until(lambda: len(client.store.messages(DM)) == 1)
            assert client.unread(DM) == 1 and client.peer_read_seq(DM) == 1

    asyncio.run(scenario())


def test_peer_read_seq_is_kept_across_a_restart_and_in_a_store_from_before_it(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "alice.sqlite3")
    old = sqlite3.connect(path)
    old.executescript(SCHEMA)
    old.executescript(MIGRATIONS[0])  # a store of v1.1 part 1
    old.execute("INSERT INTO cursors (channel, read_seq, last_seq) VALUES (?, 1, 5)", (DM,))
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    with Store(path) as store:
        assert store.peer_read_seq(DM) == 0 and store.unread(DM) == 4
        assert store.raise_peer_read_seq(DM, 3)
        assert not store.raise_peer_read_seq(DM, 2)
    with Store(path) as store:
        assert store.peer_read_seq(DM) == 3
        store.forget_server()  # another server's seqs: its cursors say nothing here
        assert store.peer_read_seq(DM) == 0


def test_typing_goes_out_at_most_once_per_channel_per_3_seconds() -> None:
    async def scenario() -> None:
        server, clock = FakeServer("alice"), Clock()
        client = FakeClient(server, clock=clock)
        assert await client.typing(DM) is False  # not connected: nothing kept for later
        async with connected(client):
            assert await client.typing(DM) is True
            assert await client.typing(DM) is False
            assert await client.typing("g:team") is True  # each channel its own
            clock.now += 2.9
            assert await client.typing(DM) is False
            clock.now += 0.1
            assert await client.typing(DM) is True
            typing = [frame for frame in server.received if frame["action"] == "typing"]
            assert typing == [
                {"action": "typing", "channel": DM},
                {"action": "typing", "channel": "g:team"},
                {"action": "typing", "channel": DM},
            ]

    asyncio.run(scenario())


def test_other_members_typing_reaches_the_ui_and_ones_own_does_not() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server)) as client:
            await settled(client)
            client.socket.push({"type": "typing", "channel": "g:team", "user": "bob"})
            client.socket.push({"type": "typing", "channel": "g:team", "user": "alice"})
            events = await settled(client)
            assert events == [{"type": "typing", "channel": "g:team", "user": "bob"}]

    asyncio.run(scenario())


def test_receipts_asks_for_one_message_and_returns_the_servers_count() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        server.add("g:team", "alice", "did you read this?")
        server.read_by[("g:team", 1)] = ["bob", "carol"]
        server.members["g:team"] = 9
        async with connected(FakeClient(server)) as client:
            reply = await client.receipts("g:team", 1)
            [asked] = server.sent("receipts")
            assert asked == {
                "action": "receipts",
                "channel": "g:team",
                "seq": 1,
                "requestId": asked["requestId"],
            }
            assert (reply["type"], reply["seq"], reply["count"]) == ("receipts", 1, 2)
            assert (reply["members"], reply["readBy"]) == (9, ["bob", "carol"])
            await settled(client)
            with pytest.raises(RequestError) as refused:
                await client.receipts("g:team", 2)
            assert refused.value.code == "invalid"
            assert await settled(client) == []  # the caller's error, not the UI's

    asyncio.run(scenario())


def test_presence_asks_for_the_users_and_returns_those_the_server_reports() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        server.presences = {
            "bob": {"online": True},
            "carol": {"online": False, "lastSeen": 1_764_158_400_000},
        }
        async with connected(FakeClient(server)) as client:
            users = await client.presence(["bob", "carol", "stranger"])
            assert users == server.presences  # the stranger is left out
            [asked] = server.sent("presence")
            assert asked["users"] == ["bob", "carol", "stranger"]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("users", "says"),
    [
        ([], "1 to 100 user ids, not 0"),
        ([f"user{n}" for n in range(101)], "1 to 100 user ids, not 101"),
        (["bob", "bob"], "more than once: bob"),
        (["bob", "a:b"], "not a user id"),
        ("bob", "not one string"),
    ],
)
def test_presence_the_server_would_refuse_raises_before_anything_is_sent(
    users: list[str], says: str
) -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server)) as client:
            with pytest.raises(InvalidUserIds, match=says):
                await client.presence(users)
            assert await client.presence([f"user{n}" for n in range(100)]) == {}
            assert [len(frame["users"]) for frame in server.sent("presence")] == [100]

    asyncio.run(scenario())


def test_receipts_and_presence_need_a_connection() -> None:
    async def scenario() -> None:
        client = FakeClient(FakeServer("alice"))
        with pytest.raises(ConnectionError):
            await client.receipts(DM, 1)
        with pytest.raises(ConnectionError):
            await client.presence(["bob"])

    asyncio.run(scenario())
