"""The chat CLI's pure parts: channel names, command parsing, options, the view model; and
a session over a fake server that restarts empty."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prompt_toolkit.formatted_text import fragment_list_to_text

from courier_chat import commands, view
from courier_chat.admin import AdminApi
from courier_chat.channels import dm_channel, is_channel_of, title
from courier_chat.commands import CreateGroup, Invalid, MarkRead, Open, Quit, Say, ShowHelp
from courier_chat.options import MEMORY, default_store_path, parse_options
from courier_chat.session import ChatSession
from courier_client import CourierClient, Store
from courier_client.store import OutboxEntry
from tests.unit.fake_courier import DROP, FakeServer, token_for, until
from tests.unit.test_client_reset import Device, Restarted, comes_back_as

NOW = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def message(seq: int, sender: str, text: str, when: datetime = NOW) -> dict[str, object]:
    return {
        "seq": seq,
        "messageId": f"m{seq}",
        "from": sender,
        "body": {"text": text},
        "ts": ms(when),
    }


# channels


def test_a_dm_is_named_in_plain_string_order_and_titled_by_the_other_user() -> None:
    assert dm_channel("bob", "alice") == dm_channel("alice", "bob") == "dm:alice:bob"
    assert dm_channel("alice", "Bob") == "dm:Bob:alice"
    assert title("dm:alice:bob", "alice") == "bob"
    assert title("dm:alice:bob", "bob") == "alice"
    assert title("g:team", "alice") == "#team"


def test_only_well_formed_channels_of_the_user_are_theirs() -> None:
    assert is_channel_of("dm:alice:bob", "alice")
    assert is_channel_of("g:team", "alice")
    assert not is_channel_of("dm:bob:carol", "alice")
    assert not is_channel_of("dm:bob:alice", "alice")  # order
    assert not is_channel_of("g:my team", "alice")
    assert not is_channel_of("group:team", "alice")


# commands


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("hello there", Say("hello there")),
        ("  padded  ", Say("padded")),
        ("//shrug", Say("/shrug")),
        ("/dm bob", Open("dm:alice:bob")),
        ("/DM Bob", Open("dm:Bob:alice")),
        ("/open #team", Open("g:team")),
        ("/open g:team", Open("g:team")),
        ("/open bob", Open("dm:alice:bob")),
        ("/open dm:alice:bob", Open("dm:alice:bob")),
        ("/group team bob,carol", CreateGroup("team", ("alice", "bob", "carol"))),
        ("/group #team carol, bob alice", CreateGroup("team", ("alice", "bob", "carol"))),
        ("/group solo", CreateGroup("solo", ("alice",))),
        ("/read", MarkRead()),
        ("/help", ShowHelp()),
        ("/quit", Quit()),
        ("/exit", Quit()),
        ("/q", Quit()),
    ],
)
def test_a_line_means_a_command(line: str, command: commands.Command) -> None:
    assert commands.parse(line, "alice") == command


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/dm alice", "another user"),
        ("/dm al ice", "usage: /dm USER"),
        ("/dm", "usage: /dm USER"),
        ("/dm élodie", "no such user id"),
        ("/open dm:bob:carol", "not a conversation of yours"),
        ("/group", "usage: /group"),
        ("/group team bob,a:b", "bad id 'a:b'"),
        ("/frobnicate", "unknown command /frobnicate"),
        ("/", "a command follows the /"),
    ],
)
def test_a_bad_command_says_what_is_wrong(line: str, says: str) -> None:
    command = commands.parse(line, "alice")
    assert isinstance(command, Invalid)
    assert says in command.reason


def test_a_blank_line_is_no_command() -> None:
    assert commands.parse("   ", "alice") is None


# options


def test_options_default_to_the_local_stack_and_a_store_per_server_user_and_device(
    tmp_path: Path,
) -> None:
    env = {"COURIER_PORT": "3905", "XDG_STATE_HOME": str(tmp_path)}
    options = parse_options(["--user", "alice"], env)
    assert options.url == "http://127.0.0.1:3905"
    assert options.device == "cli"
    assert options.token is None
    assert Path(options.db) == tmp_path / "courier" / "127.0.0.1_3905" / "alice.cli.sqlite3"


def test_a_websocket_url_is_accepted_and_stores_are_keyed_by_its_address() -> None:
    options = parse_options(["--user", "bob", "--url", "wss://chat.example.com/", "--db", "x"], {})
    assert options.url == "https://chat.example.com"
    assert options.db == "x"
    path = default_store_path("https://chat.example.com", "bob", "phone", {})
    assert path.parts[-2:] == ("chat.example.com_443", "bob.phone.sqlite3")


def test_the_user_comes_from_the_token_and_must_agree_with_it() -> None:
    token = "e30.eyJzdWIiOiJjYXJvbCJ9.sig"  # {"sub": "carol"}
    assert parse_options(["--token", token, "--db", ":memory:"], {}).user == "carol"
    with pytest.raises(SystemExit):
        parse_options(["--token", token, "--user", "dave"], {})
    with pytest.raises(SystemExit):
        parse_options(["--token", "not-a-jwt"], {})


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--user", "al ice"],
        ["--user", "alice", "--device", "a:b"],
        ["--user", "a", "--url", "ftp://x"],
    ],
)
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_options(argv, {})


def test_without_a_user_the_cli_says_how_to_name_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        parse_options([], {"USER": "root"})

    assert refused.value.code == 2
    assert "--user is required (or --token); with make: make chat USER=alice" in (
        capsys.readouterr().err
    )


# view model


def test_conversations_are_ordered_by_latest_activity_then_channel() -> None:
    conversations = [
        view.Conversation("g:quiet", 0, 0),
        view.Conversation("dm:alice:bob", 2, 200),
        view.Conversation("g:busy", 1, 300),
        view.Conversation("dm:alice:carol", 0, 200),
        view.Conversation("g:also-quiet", 0, 0),
    ]
    assert [c.channel for c in view.ordered(conversations)] == [
        "g:busy",
        "dm:alice:bob",
        "dm:alice:carol",
        "g:also-quiet",
        "g:quiet",
    ]


def test_switching_conversations_wraps_around_and_starts_at_either_end() -> None:
    channels = ["a", "b", "c"]
    assert view.neighbour(channels, "a", 1) == "b"
    assert view.neighbour(channels, "c", 1) == "a"
    assert view.neighbour(channels, "a", -1) == "c"
    assert view.neighbour(channels, None, 1) == "a"
    assert view.neighbour(channels, None, -1) == "c"
    assert view.neighbour(channels, "gone", 1) == "a"
    assert view.neighbour([], None, 1) is None


def test_badges_show_the_unread_count_and_nothing_when_read() -> None:
    assert [view.badge(n) for n in (0, 1, 42, 99, 100, 5000)] == ["", "1", "42", "99", "99+", "99+"]


def test_the_conversation_list_shows_names_badges_and_the_selection() -> None:
    conversations = [
        view.Conversation("dm:alice:bob", 3, 2),
        view.Conversation("g:a-team-with-a-very-long-name", 0, 1),
    ]
    fragments = view.conversation_list(conversations, "alice", "g:a-team-with-a-very-long-name", 24)
    rows = fragment_list_to_text(fragments).splitlines()
    assert rows[0].split() == ["bob", "3"]
    assert rows[1].strip() == "#a-team-with-a-very-l…"
    assert all(len(row) == 24 for row in rows)
    pairs = [(fragment[0], fragment[1]) for fragment in fragments]
    bob_styles = {style for style, text in pairs if "bob" in text}
    assert bob_styles == {"class:conversation class:unread"}
    assert ("class:conversation class:unread class:badge", "3") in pairs
    assert any("class:selected" in style and "#a-team" in text for style, text in pairs)
    empty = fragment_list_to_text(view.conversation_list([], "alice", None, 24))
    assert "/dm USER" in empty


def test_a_body_shows_its_text_a_string_or_else_its_json() -> None:
    assert view.body_text({"text": "hi"}) == "hi"
    assert view.body_text("plain") == "plain"
    assert view.body_text({"image": "x.png"}) == '{"image":"x.png"}'
    assert view.body_text(None) == "null"
    assert view.body_text({"text": 5}) == '{"text":5}'


def test_times_show_the_date_unless_today() -> None:
    assert view.clock(ms(datetime(2026, 3, 5, 9, 7, tzinfo=UTC)), NOW) == "09:07"
    assert view.clock(ms(datetime(2026, 1, 2, 23, 59, tzinfo=UTC)), NOW) == "Jan 02 23:59"
    assert view.clock(ms(datetime(2025, 12, 31, 8, 0, tzinfo=UTC)), NOW) == "2025-12-31 08:00"


def test_messages_render_as_time_sender_text_with_a_rule_before_the_new_ones() -> None:
    messages = [
        message(1, "bob", "hi alice"),
        message(2, "alice", "hi bob"),
        message(3, "bob", "two\nlines"),
    ]
    pending = [OutboxEntry("c1", "dm:alice:bob", {"text": "on its way"}, NOW.timestamp())]
    fragments = view.message_list(messages, pending, "alice", now=NOW, width=80, new_from=3)
    assert fragment_list_to_text(fragments).splitlines() == [
        "14:30  bob: hi alice",
        "14:30  alice: hi bob",
        "──── new ────",
        "14:30  bob: two",
        "       lines",
        "14:30  alice: on its way  (sending…)",
    ]
    assert ("class:sender.me", "alice") in fragments
    assert ("class:sender", "bob") in fragments


def test_no_rule_when_nothing_was_unread_and_a_hint_when_there_is_nothing() -> None:
    text = fragment_list_to_text(
        view.message_list([message(1, "bob", "x")], [], "alice", now=NOW, width=80)
    )
    assert "new" not in text
    empty = fragment_list_to_text(view.message_list([], [], "alice", now=NOW, width=80))
    assert "No messages yet" in empty


def test_long_messages_wrap_between_words_under_their_text() -> None:
    text = "the quick brown fox jumps over the lazy dog and keeps running far away"
    fragments = view.message_list([message(1, "bob", text)], [], "alice", now=NOW, width=40)
    assert fragment_list_to_text(fragments).splitlines() == [
        "14:30  bob: the quick brown fox jumps",  # 37 columns: " over" would make 42
        "       over the lazy dog and keeps",
        "       running far away",
    ]


def test_wrapping_breaks_long_words_and_keeps_blank_lines() -> None:
    assert view.wrap("x" * 30, 25, first=3, indent=2) == "x" * 22 + "\n  " + "x" * 8
    assert view.wrap("one\n\ntwo", 40, first=5, indent=4) == "one\n    \n    two"
    assert view.wrap("short", 80, first=10, indent=4) == "short"


def test_help_wraps_descriptions_under_their_column() -> None:
    text = "Keys\n  Enter    send the line, or run the command"
    assert view.wrap_block(text, 30, 11).splitlines() == [
        "Keys",
        "  Enter    send the line, or",
        "           run the command",
    ]


def test_the_status_bar_shows_who_where_the_connection_and_total_unread() -> None:
    bar = view.status_bar(
        user="alice",
        device="cli",
        server="127.0.0.1:3001",
        connection="reconnecting…",
        online=False,
        total_unread=4,
    )
    text = fragment_list_to_text(bar)
    assert "alice@cli" in text and "127.0.0.1:3001" in text and "reconnecting…" in text
    assert "4 unread" in text
    assert any("status.offline" in fragment[0] for fragment in bar)
    assert "unread" not in fragment_list_to_text(
        view.status_bar(
            user="a", device="d", server="s", connection="connected", online=True, total_unread=0
        )
    )


# a session across a server reset


class FakeSession(ChatSession):
    """The chat session, its SDK client served by a FakeServer that can go down."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        options = parse_options(
            ["--user", "alice", "--url", "http://courier.test", "--db", MEMORY], {}
        )
        super().__init__(options, token_for("alice"), AdminApi(options.url))

    def _open_store(self) -> tuple[Store, CourierClient]:
        store = Store(self.options.db)
        return store, Device(self.server, store, backoff_max=0.05, resend_timeout=60)

    def shows(self, part: str) -> str:
        return fragment_list_to_text(getattr(self.snapshot(), part))


