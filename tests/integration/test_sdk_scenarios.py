"""What an app built on the client SDK sees, over real WebSockets against the local stack:
conversations, retries that never change unread, a return after being offline, an app
restart, a lost read frame, a store left by a server that lost its state, and a function
failure whose outcome the client cannot know."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from courier_client import CourierClient, Store
from courier_client.client import Frame
from local.server import ServerThread
from tests.integration.sdk_events import next_event, online, until
from tests.integration.wire import put_group, run, server_unread, token

# Past the first retry: COURIER_RETRY_BASE_SECONDS (1 s) plus up to 1 s of the local SQS
# poller's long poll.
RETRY_WINDOW = 2.5


class Device(CourierClient):
    """The SDK as an app uses it, counting the raw `message` frames the server pushes and
    the messages the UI is told to show; when told to, it loses every ack it sends, and the
    first `drop_reads` read frames."""

    def __init__(
        self, *args: Any, drop_acks: bool = False, drop_reads: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.drop_acks = drop_acks
        self.drop_reads = drop_reads
        self.connections = 0
        self.pushed: collections.Counter[tuple[str, int]] = collections.Counter()
        self.shown_to_ui: list[tuple[str, int]] = []
        self.callbacks.append(self._note)

    def _note(self, event: Frame) -> None:
        if event["type"] == "message":
            self.shown_to_ui.append((event["channel"], event["seq"]))

    def _open(self) -> Any:
        self.connections += 1
        return super()._open()

    async def _send_frame(self, frame: Frame) -> None:
        if self.drop_acks and frame.get("action") == "ack":
            return
        if self.drop_reads and frame.get("action") == "read":
            self.drop_reads -= 1
            return
        await super()._send_frame(frame)

    async def handle_frame(self, frame: Frame) -> None:
        if frame.get("type") == "message":
            self.pushed[(frame["channel"], frame["seq"])] += 1
        await super().handle_frame(frame)

    def shown(self, channel: str) -> list[Any]:
        """The bodies of the channel's stored messages, in seq order."""
        return [m["body"] for m in self.store.messages(channel)]


async def device(
    session: aiohttp.ClientSession,
    url: str,
    user: str,
    name: str = "phone",
    store: str = ":memory:",
    **options: Any,
) -> Device:
    return Device(url, await token(session, url, user, name), Store(store), **options)


def test_dm_and_group_conversations_through_the_sdk(stack_url: str) -> None:
    dm, group = "dm:scn.alice:scn.bob", "g:scn.team"

    async def scenario(session: aiohttp.ClientSession) -> None:
        await put_group(session, stack_url, "scn.team", ["scn.alice", "scn.bob", "scn.carol"])
        alice = await device(session, stack_url, "scn.alice")
        bob = await device(session, stack_url, "scn.bob")
        carol = await device(session, stack_url, "scn.carol")
        async with online(alice, bob, carol):
            await alice.send(dm, {"text": "hi bob"})
            assert (await next_event(bob, "message"))["body"] == {"text": "hi bob"}
            await bob.send(dm, {"text": "hi alice"})
            assert (await next_event(alice, "message"))["from"] == "scn.bob"

            await alice.send(group, {"text": "hello team"})
            for member in (bob, carol):
                assert (await next_event(member, "message"))["seq"] == 1
            await carol.send(group, {"text": "hi all"})
            for member in (alice, bob):
                assert (await next_event(member, "message"))["from"] == "scn.carol"
            await next_event(carol, "sendack")

            assert alice.shown(dm) == bob.shown(dm) == [{"text": "hi bob"}, {"text": "hi alice"}]
            for member in (alice, bob, carol):
                assert member.shown(group) == [{"text": "hello team"}, {"text": "hi all"}]
            # A reply reads what it answers; a member has read what they sent.
            expected = {"scn.alice": (1, 1), "scn.bob": (0, 2), "scn.carol": (None, 0)}
            for member in (alice, bob, carol):
                on_server = await server_unread(session, stack_url, member.user)
                dm_unread, group_unread = expected[member.user]
                assert member.unread(group) == on_server[group] == group_unread
                if dm_unread is not None:
                    assert member.unread(dm) == on_server[dm] == dm_unread

    run(scenario)


