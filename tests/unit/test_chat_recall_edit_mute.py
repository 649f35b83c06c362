"""The chat CLI's v1.1 part: /recall, /edit, /mute and /unmute, @user mentions, and how
the screen shows them: "message recalled", "(edited)", a mention badge beside the unread
one, a muted marker, and a header total that leaves muted conversations out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from prompt_toolkit.formatted_text import fragment_list_to_text

from courier_chat import commands, view
from courier_chat.commands import Edit, Invalid, Mute, Recall, Say
from tests.unit.fake_courier import FakeServer, until
from tests.unit.test_chat import FakeSession

NOW = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
DM = "dm:alice:bob"


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("/recall", Recall()),
        ("/edit  hello again ", Edit("hello again")),
        ("/mute", Mute(True)),
        ("/unmute", Mute(False)),
        ("hi @bob and @carol.", Say("hi @bob and @carol.", ("bob", "carol"))),
        ("@bob, @bob!", Say("@bob, @bob!", ("bob",))),
        ("write to a@b.com", Say("write to a@b.com")),
        ("(@dave) @", Say("(@dave) @", ("dave",))),
    ],
)
def test_a_line_means_a_v1_1_command_and_at_user_is_a_mention(
    line: str, command: commands.Command
) -> None:
    assert commands.parse(line, "alice") == command


def test_a_bad_edit_or_too_many_mentions_say_what_is_wrong() -> None:
    assert commands.parse("/edit", "alice") == Invalid("usage: /edit TEXT")
    crowd = commands.parse(" ".join(f"@u{n}" for n in range(51)), "alice")
    assert isinstance(crowd, Invalid) and "at most 50" in crowd.reason


def message(seq: int, text: str, **fields: Any) -> dict[str, Any]:
    when = int(NOW.timestamp() * 1000)
    shown = {"seq": seq, "messageId": f"m{seq}", "from": "bob", "body": {"text": text}}
    return shown | {"ts": when, **fields}


def test_a_recalled_message_says_so_and_an_edited_one_says_edited() -> None:
    messages = [
        message(1, "first"),
        message(2, "", body=None, recalled=True),
        message(3, "fixed", version=2),
    ]
    fragments = view.message_list(messages, [], "alice", now=NOW, width=80)
    assert fragment_list_to_text(fragments).splitlines() == [
        "14:30  bob: first",
        "14:30  bob: message recalled",
        "14:30  bob: fixed  (edited)",
    ]
    assert ("class:recalled", "message recalled") in fragments


def test_the_conversation_list_shows_a_mention_badge_and_a_muted_marker() -> None:
    conversations = [
        view.Conversation(DM, 3, 2, mentions=1),
        view.Conversation("g:team", 5, 1, mentions=2, muted=True),
        view.Conversation("g:quiet", 0, 0, muted=True),
    ]
    fragments = view.conversation_list(conversations, "alice", None, 24)
    rows = fragment_list_to_text(fragments).splitlines()
    assert [row.split() for row in rows] == [
        ["bob", "3", "@1"],
        ["#team", "⊘", "5", "@2"],
        ["#quiet", "⊘"],
    ]
    assert all(len(row) == 24 for row in rows)
    styles = {text: style for style, text, *_ in fragments}
    assert styles["3"].endswith("class:badge") and styles["5"].endswith("class:badge.muted")
    assert styles["@1"].endswith("class:badge.mention")
    assert "muted" in fragment_list_to_text(view.header("g:team", "alice", muted=True))
    assert "muted" not in fragment_list_to_text(view.header("g:team", "alice"))


def test_a_session_mentions_edits_recalls_and_mutes_and_the_total_leaves_muted_out() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        server.add(DM, "bob", "hi @alice", mentions=("alice",))
        server.add("g:team", "carol", "one")
        server.add("g:team", "carol", "two @alice", mentions=("alice",))
        session = FakeSession(server)
        session.start()
        try:
            await until(lambda: session.online)
            listed = session.shows("conversation_list").split()
            assert listed == ["#team", "2", "@1", "bob", "1", "@1"]
            assert "3 unread" in session.shows("status")

            session.submit("/open #team")
            session.submit("/mute")
            await until(lambda: "#team: muted" in session.shows("notice"))
            assert server.muted == {"g:team"}
            assert "⊘" in session.shows("conversation_list") and "muted" in session.shows("header")

            session.submit("/dm bob")
            await until(lambda: session.store.unread(DM) == 0)
            session.client.socket.push(server.add("g:team", "carol", "three"))
            await until(lambda: session.store.unread("g:team") == 1)
            assert session.shows("conversation_list").split()[:3] == ["#team", "⊘", "1"]
            assert "unread" not in session.shows("status")  # muted: left out of the total
            session.submit("/recall")
            await until(lambda: "nothing of yours to recall" in session.shows("notice"))

            session.submit("see you @bob")
            await until(lambda: "alice: see you @bob" in session.shows("body"))
            await until(lambda: "(sending…)" not in session.shows("body"))
            assert server.sent("send")[0]["mentions"] == ["bob"]
            session.submit("/edit see you soon @bob")
            await until(lambda: "alice: see you soon @bob  (edited)" in session.shows("body"))
            session.submit("/recall")
            await until(lambda: "alice: message recalled" in session.shows("body"))
            assert server.messages[DM][1]["recalled"] is True
            session.submit("/edit too late")
            await until(lambda: "nothing of yours to edit" in session.shows("notice"))
        finally:
            await session.stop()

    asyncio.run(scenario())


def test_a_refused_or_offline_request_says_why() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        server.add(DM, "bob", "hello")
        session = FakeSession(server)
        session.start()
        try:
            await until(lambda: session.online)
            session.submit("/dm bob")
            server.now += 10**9  # long after: the recall window is closed
            session.client.socket.push(server.add(DM, "alice", "old"))  # from another device
            await until(lambda: "alice: old" in session.shows("body"))
            session.submit("/recall")
            await until(lambda: "could not recall: forbidden" in session.shows("notice"))
            await session.client.socket.close()
            await session.client.close()
            session.submit("/mute")
            await until(lambda: "could not mute: not connected" in session.shows("notice"))
        finally:
            await session.stop()

    asyncio.run(scenario())