async def take_down(session: FakeSession) -> Device:
    """The server goes down (connections refused) and the session sees itself offline."""
    client = session.client
    assert isinstance(client, Device)
    client.down = True
    await client.socket.close()
    await until(lambda: not session.online)
    return client


def test_a_message_typed_while_the_server_was_down_stays_pending_across_its_reset() -> None:
    async def scenario() -> None:
        old = FakeServer("alice")
        old.add("dm:alice:bob", "bob", "hello alice")
        session = FakeSession(old)
        session.start()
        try:
            await until(lambda: session.online)
            session.submit("/dm bob")
            await until(lambda: "bob: hello alice" in session.shows("body"))
            client = await take_down(session)
            session.submit("are you there?")
            await until(lambda: "alice: are you there?  (sending…)" in session.shows("body"))

            new = Restarted("alice", faults={"send": [DROP]})  # first answer lost: pending
            comes_back_as(client, new)
            await until(lambda: "cleared" in session.shows("notice"))
            await until(lambda: session.online)
            assert "1 unsent message will go out" in session.shows("notice")
            body = session.shows("body")
            assert "hello alice" not in body  # the old server's messages are gone
            assert "alice: are you there?  (sending…)" in body  # what was typed is not
            assert session.shows("conversation_list").split() == ["bob"]

            await client.socket.close()  # the next connection resends it
            await until(lambda: "(sending…)" not in session.shows("body"))
            assert "alice: are you there?" in session.shows("body")
            sends = new.sent("send")
            assert len(sends) == 2 and sends[0] == sends[1]  # the same clientMsgNo
            assert [m["seq"] for m in session.store.messages("dm:alice:bob")] == [1]
        finally:
            await session.stop()

    asyncio.run(scenario())