def test_retries_to_a_device_that_loses_its_acks_never_make_a_read_channel_unread(
    stack_url: str,
) -> None:
    dm = "dm:scn.dave:scn.erin"

    async def scenario(session: aiohttp.ClientSession) -> None:
        dave = await device(session, stack_url, "scn.dave")
        phone = await device(session, stack_url, "scn.erin", drop_acks=True)
        tablet = await device(session, stack_url, "scn.erin", "tablet", drop_acks=True)
        async with online(dave, phone, tablet):
            for n in range(2):
                await dave.send(dm, {"text": f"m{n}"})
            # Both devices get the first copies, then at least one retry.
            await until(lambda: min(phone.pushed[(dm, 1)], tablet.pushed[(dm, 1)]) >= 2)
            await until(lambda: phone.unread(dm) == tablet.unread(dm) == 2)

            await phone.read(dm)
            assert (await next_event(phone, "read"))["readSeq"] == 2
            assert (await next_event(tablet, "read"))["unread"] == 0
            copies = {d: d.pushed.total() for d in (phone, tablet)}
            await until(lambda: all(d.pushed.total() > n for d, n in copies.items()), 10)

            for erin in (phone, tablet):  # more copies came; nothing is unread anywhere
                assert erin.unread(dm) == 0
                [conversation] = [c for c in await erin.sync_conversations() if c["channel"] == dm]
                assert conversation["unread"] == 0
                assert [m["seq"] for m in erin.store.messages(dm)] == [1, 2]
                assert sorted(erin.shown_to_ui) == [(dm, 1), (dm, 2)]  # each shown once
            assert (await server_unread(session, stack_url, "scn.erin"))[dm] == 0

    run(scenario)


def test_an_offline_user_gets_the_backlog_once_through_sync_and_none_pushed(
    stack_url: str, tmp_path: Path
) -> None:
    dm, frank_db = "dm:scn.frank:scn.gina", str(tmp_path / "frank.db")

    async def scenario(session: aiohttp.ClientSession) -> None:
        gina = await device(session, stack_url, "scn.gina")
        frank = await device(session, stack_url, "scn.frank", store=frank_db)
        async with online(gina, frank):
            await gina.send(dm, {"text": "before"})
            await next_event(frank, "message")
        # frank is offline (app closed) while gina writes
        gina = await device(session, stack_url, "scn.gina")
        frank = await device(session, stack_url, "scn.frank", store=frank_db)
        async with online(gina):
            for n in range(5):
                await gina.send(dm, {"text": f"while away {n}"})
                await next_event(gina, "sendack")
            async with online(frank):  # returns caught up
                assert [m["seq"] for m in frank.store.messages(dm)] == [1, 2, 3, 4, 5, 6]
                assert sorted(frank.shown_to_ui) == [(dm, seq) for seq in range(2, 7)]
                await gina.send(dm, {"text": "welcome back"})
                await until(lambda: (dm, 7) in frank.shown_to_ui)
                await asyncio.sleep(RETRY_WINDOW)  # room for any push of the backlog
                assert dict(frank.pushed) == {(dm, 7): 1}
                on_server = await server_unread(session, stack_url, "scn.frank")
                assert frank.unread(dm) == on_server[dm] == 7

    run(scenario)


def test_an_app_restart_keeps_the_outbox_and_the_read_state(stack_url: str, tmp_path: Path) -> None:
    dm, group, hugo_db = "dm:scn.hugo:scn.ines", "g:scn.pair", str(tmp_path / "hugo.db")

    async def scenario(session: aiohttp.ClientSession) -> None:
        await put_group(session, stack_url, "scn.pair", ["scn.hugo", "scn.ines"])
        ines = await device(session, stack_url, "scn.ines")
        hugo = await device(session, stack_url, "scn.hugo", store=hugo_db)
        async with online(ines, hugo):
            for n in range(2):
                await ines.send(dm, {"text": f"m{n}"})
            await until(lambda: hugo.unread(dm) == 2)

        offline = await device(session, stack_url, "scn.hugo", store=hugo_db)
        assert len(offline.store.messages(dm)) == 2 and offline.unread(dm) == 2
        await offline.read(dm)  # read on the plane: the server does not know yet
        queued = await offline.send(group, {"text": "written offline"})
        offline.store.close()  # the app is killed
        assert (await server_unread(session, stack_url, "scn.hugo"))[dm] == 2

        ines = await device(session, stack_url, "scn.ines")
        hugo = await device(session, stack_url, "scn.hugo", store=hugo_db)
        assert [e.client_msg_no for e in hugo.store.outbox()] == [queued]
        assert hugo.unread(dm) == 0 and hugo.store.read_seq(dm) == 2
        async with online(ines, hugo):  # hugo's app starts again
            ack = await next_event(hugo, "sendack")
            assert ack["clientMsgNo"] == queued and ack["seq"] == 1
            await until(lambda: ines.shown(group) == [{"text": "written offline"}])
            assert hugo.store.outbox() == []
            await asyncio.sleep(RETRY_WINDOW)
            assert dict(ines.pushed) == {(group, 1): 1}  # sent once, shown once
            assert (await server_unread(session, stack_url, "scn.hugo"))[dm] == 0
            assert hugo.unread(dm) == 0 and hugo.unread(group) == 0

    run(scenario)


