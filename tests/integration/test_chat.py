"""The chat CLI against the local stack: the real screen, fed keys through a pipe.

Two people talk, badges follow the server's read cursors, groups are made through the
admin API, mistakes are explained, quitting is clean, and a store left by another
server is cleared of that server's messages but not of what the person typed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from prompt_toolkit.formatted_text import fragment_list_to_text
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from courier_chat.app import open_session
from courier_chat.options import parse_options
from courier_chat.screen import ChatScreen
from courier_chat.session import ChatSession
from courier_chat.view import ONLINE
from courier_client import CourierClient, Store

WAIT = 10.0  # a bound on each wait, so a broken test fails instead of hanging
TAB, CTRL_C, CTRL_D = "\t", "\x03", "\x04"


@dataclass
class Chat:
    """One running chat screen and the keyboard that types into it."""

    keys: PipeInput
    session: ChatSession
    task: asyncio.Task[None]

    def type(self, text: str) -> None:
        self.keys.send_text(text)

    def screen(self, part: str) -> str:
        snapshot = self.session.snapshot()
        return fragment_list_to_text(getattr(snapshot, part))

    def unread(self, channel: str) -> int:
        return self.session.store.unread(channel)

    def listed(self) -> list[str]:
        """The conversation list's words but the online dots (on a server with presence,
        whether a dot shows depends on when it was asked)."""
        return [word for word in self.screen("conversation_list").split() if word != ONLINE]


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


async def _bounded(what: str, poll: Awaitable[None]) -> None:
    try:
        await asyncio.wait_for(poll, WAIT)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def until(what: str, condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await _bounded(what, poll())


async def until_server_unread(url: str, user: str, channel: str, unread: int) -> None:
    """Wait until the server's own count (admin API) is `unread`: reads land asynchronously."""

    async def poll() -> None:
        while (await admin_unread(url, user)).get(channel) != unread:
            await asyncio.sleep(0.05)

    await _bounded(f"the server counts {unread} unread for {user}", poll())


@contextlib.asynccontextmanager
async def chat(url: str, *argv: str) -> AsyncIterator[Chat]:
    options = parse_options(["--url", url, "--db", ":memory:", *argv], {})
    with create_pipe_input() as keys:
        session = await open_session(options)
        screen = ChatScreen(session, input=keys, output=DummyOutput())
        running = Chat(keys, session, asyncio.create_task(screen.run()))
        try:
            yield running
        finally:
            screen.quit()
            await running.task


async def admin_unread(url: str, user: str) -> dict[str, int]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/admin/users/{user}/unread") as r:
        assert r.status == 200
        channels: dict[str, int] = (await r.json())["channels"]
        return channels


async def token(url: str, user: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/admin/tokens", json={"user": user, "device": "sdk"}) as reply,
    ):
        return str((await reply.json())["token"])


def test_two_people_talk_and_opening_a_conversation_clears_its_badge(stack_url: str) -> None:
    dm = "dm:chat-alice:chat-bob"

    async def scenario() -> None:
        async with (
            chat(stack_url, "--user", "chat-alice") as alice,
            chat(stack_url, "--user", "chat-bob") as bob,
        ):
            await until("both connected", lambda: alice.session.online and bob.session.online)
            alice.type("/dm chat-bob\r")
            alice.type("hello bob\r")
            await until(
                "alice sees her message", lambda: "chat-alice: hello bob" in alice.screen("body")
            )

            await until("bob gets a badge", lambda: bob.unread(dm) == 1)
            assert bob.listed() == ["chat-alice", "1"]
            assert "1 unread" in bob.screen("status")
            assert "Welcome" in bob.screen("body")  # nothing opened (and read) behind his back
            assert (await admin_unread(stack_url, "chat-bob"))[dm] == 1

            bob.type(TAB)
            await until("bob's badge clears", lambda: bob.unread(dm) == 0)
            assert bob.session.open_channel == dm
            assert bob.listed() == ["chat-alice"]
            assert "──── new ────" in bob.screen("body")
            assert "chat-alice: hello bob" in bob.screen("body")
            await until_server_unread(stack_url, "chat-bob", dm, 0)

            bob.type("hi alice\r")
            await until(
                "alice sees bob's reply", lambda: "chat-bob: hi alice" in alice.screen("body")
            )
            await until("and has read it, it is open", lambda: alice.unread(dm) == 0)
            assert alice.listed() == ["chat-bob"]
            assert "chat-bob: hi alice" in bob.screen("body")
            await until_server_unread(stack_url, "chat-alice", dm, 0)

            alice.type(CTRL_D)
            bob.type("/quit\r")
            await asyncio.wait_for(asyncio.gather(alice.task, bob.task), WAIT)

    run(scenario)


