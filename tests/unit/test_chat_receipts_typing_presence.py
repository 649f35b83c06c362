"""The chat CLI's v1.1 part 2: "seen" after the person's last DM message once the other
user has read it, "bob is typing…" for a few seconds after their typing frame, typing
frames sent (throttled) while the person writes, and an online dot for DMs, asked of the
server on connecting and on opening a DM."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from prompt_toolkit.formatted_text import fragment_list_to_text

from courier_chat import view
from courier_chat.peers import TYPING_SHOWN
from courier_client import CourierClient, Store
from tests.unit.fake_courier import THROTTLED, FakeServer, settled, until
from tests.unit.test_chat import FakeSession
from tests.unit.test_client_receipts_typing_presence import Clock
from tests.unit.test_client_reset import Device

NOW = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
DM = "dm:alice:bob"


def message(seq: int, sender: str) -> dict[str, Any]:
    when = int(NOW.timestamp() * 1000)
    return {
        "seq": seq,
        "messageId": f"m{seq}",
        "from": sender,
        "body": {"text": f"m{seq}"},
        "ts": when,
    }


def test_the_last_message_of_yours_says_seen_once_the_other_user_read_it() -> None:
    messages = [message(1, "alice"), message(2, "alice"), message(3, "bob")]

    def lines(peer_read: int) -> list[str]:
        shown = view.message_list(messages, [], "alice", now=NOW, width=80, peer_read=peer_read)
        return fragment_list_to_text(shown).splitlines()

    assert lines(3) == ["14:30  alice: m1", "14:30  alice: m2  ✓ seen", "14:30  bob: m3"]
    assert lines(2) == lines(3)
    assert "seen" not in "".join(lines(1))  # m1 is read, but m2 is the last of alice's
    assert "seen" not in "".join(lines(0))


def test_the_conversation_list_shows_a_dot_for_those_online() -> None:
    conversations = [
        view.Conversation(DM, 2, 2, online=True),
        view.Conversation("dm:alice:carol", 0, 1),
    ]
    fragments = view.conversation_list(conversations, "alice", None, 24)
    rows = fragment_list_to_text(fragments).splitlines()
    assert [row.split() for row in rows] == [["bob", "●", "2"], ["carol"]]
    assert all(len(row) == 24 for row in rows)
    assert any(style.endswith("class:online") and text == "●" for style, text, *_ in fragments)


def test_the_header_says_who_is_typing() -> None:
    assert fragment_list_to_text(view.header(DM, "alice", typing=["bob"])).endswith(
        "  bob is typing…"
    )
    group = fragment_list_to_text(view.header("g:team", "alice", typing=["bob", "carol"]))
    assert group.endswith("  bob, carol are typing…")
    assert "typing" not in fragment_list_to_text(view.header(DM, "alice"))


class ClockedSession(FakeSession):
    """A FakeSession whose SDK client and typing display read a clock the test moves."""

    def __init__(self, server: FakeServer, clock: Clock) -> None:
        self.clock = clock
        super().__init__(server)
        self.peers.clock = clock

    def _open_store(self) -> tuple[Store, CourierClient]:
        store = Store(self.options.db)
        return store, Device(self.server, store, backoff_max=0.05, clock=self.clock)


def test_a_session_shows_online_seen_and_typing() -> None:
    async def scenario() -> None:
        server, clock = FakeServer("alice"), Clock()
        server.add(DM, "bob", "hi")
        server.add("dm:alice:carol", "carol", "hey")
        server.presences = {"bob": {"online": True}, "carol": {"online": False}}
        session = ClockedSession(server, clock)
        session.start()
        try:
            await until(lambda: "●" in session.shows("conversation_list"))
            assert session.shows("conversation_list").split() == ["bob", "●", "1", "carol", "1"]
            assert [frame["users"] for frame in server.sent("presence")] == [["bob", "carol"]]
            session.submit("/dm bob")  # opening a DM asks again, for its user
            await until(lambda: len(server.sent("presence")) == 2)
            assert server.sent("presence")[1]["users"] == ["bob"]

            session.submit("hello bob")
            await until(lambda: len(session.store.messages(DM)) == 2)
            assert "seen" not in session.shows("body")
            session.client.socket.push(server.receipt(DM, 2))
            await until(lambda: "alice: hello bob  ✓ seen" in session.shows("body"))

            session.client.socket.push({"type": "typing", "channel": DM, "user": "bob"})
            await until(lambda: "bob is typing…" in session.shows("header"))
            clock.now += TYPING_SHOWN
            session.peers.on_change()  # the redraw the display's timer makes
            assert "typing" not in session.shows("header")
            session.client.socket.push({"type": "typing", "channel": DM, "user": "bob"})
            await until(lambda: "bob is typing…" in session.shows("header"))
            session.client.socket.push(server.add(DM, "bob", "done typing"))
            await until(lambda: "bob: done typing" in session.shows("body"))
            assert "typing" not in session.shows("header")
        finally:
            await session.stop()

    asyncio.run(scenario())


def test_writing_a_message_sends_typing_at_most_every_3_seconds_and_commands_none() -> None:
    async def scenario() -> None:
        server, clock = FakeServer("alice"), Clock()
        session = ClockedSession(server, clock)
        session.start()
        try:
            await until(lambda: session.online)
            session.typed("h")  # no conversation open: nothing to tell
            session.submit("/dm bob")
            await until(lambda: session.open_channel == DM)
            session.typed("h")
            session.typed("he")
            await until(lambda: len(server.sent("typing")) == 1)
            clock.now += 3
            for line in ("/recall", "  ", ""):
                session.typed(line)
            await settled(session.client)
            assert len(server.sent("typing")) == 1
            session.typed("//shrug")
            await until(lambda: len(server.sent("typing")) == 2)
            assert server.sent("typing")[1] == {"action": "typing", "channel": DM}
        finally:
            await session.stop()

    asyncio.run(scenario())


def test_a_server_without_presence_shows_no_dots_and_no_error() -> None:
    async def scenario() -> None:
        server = FakeServer("alice", faults={"presence": [THROTTLED, THROTTLED]})
        server.add(DM, "bob", "hi")
        server.presences = {"bob": {"online": True}}
        session = FakeSession(server)
        session.start()
        try:
            await until(lambda: len(server.sent("presence")) == 1)  # asked on connecting
            await session.peers.ask(["bob"])  # as on opening the DM: refused too
            assert "●" not in session.shows("conversation_list")
            assert session.shows("notice") == ""
        finally:
            await session.stop()

    asyncio.run(scenario())