def test_a_read_whose_frame_is_lost_is_sent_again_until_the_server_holds_it(
    stack_url: str,
) -> None:
    dm = "dm:scn.olga:scn.pia"

    async def scenario(session: aiohttp.ClientSession) -> None:
        olga = await device(session, stack_url, "scn.olga")
        pia = await device(session, stack_url, "scn.pia", drop_reads=2, resend_timeout=0.2)
        async with online(olga, pia):
            await olga.send(dm, {"text": "did you read this?"})
            await until(lambda: pia.unread(dm) == 1)
            await pia.read(dm)  # lost, and so is the first resend
            assert pia.store.wanted_read(dm) == 1
            read = await next_event(pia, "read")
            assert read["readSeq"] == 1 and pia.drop_reads == 0
            assert pia.store.wanted_reads() == {} and pia.connections == 1
            assert (await server_unread(session, stack_url, "scn.pia"))[dm] == 0

    run(scenario)


def test_a_store_left_by_a_server_that_lost_its_state_keeps_what_the_user_did(
    stack_url: str, tmp_path: Path
) -> None:
    dm, other, quinn_db = "dm:scn.quinn:scn.rob", "dm:scn.quinn:scn.sam", str(tmp_path / "q.db")
    with Store(quinn_db) as old:  # what quinn's app kept from a server since restarted empty
        for seq in (1, 2):
            message = {"seq": seq, "messageId": f"older-server-{seq}", "from": "scn.rob", "ts": seq}
            old.add_message(dm, {**message, "body": {"text": "gone with the old server"}})
        old.set_read_seq(dm, 2)
        old.want_read(dm, 2)  # read there, not yet told: means nothing to this server
        old.outbox_add("quinn-typed-1", other, {"text": "typed before the restart"})

    async def scenario(session: aiohttp.ClientSession) -> None:
        rob = await device(session, stack_url, "scn.rob")
        sam = await device(session, stack_url, "scn.sam")
        async with online(rob, sam):
            for n in (1, 2):  # this server's 1 and 2: quinn has not seen them
                await rob.send(dm, {"text": f"new {n}"})
                await next_event(rob, "sendack")
            quinn = await device(session, stack_url, "scn.quinn", store=quinn_db)
            async with online(quinn):
                assert (await next_event(quinn, "server_reset"))["outbox"] == 1
                ack = await next_event(quinn, "sendack")
                assert ack["clientMsgNo"] == "quinn-typed-1" and ack["seq"] == 1
                await until(lambda: sam.shown(other) == [{"text": "typed before the restart"}])
                assert quinn.store.outbox() == [] and quinn.store.wanted_reads() == {}
                assert quinn.shown(dm) == [{"text": "new 1"}, {"text": "new 2"}]
                on_server = await server_unread(session, stack_url, "scn.quinn")
                assert quinn.unread(dm) == on_server[dm] == 2  # the old read marked nothing

    run(scenario)


@pytest.fixture
def send_fails_after_storing(stack: ServerThread) -> Iterator[None]:
    """The first `send` is carried out, then its function "times out": API Gateway answers
    with its own error frame, and the client cannot know the message was stored."""
    gateway = stack.server.gateway
    assert gateway is not None
    invoke = gateway.invoke
    failures = [RuntimeError("function timed out (injected)")]

    async def flaky(function: str, event: dict[str, Any]) -> Any:
        result = await invoke(function, event)
        if function == "send" and failures:
            raise failures.pop()
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gateway, "invoke", flaky)
        yield


@pytest.mark.usefixtures("send_fails_after_storing")
def test_a_send_whose_outcome_is_unknown_is_resent_and_stored_once(stack_url: str) -> None:
    dm = "dm:scn.jon:scn.kim"

    async def scenario(session: aiohttp.ClientSession) -> None:
        jon = await device(session, stack_url, "scn.jon", resend_timeout=60)
        kim = await device(session, stack_url, "scn.kim")
        async with online(jon, kim):
            client_msg_no = await jon.send(dm, {"text": "did it go?"})
            failure = await next_event(jon, "gateway_error")
            assert failure["frame"]["message"] == "Internal server error"
            ack = await next_event(jon, "sendack")  # resent at once, not after 60 s
            assert ack["clientMsgNo"] == client_msg_no and ack["duplicate"] is True
            assert (await next_event(kim, "message"))["seq"] == 1
            await asyncio.sleep(RETRY_WINDOW)
            assert dict(kim.pushed) == {(dm, 1): 1} and jon.store.outbox() == []

    run(scenario)
