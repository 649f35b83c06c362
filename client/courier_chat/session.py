"""One person's chat: the SDK client and store, the open conversation, what to show.

The screen only forwards keys and lines here and draws `snapshot()`; everything else,
commands, SDK events and the store's lifecycle, happens in this class.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prompt_toolkit.formatted_text import StyleAndTextTuples, fragment_list_to_text

from courier_chat import commands, view
from courier_chat.admin import AdminApi, AdminError
from courier_chat.channels import dm_peer, group_channel, title
from courier_chat.options import MEMORY, Options
from courier_chat.peers import Peers
from courier_client import CourierClient, Store
from courier_client.client import AuthError, Frame, RequestError

DEFAULT_WIDTH = 80
MAX_BODY_BYTES = 16_384  # docs/protocol.md, Limits: larger sends are refused


@dataclass(frozen=True)
class Snapshot:
    """What the screen shows, rebuilt after each change."""

    conversations: list[view.Conversation]  # in list order
    conversation_list: StyleAndTextTuples
    header: StyleAndTextTuples
    body: StyleAndTextTuples
    status: StyleAndTextTuples
    notice: StyleAndTextTuples
    prompt: str
    top: bool  # show the body from its first line (help), else its last (messages)

    @property
    def body_lines(self) -> int:
        return fragment_list_to_text(self.body).count("\n")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _body_size(body: Any) -> int:
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())


def _error_text(frame: Frame) -> str:
    text = f"{frame.get('code')}: {frame.get('message')}"
    if "clientMsgNo" not in frame:
        return f"server: {text}"
    if frame.get("code") in ("throttled", "internal"):
        return f"not sent yet ({text}); retrying"
    return f"message not sent: {text}"


class ChatSession:
    def __init__(self, options: Options, token: str, admin: AdminApi) -> None:
        self.options = options
        self.user = options.user
        self.token = token
        self.admin = admin
        self.on_change: Callable[[], None] = lambda: None
        self.on_quit: Callable[[], None] = lambda: None
        self.open_channel: str | None = None
        self.new_from: int | None = None  # the first seq unread when the channel was opened
        self.scroll = 0  # lines above the bottom of the messages
        self.width = DEFAULT_WIDTH  # columns for the messages, as the screen last said
        self.showing_help = False
        self.connection, self.online = "connecting…", False
        self.notice_text, self.notice_error = "", False
        self.activity: dict[str, int] = {}  # channel -> ms of its latest known activity
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._snapshot: Snapshot | None = None
        self.store, self.client = self._open_store()
        self.peers = Peers(self.client, self._changed)

    # lifecycle

    def start(self) -> None:
        self._spawn(self._begin())
        self._spawn(self._work())

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.client.close()
        self.store.close()

    def _open_store(self) -> tuple[Store, CourierClient]:
        if self.options.db != MEMORY:
            Path(self.options.db).parent.mkdir(parents=True, exist_ok=True)
        store = Store(self.options.db)
        return store, CourierClient(self.options.url, self.token, store)

    async def _begin(self) -> None:
        for channel in self.store.channels():
            messages = self.store.messages(channel)
            if messages:
                self.activity[channel] = int(messages[-1]["ts"])
        self._note_outbox()
        self._spawn(self._connect())
        self._spawn(self._pump())
        self._changed()

    async def _connect(self) -> None:
        with contextlib.suppress(AuthError):  # reported by the auth_failed event
            await self.client.connect()

    def _note_outbox(self) -> None:
        """List the conversations of messages still waiting to go out."""
        for entry in self.store.outbox():
            created = int(entry.created * 1000)
            self.activity[entry.channel] = max(self.activity.get(entry.channel, 0), created)

    def _on_server_reset(self, outbox: int) -> None:
        """The SDK found a server without the stored messages (the local stack restarted
        empty): it dropped them and kept what the person did. Messages typed and not yet
        acknowledged stay on screen as pending and go out to the new server."""
        self.activity = {self.open_channel: _now_ms()} if self.open_channel else {}
        self._note_outbox()
        self.new_from = None
        self.scroll = 0
        kept = (
            f"; {outbox} unsent message{'s' if outbox != 1 else ''} will go out" if outbox else ""
        )
        self._say(
            f"the server does not have the messages stored here (restarted?): cleared them{kept}"
        )

    # SDK events

    async def _pump(self) -> None:
        events = self.client.events
        while True:
            await self._on_event(await events.get())
            self._changed()

    async def _on_event(self, event: Frame) -> None:
        kind = event.get("type")
        if kind == "connected":
            self.connection, self.online = "connected", True
            self._spawn(self.peers.ask(self._dm_peers()))
        elif kind == "disconnected":
            self.connection, self.online = "reconnecting…", False
        elif kind == "server_reset":
            self._on_server_reset(int(event.get("outbox", 0)))
        elif kind == "auth_failed":
            self.connection, self.online = "token refused", False
            self._say(
                f"the server refused the token (HTTP {event.get('status')}): start again",
                error=True,
            )
        elif kind == "typing":
            self.peers.typing(str(event["channel"]), str(event["user"]))
        elif kind in ("message", "sendack"):
            channel = str(event["channel"])
            if kind == "message":
                self.peers.stopped(channel, str(event["from"]))
            self.activity[channel] = max(self.activity.get(channel, 0), int(event["ts"]))
            if channel == self.open_channel:
                await self._mark_read(channel)
        elif kind == "error":
            self._say(_error_text(event), error=True)
        elif kind == "gateway_error":
            self._say(f"gateway: {event.get('frame')}; unanswered frames go out again", error=True)

    # what the person does

    def submit(self, line: str) -> None:
        """A line typed at the prompt; lines run one after the other, in order."""
        self._lines.put_nowait(line)

    def select(self, step: int) -> None:
        """Open the conversation `step` rows below (above, if negative) the open one."""
        channels = [c.channel for c in self.snapshot().conversations]
        target = view.neighbour(channels, self.open_channel, step)
        if target is not None:
            self._open(target)

    def typed(self, text: str) -> None:
        """The input line changed: if it is a message being written, tell the open
        conversation (the SDK sends at most one `typing` frame per 3 s)."""
        channel = self.open_channel
        words = text.strip()
        if channel is not None and words and (words[0] != "/" or words.startswith("//")):
            self._spawn(self._typing(channel))

    async def _typing(self, channel: str) -> None:
        await self.client.typing(channel)

    def _dm_peers(self) -> list[str]:
        """The other users of the DMs listed."""
        channels = set(self.store.channels()) | set(self.activity)
        return [peer for c in channels if (peer := dm_peer(c, self.user)) is not None]

    def fit(self, width: int) -> None:
        """The messages pane is `width` columns wide: wrap text to that."""
        if width != self.width:
            self.width = width
            self._snapshot = None

    def scroll_to(self, lines: int) -> None:
        """Show the messages `lines` above the newest (0: follow new messages)."""
        self.scroll = lines
        self._changed()

    async def _work(self) -> None:
        while True:
            command = commands.parse(await self._lines.get(), self.user)
            if command is not None:
                await self._run(command)
                self._changed()

    async def _run(self, command: commands.Command) -> None:
        self.showing_help = False
        self._say("")
        match command:
            case commands.Say(text, mentions):
                await self._send(text, mentions)
            case commands.Recall() | commands.Edit() | commands.Mute():
                await self._change(command)
            case commands.Open(channel):
                await self._open_if_member(channel)
            case commands.CreateGroup(group, members):
                await self._create_group(group, list(members))
            case commands.MarkRead():
                if self.open_channel is None:
                    self._say("no conversation is open", error=True)
                else:
                    await self._mark_read(self.open_channel)
            case commands.ShowHelp():
                self.showing_help = True
            case commands.Quit():
                self.on_quit()
            case commands.Invalid(reason):
                self._say(reason, error=True)

    def _open(self, channel: str) -> None:
        """Show the channel and mark it read: the person is looking at it."""
        self.showing_help = False
        if channel != self.open_channel:
            unread = self.store.unread(channel)
            self.new_from = self.store.read_seq(channel) + 1 if unread else None
            self.open_channel = channel
            self.scroll = 0
        if channel not in self.activity and channel not in self.store.channels():
            self.activity[channel] = _now_ms()  # new here: list it, on top
        self._spawn(self._mark_read(channel))
        if (peer := dm_peer(channel, self.user)) is not None:
            self._spawn(self.peers.ask([peer]))
        self._changed()

    async def _open_if_member(self, channel: str) -> None:
        """/open and /dm. A DM is anyone's to start; a group only its members'. A group in
        the store (the conversation list the last sync brought) opens at once; another is
        looked for in a fresh list from the server, which names every group the person
        belongs to now: one they were added to since connecting opens, any other is
        refused here rather than by every send to it."""
        if dm_peer(channel, self.user) is not None or channel in self.store.channels():
            self._open(channel)
            return
        name = title(channel, self.user)
        try:
            listed = {c.get("channel") for c in await self.client.sync_conversations()}
        except RequestError as exc:
            self._say(f"could not open {name}: {exc.code}: {exc.frame.get('message')}", error=True)
            return
        except (ConnectionError, TimeoutError):
            self._say(
                f"could not open {name}: not connected to ask if you belong to it", error=True
            )
            return
        if channel not in listed:
            self._say(
                f"{name}: you are not a member of this group (or it does not exist)", error=True
            )
            return
        self._open(channel)

    async def _mark_read(self, channel: str) -> None:
        """Offline too: the SDK tells the server on the next connect."""
        if self.store.unread(channel) > 0:
            await self.client.read(channel)

    async def _request(self, what: str, request: Awaitable[Frame]) -> bool:
        """A request of the person's that needs the server now (recall, edit, mute);
        False, and the notice says why, if it did not go through."""
        try:
            await request
        except RequestError as exc:
            self._say(f"could not {what}: {exc.code}: {exc.frame.get('message')}", error=True)
        except (ConnectionError, TimeoutError):
            self._say(f"could not {what}: not connected; try again once connected", error=True)
        else:
            return True
        return False

    async def _change(self, command: commands.Recall | commands.Edit | commands.Mute) -> None:
        """Recall or edit the person's latest message in the open conversation, or mute it."""
        channel = self.open_channel
        if channel is None:
            self._say("no conversation is open", error=True)
            return
        match command:
            case commands.Mute(muted):
                what = "mute" if muted else "unmute"
                if await self._request(what, self.client.mute(channel, muted)):
                    self._say(f"{title(channel, self.user)}: {what}d")
            case commands.Recall():
                if (seq := self._latest_of_mine(channel, "recall")) is not None:
                    await self._request("recall", self.client.recall(channel, seq))
            case commands.Edit(text):
                seq = self._latest_of_mine(channel, "edit")
                if seq is not None and self._fits({"text": text}):
                    await self._request("edit", self.client.edit(channel, seq, {"text": text}))

    def _latest_of_mine(self, channel: str, what: str) -> int | None:
        """The seq of the person's newest message in the channel not recalled (a message
        still sending has no seq yet); None, and the notice says so, if there is none."""
        mine = [
            int(message["seq"])
            for message in self.store.messages(channel)
            if message["from"] == self.user and not message["recalled"]
        ]
        if not mine:
            self._say(f"nothing of yours to {what} here yet", error=True)
            return None
        return mine[-1]

    def _fits(self, body: Any) -> bool:
        if _body_size(body) <= MAX_BODY_BYTES:
            return True
        self._say(f"too long: a message holds at most {MAX_BODY_BYTES} bytes", error=True)
        return False

    async def _send(self, text: str, mentions: tuple[str, ...] = ()) -> None:
        channel = self.open_channel
        if channel is None:
            self._say("open a conversation first: Tab picks one, /dm USER starts one", error=True)
            return
        body = {"text": text}
        if not self._fits(body):
            return
        self.scroll = 0
        self.activity[channel] = max(self.activity.get(channel, 0), _now_ms())
        await self.client.send(channel, body, mentions=mentions)

    async def _create_group(self, group: str, members: list[str]) -> None:
        try:
            kept = await self.admin.put_group(group, members)
        except AdminError as exc:
            self._say(f"could not create #{group}: {exc}", error=True)
            return
        self._open(group_channel(group))
        self._say(f"#{group}: {', '.join(kept)}")

    # what the screen shows

    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = self._build()
        return self._snapshot

    def _build(self) -> Snapshot:
        store, channel = self.store, self.open_channel
        conversations = view.ordered(
            view.Conversation(
                c,
                store.unread(c),
                self.activity.get(c, 0),
                mentions=store.mentions(c, self.user),
                muted=store.muted(c),
                online=self.peers.online.get(dm_peer(c, self.user) or "", False),
            )
            for c in set(store.channels()) | set(self.activity)
        )
        muted = channel is not None and store.muted(channel)
        typing = self.peers.typing_in(channel) if channel is not None else []
        header: StyleAndTextTuples = view.header(channel, self.user, muted=muted, typing=typing)
        body: StyleAndTextTuples
        if self.showing_help:
            help_text = view.wrap_block(commands.HELP, self.width, commands.HELP_COLUMN)
            header, body = [("class:header", "Help")], [("class:help", help_text + "\n")]
        elif channel is None:
            body = view.welcome(self.user)
        else:
            pending = [entry for entry in store.outbox() if entry.channel == channel]
            body = view.message_list(
                store.messages(channel),
                pending,
                self.user,
                now=datetime.now().astimezone(),
                width=self.width,
                new_from=self.new_from,
                peer_read=store.peer_read_seq(channel),
            )
        return Snapshot(
            conversations=conversations,
            conversation_list=view.conversation_list(
                conversations, self.user, channel, view.LIST_WIDTH
            ),
            header=header,
            body=body,
            status=view.status_bar(
                user=self.user,
                device=self.options.device,
                server=urlsplit(self.options.url).netloc,
                connection=self.connection,
                online=self.online,
                total_unread=store.total_unread(),
            ),
            notice=view.notice(self.notice_text, error=self.notice_error),
            prompt=f"{title(channel, self.user)} > " if channel else "> ",
            top=self.showing_help,
        )

    def _say(self, text: str, *, error: bool = False) -> None:
        self.notice_text, self.notice_error = text, error

    def _changed(self) -> None:
        self._snapshot = None
        self.on_change()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._say(f"internal error: {task.exception()!r}", error=True)
            self._changed()