def test_a_group_is_made_through_the_admin_api_and_mistakes_are_explained(stack_url: str) -> None:
    async def scenario() -> None:
        with Store(":memory:") as carol_store:
            carol = CourierClient(stack_url, await token(stack_url, "chat-carol"), carol_store)
            await carol.connect()
            try:
                async with chat(stack_url, "--user", "chat-dan") as dan:
                    await until("connected", lambda: dan.session.online)
                    dan.type("/group chat-crew chat-carol\r")
                    dan.type("welcome aboard\r")
                    await until(
                        "carol gets it",
                        lambda: carol_store.messages("g:chat-crew") != [],
                    )
                    [first] = carol_store.messages("g:chat-crew")
                    assert first["body"] == {"text": "welcome aboard"}
                    assert dan.screen("header").startswith("#chat-crew")
                    assert dan.screen("conversation_list").split() == ["#chat-crew"]

                    dan.type("/dm chat dan\r")
                    await until("a usage hint", lambda: "usage: /dm USER" in dan.screen("notice"))
                    dan.type("/open dm:chat-x:chat-y\r")
                    await until("a refusal", lambda: "not a conversation" in dan.screen("notice"))
                    dan.type("/help\r")
                    await until("help", lambda: dan.screen("header") == "Help")
                    assert "/group NAME A,B" in dan.screen("body")
                    dan.type(TAB)
                    await until("help hides", lambda: dan.screen("header") != "Help")

                    await carol.send("g:chat-crew", {"text": "thanks"})
                    await until(
                        "dan sees carol", lambda: "chat-carol: thanks" in dan.screen("body")
                    )
                    dan.type(CTRL_C)
                    await asyncio.wait_for(dan.task, WAIT)
            finally:
                await carol.close()

    run(scenario)


def test_a_message_typed_offline_waits_in_the_outbox(stack_url: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}"

    async def scenario() -> None:
        jwt = await token(stack_url, "chat-erin")
        async with chat(nowhere, "--token", jwt) as erin:
            await until("retrying", lambda: "reconnecting" in erin.screen("status"))
            erin.type("/dm chat-fay\r")
            erin.type("are you there?\r")
            await until("pending", lambda: "are you there?  (sending…)" in erin.screen("body"))
            assert [e.body for e in erin.session.store.outbox()] == [{"text": "are you there?"}]

    run(scenario)


def test_a_store_left_by_another_server_is_cleared_but_its_outbox_sent_and_a_matching_one_kept(
    stack_url: str, tmp_path: Path
) -> None:
    dm, typed = "dm:chat-gus:chat-hal", "dm:chat-gus:chat-ivy"
    stale, kept = tmp_path / "stale.sqlite3", tmp_path / "kept.sqlite3"
    with Store(str(stale)) as store:
        old = {"seq": 1, "messageId": "from-an-older-server", "from": "chat-hal", "ts": 1}
        store.add_message(dm, {**old, "body": {"text": "a ghost"}})
        store.read_confirmed(dm, 1)
        store.outbox_add("gus-typed-offline", typed, {"text": "typed before the restart"})

    async def scenario() -> None:
        async with chat(stack_url, "--user", "chat-gus", "--db", str(stale)) as gus:
            await until("cleared", lambda: "cleared" in gus.screen("notice"))
            assert "1 unsent message will go out" in gus.screen("notice")
            await until("connected", lambda: gus.session.online)
            await until("sent", lambda: gus.session.store.outbox() == [])
            assert gus.session.store.messages(dm) == []
            assert [m["body"] for m in gus.session.store.messages(typed)] == [
                {"text": "typed before the restart"}
            ]
            assert gus.screen("conversation_list").split() == ["chat-ivy"]

        async with chat(stack_url, "--user", "chat-gus", "--db", str(kept)) as gus:
            await until("connected", lambda: gus.session.online)
            gus.type("/dm chat-hal\r")
            gus.type("still here\r")
            await until("sent", lambda: len(gus.session.store.messages(dm)) == 1)
        async with chat(stack_url, "--user", "chat-gus", "--db", str(kept)) as gus:
            await until("connected", lambda: gus.session.online)
            assert "cleared" not in gus.screen("notice")
            assert [m["body"] for m in gus.session.store.messages(dm)] == [{"text": "still here"}]
            assert gus.screen("conversation_list").split() == ["chat-hal", "chat-ivy"]

    run(scenario)