# /open of a group: only one the person belongs to


@contextlib.asynccontextmanager
async def connected(server: FakeServer) -> AsyncIterator[FakeSession]:
    """alice's chat session, started and connected to `server`; stopped at the end."""
    session = FakeSession(server)
    session.start()
    try:
        await until(lambda: session.online)
        yield session
    finally:
        await session.stop()


def test_open_refuses_a_group_the_person_is_not_in_and_sends_nothing_to_it() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(server) as session:
            session.submit("/open #nope")
            await until(lambda: "#nope: you are not a member" in session.shows("notice"))
            session.submit("hello?")
            await until(lambda: "open a conversation first" in session.shows("notice"))

            assert session.open_channel is None
            assert server.sent("send") == []

    asyncio.run(scenario())


def test_open_finds_a_group_the_person_was_added_to_after_connecting() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(server) as session:
            assert "g:lunch" not in session.store.channels()  # not in the first sync
            server.messages["g:lunch"] = []  # then the admin API adds alice: listed, no message

            session.submit("/open #lunch")
            await until(lambda: session.open_channel == "g:lunch")

            assert not session.notice_error, session.shows("notice")

    asyncio.run(scenario())


def test_open_of_an_unknown_group_while_offline_says_it_cannot_check() -> None:
    async def scenario() -> None:
        async with connected(FakeServer("alice")) as session:
            await take_down(session)

            session.submit("/open #lunch")
            await until(lambda: "#lunch" in session.shows("notice"))

            assert "not connected" in session.shows("notice") and session.notice_error
            assert session.open_channel is None

    asyncio.run(scenario())
