"""A stateful model test: DESIGN.md's guarantees as invariants of random walks.

A Hypothesis RuleBasedStateMachine drives the deployed handlers in-process (the `Courier`
harness of every unit test, over a fresh moto per walk) and keeps its own model of the
truth: per channel the messages by seq, per (sender, clientMsgNo) the message it names, per
(user, channel) the read cursor, per (user, device, channel) the ack cursor, which
connections are live, dropped (the socket died, no $disconnect yet) or closed, and which
devices each message may reach (those live when it was delivered, never the sending
connection).

Each walk starts with the group of three, alice and bob online (carol offline: she gets
notifications) and a little history. Rules: connect a device; lose a connection ($disconnect,
a dead socket, a dead socket's late $disconnect); send 1-3 messages (a new clientMsgNo, or one
another user already used); resend an old clientMsgNo, maybe naming another channel or body;
ack and read 1-3 seqs in a row (stale, repeated, current, beyond lastSeq), each followed by a
late frame for the seq before it, on a channel allowed or not; sync the
conversations (paged) or a channel's history (page after page); replace the group's members
(admin PUT); deliver the queued retry jobs, or run any queue's jobs (retry, fan-out, notify),
optionally delivering the batch a second time (SQS at-least-once); replay a job run long ago;
a send whose function dies right after its commit, and its resend from the outbox; quiesce.

Checked as it happens: every frame a connection receives (`_new_frames`: the stored message,
to a device it may reach, at most 1 + MAX_RETRIES copies per device, nothing to a dead or
closed socket); every notification (`_new_publications`: about the latest message, unread,
once, with the model's badge); every reply and the frames each rule expects (a refused frame
or a duplicate send changes no table, posts and queues nothing; a duplicate job or follow-up
posts nothing and may only resume its retry chain; a read reaches the user's other live
connections only when it moved: guarantee 7). After every step the invariants, one per
guarantee 1-6, compare the tables, the admin unread call and `sync` with the model. At
quiescence (the `quiesce` rule, and the end of every walk) every message committed since the
last one has reached each device live since its commit, or pushed each member offline since
(guarantee 8). The retry policy is tightened (MAX_RETRIES 3) and the fan-out threshold
lowered (the group of 3 fans out) so that walks of a few dozen steps reach the bounds and
both delivery paths.

The model holds unread as PROTOCOL.md v1.1 defines it (the seqs in (readSeq, lastSeq] not
recalled; unread mentions; totalUnread and badges without muted conversations) at every place
it is reported: read replies, conversation entries, totalUnread, the admin API, push badges.
This machine's walks use none of v1.1; tests/unit/test_model_v11.py adds the rules that
recall, edit, mention and mute. The server's clock is the model's (ModelClock), so that a
rule can move it past the recall window.

Budget: 20-30 s on one core (MAX_EXAMPLES walks of up to STEPS steps; Hypothesis enables a
random subset of the rules per walk, "swarm testing"). Under CI (the `CI` variable)
Hypothesis loads its built-in `ci` profile: derandomized (the same walks every run: a red
build is reproducible, never due to a newly drawn walk), no example database, a reproduction
blob on failure. Locally walks are random and a failing one is kept in .hypothesis/ and
replayed first. A failure is shrunk for up to 5 minutes (Hypothesis's limit) before it is
reported. COURIER_MODEL_EXAMPLES=200 runs a longer hunt.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from moto import mock_aws

from courier import actions, runtime
from courier.frames import loads
from courier.runtime import reset_services
from tests.harness import BASE_ENV, QUEUE_WORKERS, Conn, Courier, atomic_dynamodb, partitioned_moto

USERS = ("alice", "bob", "carol")
DEVICES = ("phone", "tablet")
GROUP = "g:team"
CHANNELS = ("dm:alice:bob", "dm:alice:carol", "dm:bob:carol", GROUP)
MAX_RETRIES = 3  # the bound is 4 copies; follow-ups that do not end the chain exist
FANOUT_INLINE_LIMIT = 2
MAX_EXAMPLES = int(os.environ.get("COURIER_MODEL_EXAMPLES", "8"))
STEPS = 50

PICK = st.integers(min_value=0, max_value=11)
# ack/read seqs: n >= 0 as is (2**63: far beyond); n < 0 relative, -1 is lastSeq, -2 the one before
SEQS = st.lists(st.integers(min_value=-3, max_value=8) | st.just(2**63), min_size=1, max_size=3)
JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.text(max_size=6)
)
BODY = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=4,
)
WHERE = st.integers(min_value=0, max_value=7)  # a channel: 3 in 4 times one the user may use
SEND = st.tuples(PICK, WHERE, BODY, st.booleans())

Status = Literal["live", "dropped", "closed"]
Frames = dict[str, list[dict[str, Any]]]


@dataclass
class Link:
    """A connection the model knows of; `seen` of its frames have been checked."""

    conn: Conn
    status: Status = "live"
    seen: int = 0

    @property
    def device(self) -> tuple[str, str]:
        return (self.conn.user, self.conn.device)


@dataclass(frozen=True)
class Message:
    """A message as the server should hold it now: recalled (body and mentions gone for
    good) or with the body of its latest edit."""

    channel: str
    seq: int
    message_id: str
    sender: str
    client_msg_no: str
    body: Any
    ts: int
    mentions: tuple[str, ...] = ()
    recalled: bool = False
    version: int = 0
    edited_at: int | None = None

    def content(self) -> dict[str, Any]:
        """What a recall erases and an edit revises."""
        if self.recalled:
            return {"recalled": True}
        edited = {"version": self.version, "editedAt": self.edited_at} if self.version else {}
        return (
            {"body": self.body}
            | ({"mentions": list(self.mentions)} if self.mentions else {})
            | edited
        )

    def summary(self) -> dict[str, Any]:
        """The message as a conversation's `lastMessage`."""
        return {
            "seq": self.seq,
            "messageId": self.message_id,
            "from": self.sender,
            "ts": self.ts,
            **self.content(),
        }

    def fields(self) -> dict[str, Any]:
        """The message in `message` frames and `sync`: its summary, channel and clientMsgNo."""
        return {"channel": self.channel, "clientMsgNo": self.client_msg_no, **self.summary()}


class SendDied(BaseException):
    """The send function's death right after its commit (a timeout, OOM): nothing in the
    handler catches it, so no post and no sendack (tests/unit/test_durable_delivery.py)."""


def _die(*_: Any, **__: Any) -> None:
    raise SendDied


@dataclass
class Owed:
    """What guarantee 8 owes a committed message, as it stands since its commit: a `message`
    frame on each link live then (the sending one aside) and a push to each member with no
    live link then (the sender aside). `members` are those continuously in the channel;
    a member who connects after the commit leaves `offline` (a live device, owed no push
    and no frame: nothing is pushed again on reconnect). A recall takes back all it owes,
    and a mute the push of a message that does not mention the user."""

    message: Message
    links: list[Link]
    offline: set[str]
    members: set[str]
    muted: set[str]  # members who muted the channel at some time since the commit


class ModelClock:
    """The server's clock (runtime.wall_clock_ms) and API Gateway's stamp on a $connect, in
    ms: one reading later than the last (a socket opened after a commit is stamped after
    it, which the real clock does not promise within a millisecond), moved on by rules."""

    def __init__(self) -> None:
        self.now = time.time_ns() // 1_000_000
        self.lock = threading.Lock()  # delivery reads it from threads

    def read(self) -> int:
        with self.lock:
            self.now += 1
            return self.now

    def advance(self, ms: int) -> None:
        with self.lock:
            self.now += ms


def _row_key(row: dict[str, Any]) -> tuple[str, str]:
    return row["deviceKey"]["S"], row["channel"]["S"]


def _without_resumed(state: dict[str, Any]) -> dict[str, Any]:
    """The state less the retry chains' `resumed` marks (see _expect_at_most_resumes)."""
    return state | {
        "RetriesTable": [
            {k: v for k, v in row.items() if k != "resumed"} for row in state["RetriesTable"]
        ]
    }


@dataclass
class Model:
    """What the server should hold."""

    messages: dict[str, list[Message]] = field(default_factory=lambda: {c: [] for c in CHANNELS})
    keys: dict[tuple[str, str], Message] = field(default_factory=dict)
    group: set[str] = field(default_factory=set)
    read: dict[tuple[str, str], int] = field(default_factory=dict)  # the rows that exist
    acks: dict[tuple[str, str, str], int] = field(default_factory=dict)
    reach: dict[tuple[str, int], set[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(set)
    )
    # (user, channel) -> the seqs whose mentions count for the user (a member, not the sender)
    mentioned: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    muted: set[tuple[str, str]] = field(default_factory=set)

    def last_seq(self, channel: str) -> int:
        return len(self.messages[channel])

    def may_use(self, user: str, channel: str) -> bool:
        if channel.startswith("dm:"):
            return user in channel.split(":")[1:]
        return user in self.group

    def members(self, channel: str) -> set[str]:
        return set(channel.split(":")[1:]) if channel.startswith("dm:") else set(self.group)

    def conversations(self, user: str) -> dict[str, tuple[int, int]]:
        """channel -> (lastSeq, readSeq) of every conversation `sync` lists: the user's DMs
        with a message and the group while they belong to it."""
        return {
            channel: (self.last_seq(channel), self.read.get((user, channel), 0))
            for channel in CHANNELS
            if self.may_use(user, channel) and (channel == GROUP or self.last_seq(channel))
        }

    def unread_seqs(self, user: str, channel: str) -> set[int]:
        """v1.1: the seqs in (readSeq, lastSeq] not recalled."""
        read = self.read.get((user, channel), 0)
        return {m.seq for m in self.messages[channel][read:] if not m.recalled}

    def unread(self, user: str) -> dict[str, int]:
        return {c: len(self.unread_seqs(user, c)) for c in self.conversations(user)}

    def mentions(self, user: str, channel: str) -> int:
        """The unread messages that mention the user (and count for them)."""
        return len(self.unread_seqs(user, channel) & self.mentioned[(user, channel)])

    def total_unread(self, user: str) -> int:
        """totalUnread and badges: muted conversations left out."""
        return sum(n for c, n in self.unread(user).items() if (user, c) not in self.muted)

    def latest_shown(self, channel: str) -> int:
        """The latest seq not recalled (0 if none): what a push coalesces to."""
        return max((m.seq for m in self.messages[channel] if not m.recalled), default=0)

    def revise(self, message: Message) -> None:
        """A recall or an edit: the message as the server should hold it from now on."""
        self.messages[message.channel][message.seq - 1] = message
        self.keys[(message.sender, message.client_msg_no)] = message


def receipt_frame(channel: str, user: str, read_seq: int) -> dict[str, Any] | None:
    """The `receipt` frame a move of the user's read cursor sends the peer: DMs only."""
    if not channel.startswith("dm:"):
        return None
    return {"type": "receipt", "channel": channel, "user": user, "readSeq": read_seq}


def num(item: dict[str, Any], name: str) -> int:
    return int(item[name]["N"])


def step(function: Callable[..., None]) -> Callable[..., None]:
    """A rule: the tables may change, so the invariants scan them afresh."""

    @functools.wraps(function)
    def run(self: CourierModel, **kwargs: Any) -> None:
        self.scans.clear()
        function(self, **kwargs)

    return run


class CourierModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.patch = pytest.MonkeyPatch()
        for name, value in BASE_ENV.items():
            self.patch.setenv(name, value)
        atomic_dynamodb(self.patch)  # delivery posts from threads to 3+ connections
        partitioned_moto(self.patch)
        self.aws = mock_aws()
        self.aws.start()
        reset_services()
        self.courier = Courier(self.patch)
        self.patch.setenv("COURIER_MAX_RETRIES", str(MAX_RETRIES))
        self.patch.setenv("COURIER_FANOUT_INLINE_LIMIT", str(FANOUT_INLINE_LIMIT))
        self.patch.setenv("COURIER_NOTIFY_COALESCE_SECONDS", "0")  # see the module docstring
        self.clock = ModelClock()
        self.patch.setattr(runtime, "wall_clock_ms", self.clock.read)
        self.model = Model()
        self.links: list[Link] = []
        self.copies: Counter[tuple[str, str, str, int]] = Counter()
        self.published = 0
        self.notified: set[tuple[str, str, int]] = set()
        self.fifo_seen: set[str] = set()
        self.history: list[tuple[str, dict[str, Any]]] = []  # jobs run once already
        self.cursor_floor: dict[tuple[str, ...], int] = {}  # the highest cursors seen
        self.scans: dict[str, list[dict[str, Any]]] = {}
        self.keys_used = 0
        self.checks = 0
        self.owed: list[Owed] = []  # committed since the last quiescence
        self.outbox: dict[tuple[str, str], dict[str, Any]] = {}  # sends that got no sendack

    def teardown(self) -> None:
        """Every walk ends at quiescence, checked (guarantee 8), unless a step failed."""
        try:
            if sys.exc_info()[0] is None:
                self.scans.clear()
                self._quiesce()
        finally:
            self.aws.stop()
            reset_services()
            self.patch.undo()

    # --- helpers ---------------------------------------------------------------------------

    def _connect(self, user: str, device: str) -> Conn:
        return self.courier.connect(user, device, at_ms=self.clock.read())

    def live(self) -> list[Link]:
        return [link for link in self.links if link.status == "live"]

    def live_of(self, users: Any) -> list[Link]:
        return [link for link in self.live() if link.conn.user in users]

    def table(self, name: str) -> list[dict[str, Any]]:
        if name not in self.scans:
            self.scans[name] = self.courier.items(name)
        return self.scans[name]

    def _new_frames(self, as_queued: dict[tuple[str, int], dict[str, Any]] | None = None) -> Frames:
        """Frames posted since the last look, by connection id. Every `message` frame is
        checked here, whatever posted it (send, fan-out, retry); `as_queued`: the messages
        of the fan-out chunks that just ran, as their jobs carry them."""
        new: Frames = {}
        for link in self.links:
            frames = self.courier.connections.frames[link.conn.connection_id][link.seen :]
            link.seen += len(frames)
            if not frames:
                continue
            assert link.status == "live", f"a {link.status} connection got {frames}"
            new[link.conn.connection_id] = frames
            for frame in frames:
                if frame.get("type") == "message":
                    self._check_copy(link, frame, as_queued or {})
                elif frame.get("type") in {"recall", "edit"}:
                    self._check_revision(link, frame)
        return new

    def _check_copy(
        self, link: Link, frame: dict[str, Any], as_queued: dict[tuple[str, int], dict[str, Any]]
    ) -> None:
        """A copy is the message as stored now (a retry sends the latest edit). A fan-out
        chunk may post the message as its job carries it (as sent: a client keeps the
        highest version it has seen), but never one recalled since: its body is gone."""
        channel, seq = frame["channel"], frame["seq"]
        assert 1 <= seq <= self.model.last_seq(channel), frame
        message = self.model.messages[channel][seq - 1]
        if frame != {"type": "message", **message.fields()}:
            assert frame == as_queued.get((channel, seq)), (frame, message)
            assert not message.recalled, (
                f"a recalled message's body was posted after its recall: {frame}"
            )
        assert link.device in self.model.reach[(channel, seq)], (
            "guarantee 5 (offline devices get none): a message reached a device that was not "
            f"live when it was delivered, or the sending connection: {link.device} got "
            f"{channel}#{seq}"
        )
        copy = (link.conn.user, link.conn.device, channel, seq)
        self.copies[copy] += 1
        assert self.copies[copy] <= 1 + MAX_RETRIES, (
            f"guarantee 5 (bounded retries): {copy} got {self.copies[copy]} copies"
        )

    def _check_revision(self, link: Link, frame: dict[str, Any]) -> None:
        """A recall or edit frame, wherever it comes from (the rule checks its inline
        ones exactly; a group above the inline limit gets them from fan-out chunks): about
        the message as it stands, a recall's unread the user's now, an edit's version one
        the message has had (its body the latest when it is the latest)."""
        channel, seq = frame["channel"], frame["seq"]
        message = self.model.messages[channel][seq - 1]
        assert frame["messageId"] == message.message_id, (frame, message)
        if frame["type"] == "recall":
            assert message.recalled, f"a recall frame for a message not recalled: {frame}"
            if self.model.may_use(link.conn.user, channel):
                unread = len(self.model.unread_seqs(link.conn.user, channel))
                assert frame["unread"] == unread, f"guarantee 3: {frame} to {link.device}"
            return
        assert 1 <= frame["version"] <= message.version, (frame, message)
        if frame["version"] == message.version and not message.recalled:
            assert (frame["body"], frame["editedAt"]) == (message.body, message.edited_at), frame

    def _new_publications(self) -> list[dict[str, Any]]:
        """Notifications published since the last look, each checked against the model."""
        new = self.courier.published[self.published :]
        self.published += len(new)
        for note in new:
            user, channel, seq = note["user"], note["channel"], note["seq"]
            assert self.model.may_use(user, channel), note
            message = self.model.messages[channel][seq - 1]
            assert not message.recalled, f"a recalled message was pushed: {note}"
            if (user, channel) in self.model.muted:
                assert seq in self.model.mentioned[(user, channel)], f"muted: {note}"
            else:
                assert seq == self.model.latest_shown(channel), f"not the latest: {note}"
            assert note["from"] == message.sender, note
            assert self.model.read.get((user, channel), 0) < seq, f"already read: {note}"
            assert note["badge"] == self.model.total_unread(user), f"badge: {note}"
            assert (user, channel, seq) not in self.notified, f"notified twice: {note}"
            self.notified.add((user, channel, seq))
        return new

    def _expect_refusal(
        self, reply: dict[str, Any] | None, code: str, before: Any, *, echo: str | None = None
    ) -> None:
        assert reply is not None and reply["type"] == "error" and reply["code"] == code, reply
        assert reply.get("clientMsgNo") == echo, reply
        assert self.courier.state() == before, "a refused frame changed state"

    def _queued(self) -> dict[str, set[int]]:
        """The jobs waiting now, to tell new ones apart later."""
        return {
            logical: {id(m) for m in self.courier._queue(logical)._messages}
            for logical in QUEUE_WORKERS
        }

    def _new_jobs(self, before: dict[str, set[int]]) -> list[dict[str, Any]]:
        """Jobs queued since `before`, less those SQS would drop as FIFO duplicates."""
        return [
            loads(m.body)
            for logical in QUEUE_WORKERS
            for m in self.courier._queue(logical)._messages
            if id(m) not in before[logical] and m.deduplication_id not in self.fifo_seen
        ]

    def _take(self, logical: str) -> list[dict[str, Any]]:
        """Every job waiting in a queue. The fan-out queue is FIFO: SQS drops a job whose
        deduplication id it saw in the last 5 minutes (moto only compares it with the jobs
        still queued, so the model remembers the ids itself)."""
        queue = self.courier._queue(logical)
        waiting = list(queue._messages)
        queue._messages.clear()
        bodies = []
        for message in waiting:
            if message.deduplication_id is not None:
                if message.deduplication_id in self.fifo_seen:
                    continue
                self.fifo_seen.add(message.deduplication_id)
            bodies.append(loads(message.body))
        return bodies

    # --- connections -------------------------------------------------------------------------

    @initialize()
    @step
    def create_group_and_connect(self) -> None:
        """The group of all three; alice and bob online, carol offline (notifications); some
        history, so that every walk, whichever rules it draws, has stale seqs to ack and read."""
        self.put_members(frozenset(USERS))
        for user in USERS[:2]:
            self.links.append(Link(self._connect(user, DEVICES[0])))
        alice, bob = self.links
        history = [(alice, "dm:alice:bob"), (bob, "dm:alice:bob"), (alice, "dm:alice:carol")]
        for link, channel in [*history, (alice, GROUP)]:
            self._send_one(link, channel, {"text": "hi"}, borrow=False)

    @precondition(lambda self: len(self.live()) < len(USERS) * len(DEVICES))
    @rule(pick=PICK)
    @step
    def connect_device(self, pick: int) -> None:
        busy = {link.device for link in self.live()}
        free = [(u, d) for u in USERS for d in DEVICES if (u, d) not in busy]
        user, device = free[pick % len(free)]
        self.links.append(Link(self._connect(user, device)))
        assert self._new_frames() == {}  # reconnecting pushes no backlog
        for owed in self.owed:  # online now: the message waits for its sync, no push
            owed.offline.discard(user)

    @precondition(lambda self: any(link.status != "closed" for link in self.links))
    @rule(pick=PICK, how=st.sampled_from(["disconnect", "drop"]))
    @step
    def lose_connection(self, pick: int, how: str) -> None:
        """A live socket closes ($disconnect) or dies without one (posts to it now answer
        410 Gone); or a dead socket's late $disconnect arrives."""
        links = [link for link in self.links if link.status != "closed"]
        link = links[pick % len(links)]
        if how == "drop" and link.status == "live":
            self.courier.drop(link.conn)
            link.status = "dropped"
        else:
            self.courier.disconnect(link.conn)
            link.status = "closed"
        assert self._new_frames() == {}

    # --- send --------------------------------------------------------------------------------

    def _fresh_key(self, user: str, pick: int, borrow: bool) -> str:
        mine = {k for (sender, k) in self.model.keys if sender == user}
        others = sorted({k for (sender, k) in self.model.keys if sender != user} - mine)
        if borrow and others:
            return others[pick % len(others)]  # another sender's key: a new message
        self.keys_used += 1
        return f"{user}-{self.keys_used}"

    def _channel(self, user: str, where: int) -> str:
        """Mostly a channel the user may use (so that walks get somewhere), else any."""
        allowed = [c for c in CHANNELS if self.model.may_use(user, c)]
        if where < 6 and allowed:
            return allowed[where % len(allowed)]
        return CHANNELS[where % len(CHANNELS)]

    @precondition(lambda self: self.live())
    @rule(sends=st.lists(SEND, min_size=1, max_size=3))
    @step
    def send(self, sends: list[tuple[int, int, Any, bool]]) -> None:
        for pick, where, body, borrow in sends:
            link = self.live()[pick % len(self.live())]
            self._send_one(link, self._channel(link.conn.user, where), body, borrow)

    @precondition(lambda self: self.live())
    @rule(send=SEND)
    @step
    def send_dies_after_commit(self, send: tuple[int, int, Any, bool]) -> None:
        """A send whose function dies right after its transaction commits: no post, no
        sendack. The message is stored all the same; the client keeps it in its outbox."""
        pick, where, body, borrow = send
        link = self.live()[pick % len(self.live())]
        self._send_one(link, self._channel(link.conn.user, where % 6), body, borrow, dies=True)

    def _send_one(
        self,
        link: Link,
        channel: str,
        body: Any,
        borrow: bool,
        *,
        dies: bool = False,
        mentions: tuple[str, ...] = (),
    ) -> None:
        user = link.conn.user
        key = self._fresh_key(user, len(self.model.keys), borrow)
        frame = {"action": "send", "channel": channel, "clientMsgNo": key, "body": body}
        if mentions:
            frame["mentions"] = list(mentions)
        before = None if self.model.may_use(user, channel) else self.courier.state()

        if dies:
            assert before is None, "only an allowed send gets as far as its commit"
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(actions, "post_new_message", _die)
                with pytest.raises(SendDied):
                    self.courier.frame(link.conn, frame)
            reply: dict[str, Any] | None = self._lost_sendack(user, key)
            self.outbox[(user, key)] = frame
        else:
            reply = self.courier.frame(link.conn, frame)

        if before is not None:
            self._expect_refusal(reply, "forbidden", before, echo=key)
            assert self._new_frames() == {}
            return
        seq = self.model.last_seq(channel) + 1
        assert reply is not None and reply["type"] == "sendack", reply
        assert (reply["clientMsgNo"], reply["channel"], reply["seq"], reply["duplicate"]) == (
            key,
            channel,
            seq,
            False,
        ), f"guarantee 2 (gap-free seq): {reply}"
        message = Message(channel, seq, reply["messageId"], user, key, body, reply["ts"], mentions)
        self.model.messages[channel].append(message)
        self.model.keys[(user, key)] = message
        self.model.read[(user, channel)] = seq  # own messages are never unread
        members = self.model.members(channel)
        for member in members:  # a DM's rows appear with its first message
            self.model.read.setdefault((member, channel), 0)
        for member in (members & set(mentions)) - {user}:  # a mention counts for members
            self.model.mentioned[(member, channel)].add(seq)
        others = [other for other in self.live_of(members) if other is not link]
        self.owed.append(
            Owed(
                message,
                others,
                offline={m for m in members if m != user and not self.live_of([m])},
                members=set(members),
                muted={m for m in members if (m, channel) in self.model.muted},
            )
        )
        receivers = []
        if len(members) <= FANOUT_INLINE_LIMIT:  # else the fan-out jobs deliver it
            receivers = others  # the fast path posts, the stream's retry probes re-post
            self.model.reach[(channel, seq)] |= {other.device for other in receivers}
        receipt = receipt_frame(channel, user, seq)  # sending read the DM up to it
        assert self._new_frames() == {
            other.conn.connection_id: [{"type": "message", **message.fields()}]
            + ([receipt] if receipt and other.conn.user != user else [])
            for other in ([] if dies else receivers)
        }, (
            "every live connection of every member but the sending one gets the message once "
            "(and in a DM, the peer's the sender's receipt)"
        )

    def _lost_sendack(self, user: str, key: str) -> dict[str, Any]:
        """The sendack a dead send never sent, from its dedup record: the model learns the
        message's id and ts there (its seq is checked against the model's next)."""
        record = next(
            item
            for item in self.courier.items("DedupTable")
            if item["dedupKey"]["S"] == f"{user}#{key}"
        )
        return {
            "type": "sendack",
            "clientMsgNo": key,
            "channel": record["channel"]["S"],
            "seq": num(record, "seq"),
            "messageId": record["messageId"]["S"],
            "ts": num(record, "ts"),
            "duplicate": False,
        }

    @precondition(lambda self: any(self.live_of([sender]) for sender, _ in self.model.keys))
    @rule(
        pick=PICK,
        pick_key=st.integers(min_value=0, max_value=63),
        channel=st.none() | st.sampled_from(CHANNELS),
        body=st.none() | BODY.map(lambda b: [b]),
    )
    @step
    def resend(self, pick: int, pick_key: int, channel: str | None, body: list[Any] | None) -> None:
        """A resend of a stored clientMsgNo (its sendack was lost), maybe naming another
        channel or body: the original message, duplicate: true, nothing written or sent."""
        keys = sorted(k for k in self.model.keys if self.live_of([k[0]]))
        user, key = keys[pick_key % len(keys)]
        original = self.model.keys[(user, key)]
        links = self.live_of([user])
        frame = {
            "action": "send",
            "channel": original.channel if channel is None else channel,
            "clientMsgNo": key,
            "body": original.body if body is None else body[0],
        }
        self._resend(links[pick % len(links)].conn, frame)

    @precondition(lambda self: any(self.live_of([sender]) for sender, _ in self.outbox))
    @rule(pick=PICK)
    @step
    def resend_from_outbox(self, pick: int) -> None:
        """The client SDK sends again, unchanged, a frame that got no sendack (its send
        function died after the commit): duplicate: true, and that resend delivers nothing:
        the stream has delivered, or will, without it."""
        keys = sorted(k for k in self.outbox if self.live_of([k[0]]))
        user, key = keys[pick % len(keys)]
        links = self.live_of([user])
        self._resend(links[pick % len(links)].conn, self.outbox.pop((user, key)))

    def _resend(self, conn: Conn, frame: dict[str, Any]) -> None:
        user, key, target = conn.user, frame["clientMsgNo"], frame["channel"]
        original = self.model.keys[(user, key)]
        before, queued = self.courier.state(), self._queued()

        reply = self.courier.frame(conn, frame)

        if target.startswith("dm:") and not self.model.may_use(user, target):
            self._expect_refusal(reply, "forbidden", before, echo=key)  # checked before dedup
        else:
            assert reply == {
                "type": "sendack",
                "clientMsgNo": key,
                "channel": original.channel,
                "seq": original.seq,
                "messageId": original.message_id,
                "ts": original.ts,
                "duplicate": True,
            }, f"guarantee 1 (one message per idempotency key): {reply}"
            assert self.courier.state() == before, "a duplicate send wrote something"
        assert self._new_frames() == {}, "a duplicate send delivered something"
        assert self._new_jobs(queued) == [], "a duplicate send queued a job"

    # --- cursors -----------------------------------------------------------------------------

    def _seq(self, channel: str, n: int) -> int:
        return n if n >= 0 else max(0, self.model.last_seq(channel) + 1 + n)

    def _late(self, channel: str, seq: int) -> int:
        return max(0, min(seq, self.model.last_seq(channel)) - 1)

    @precondition(lambda self: self.live())
    @rule(pick=PICK, where=WHERE, seqs=SEQS)
    @step
    def ack(self, pick: int, where: int, seqs: list[int]) -> None:
        """Acks in a row from one connection (stale, repeated, beyond lastSeq), each followed
        by a late one for the seq before it (overtaken on the way)."""
        conn = self.live()[pick % len(self.live())].conn
        channel = self._channel(conn.user, where)
        for seq in map(functools.partial(self._seq, channel), seqs):
            self._ack(conn, channel, seq)
            self._ack(conn, channel, self._late(channel, seq))

    def _ack(self, conn: Conn, channel: str, seq: int) -> None:
        allowed = self.model.may_use(conn.user, channel)
        before = None if allowed else self.courier.state()

        reply = self.courier.frame(conn, {"action": "ack", "channel": channel, "seq": seq})

        assert reply is None  # one-way route: no direct reply
        new = self._new_frames()
        if not allowed:  # the error is posted to the asking connection, to nobody else
            assert list(new) == [conn.connection_id] and len(new[conn.connection_id]) == 1, new
            self._expect_refusal(new[conn.connection_id][0], "forbidden", before)
            return
        assert new == {}
        target = min(seq, self.model.last_seq(channel))
        key = (conn.user, conn.device, channel)
        if target > self.model.acks.get(key, 0):
            self.model.acks[key] = target

    @precondition(lambda self: self.live())
    @rule(pick=PICK, where=WHERE, seqs=SEQS)
    @step
    def read(self, pick: int, where: int, seqs: list[int]) -> None:
        """Reads in a row from one connection (stale, repeated, beyond lastSeq), each followed
        by a late one for the seq before it (overtaken on the way)."""
        link = self.live()[pick % len(self.live())]
        channel = self._channel(link.conn.user, where)
        for seq in map(functools.partial(self._seq, channel), seqs):
            self._read(link, channel, seq)
            self._read(link, channel, self._late(channel, seq))

    def _read(self, link: Link, channel: str, seq: int) -> None:
        conn = link.conn
        allowed = self.model.may_use(conn.user, channel)
        before = None if allowed else self.courier.state()

        reply = self.courier.frame(conn, {"action": "read", "channel": channel, "seq": seq})

        if not allowed:
            self._expect_refusal(reply, "forbidden", before)
            assert self._new_frames() == {}
            return
        last = self.model.last_seq(channel)
        old = self.model.read.get((conn.user, channel), 0)
        current = max(old, min(seq, last))
        if current > old:
            self.model.read[(conn.user, channel)] = current
        expected = {
            "type": "read",
            "channel": channel,
            "readSeq": current,
            "unread": len(self.model.unread_seqs(conn.user, channel)),
        }
        assert reply == expected, (
            f"guarantees 3 and 4 (unread derived, cursors monotonic): {reply} != {expected}"
        )
        others: Frames = {}
        if current > old:
            others = {
                other.conn.connection_id: [expected]
                for other in self.live_of([conn.user])
                if other is not link
            }
            receipt = receipt_frame(channel, conn.user, current)
            peers = self.model.members(channel) - {conn.user} if receipt else set()
            others |= {other.conn.connection_id: [receipt] for other in self.live_of(peers)}
        assert self._new_frames() == others, (
            "guarantee 7 (read state follows the user): the user's other live connections, "
            "and nobody else, get the read frame, and only when the cursor moved; in a DM "
            "the peer's connections get the receipt"
        )

    # --- sync --------------------------------------------------------------------------------

    def _activity(self, user: str, channel: str) -> int:
        """What orders the conversation list: the last message's ts, else when the user
        joined the (silent) group."""
        messages = self.model.messages[channel]
        if messages:
            return messages[-1].ts
        rows = self.table("MembershipsTable")
        row = next(r for r in rows if (r["userId"]["S"], r["channel"]["S"]) == (user, channel))
        return num(row, "joinedAt")

    @precondition(lambda self: self.live())
    @rule(
        pick=PICK,
        where=st.none() | WHERE,
        after=st.none() | st.integers(min_value=0, max_value=8),
        limit=st.none() | st.integers(min_value=1, max_value=4),
    )
    @step
    def sync(self, pick: int, where: int | None, after: int | None, limit: int | None) -> None:
        """The conversation list (where None), paged, or a page of one channel's history."""
        conn = self.live()[pick % len(self.live())].conn
        if where is None:
            self._sync_conversations(conn, limit)
        else:
            self._sync_messages(conn, self._channel(conn.user, where), after, limit)
        assert self._new_frames() == {}

    def _sync_conversations(self, conn: Conn, limit: int | None) -> None:
        expected = self.model.conversations(conn.user)
        order = sorted(expected, key=lambda c: (-self._activity(conn.user, c), c))
        listed: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.courier.sync(conn, limit=limit, cursor=cursor)
            assert page["type"] == "conversations", page
            assert page["totalUnread"] == self.model.total_unread(conn.user), page
            assert page["conversations"] or not expected, "an empty page while some were left"
            listed += page["conversations"]
            cursor = page["next"]
            if cursor is None:
                break
        assert [c["channel"] for c in listed] == order, (listed, order)
        for entry in listed:
            channel = entry["channel"]
            last, read = expected[channel]
            messages = self.model.messages[channel]
            assert entry == {
                "channel": channel,
                "lastSeq": last,
                "readSeq": read,
                **self._peer_read(conn.user, channel, last),
                "unread": len(self.model.unread_seqs(conn.user, channel)),
                "mentions": self.model.mentions(conn.user, channel),
                "muted": (conn.user, channel) in self.model.muted,
                "lastMessage": messages[-1].summary() if messages else None,
            }, f"guarantee 3 (unread is derived): {entry}"

    def _peer_read(self, user: str, channel: str, last: int) -> dict[str, int]:
        """A DM entry's peerReadSeq: the other user's read cursor (receipts)."""
        if not channel.startswith("dm:"):
            return {}
        (peer,) = self.model.members(channel) - {user}
        return {"peerReadSeq": min(self.model.read.get((peer, channel), 0), last)}

    def _sync_messages(
        self, conn: Conn, channel: str, after: int | None, limit: int | None
    ) -> None:
        """Page through a channel's history from `after`, as a client filling a gap does."""
        allowed = self.model.may_use(conn.user, channel)
        before = None if allowed else self.courier.state()
        start, size = after or 0, 50 if limit is None else limit
        while True:
            page = self.courier.sync(conn, channel=channel, afterSeq=after, limit=limit)
            if not allowed:
                self._expect_refusal(page, "forbidden", before)
                return
            wanted = [m.fields() for m in self.model.messages[channel][start:]]
            assert page == {
                "type": "messages",
                "channel": channel,
                "messages": wanted[:size],
                "more": len(wanted) > size,
                "lastSeq": self.model.last_seq(channel),
                "readSeq": self.model.read.get((conn.user, channel), 0),
            }, f"guarantee 6 (nothing lost): sync after {start} returns every stored message"
            if not page["more"]:
                return
            start = after = page["messages"][-1]["seq"]

    # --- admin -------------------------------------------------------------------------------

    @rule(members=st.frozensets(st.sampled_from(USERS)))
    @step
    def set_members(self, members: frozenset[str]) -> None:
        self.put_members(members)

    def put_members(self, members: frozenset[str]) -> None:
        reply = self.courier.group(GROUP.removeprefix("g:"), list(members))
        assert reply == {"group": "team", "members": sorted(members)}
        last = self.model.last_seq(GROUP)
        for user in self.model.group - members:  # the row goes: cursor, mentions, mute
            del self.model.read[(user, GROUP)]
            self.model.mentioned.pop((user, GROUP), None)
            self.model.muted.discard((user, GROUP))
        for user in members - self.model.group:
            self.model.read[(user, GROUP)] = last  # history readable, none of it unread
        self.model.group = set(members)
        for owed in self.owed:
            if owed.message.channel == GROUP:
                owed.members &= members  # who left is owed nothing, even back
        assert self._new_frames() == {}  # nobody is told of a membership change

    # --- jobs --------------------------------------------------------------------------------

    def _run(self, logical: str, bodies: list[dict[str, Any]]) -> Frames:
        """Run one batch through its worker; what it posted (checked as it arrives)."""
        if not bodies:
            return {}
        chunks = []
        as_queued = {}
        for body in bodies:
            if logical == "FanoutQueue" and body.get("users") is not None and "message" in body:
                message, skip = body["message"], body["except"]
                as_queued[(message["channel"], message["seq"])] = {
                    "type": "message",
                    **message,
                    "body": loads(message["body"]),
                }
                targets = [
                    link for link in self.live_of(body["users"]) if link.conn.connection_id != skip
                ]
                self.model.reach[(message["channel"], message["seq"])] |= {
                    link.device for link in targets
                }
                chunks.append((message["channel"], message["seq"], targets))
        result = self.courier.run_worker(QUEUE_WORKERS[logical], bodies)
        assert result == {"batchItemFailures": []}, result
        new = self._new_frames(as_queued)
        self._new_publications()
        for channel, seq, targets in chunks:  # a chunk reaches every live connection it names
            if self.model.messages[channel][seq - 1].recalled:
                continue  # unless the message was recalled since: then none
            for link in targets:
                assert any(
                    f.get("type") == "message" and (f["channel"], f["seq"]) == (channel, seq)
                    for f in self.courier.posted(link.conn)
                ), (channel, seq, link)
        return new

    def waiting(self, logical: str) -> int:
        return len(self.courier._queue(logical)._messages)

    @precondition(lambda self: self.waiting("RetryQueue"))
    @rule(duplicate=st.booleans())
    @step
    def deliver_retry_jobs(self, duplicate: bool) -> None:
        """A round of retries: the queue whose worker has the most to get right."""
        self._run_queue("RetryQueue", duplicate)

    @precondition(lambda self: any(self.waiting(logical) for logical in QUEUE_WORKERS))
    @rule(pick=PICK, duplicate=st.booleans())
    @step
    def run_jobs(self, pick: int, duplicate: bool) -> None:
        """Run the jobs of one of the queues that have some."""
        busy = [logical for logical in sorted(QUEUE_WORKERS) if self.waiting(logical)]
        self._run_queue(busy[pick % len(busy)], duplicate)

    def _run_queue(self, logical: str, duplicate: bool) -> None:
        """Run every job now queued (delays are not waited for). With `duplicate`, SQS
        delivers the batch a second time: that must do nothing at all.

        The fan-out queue is FIFO: SQS delivers a job again only when its first run failed or
        timed out, so only plan jobs are duplicated here (a plan that failed after queuing its
        chunks runs again: each chunk is queued once). A chunk that failed after posting would
        post again; injecting that fault is beyond this model (see test_failures.py)."""
        bodies = self._take(logical)
        self._run(logical, bodies)
        self.history += [(logical, body) for body in bodies]
        if logical == "FanoutQueue":
            bodies = [body for body in bodies if body.get("users") is None]
        if not duplicate or not bodies:
            return
        state, queued = self.courier.state(), self._queued()

        result = self.courier.run_worker(QUEUE_WORKERS[logical], bodies)

        assert result == {"batchItemFailures": []}, result
        assert self._new_frames() == {}, "guarantee 5: a duplicated job posted again"
        assert self._new_publications() == [], "a duplicated job notified again"
        self._expect_at_most_resumes(state, queued, "a duplicated job")

    @precondition(lambda self: any(q != "FanoutQueue" for q, _ in self.history))
    @rule(pick=st.integers(min_value=0, max_value=255))
    @step
    def replay_old_job(self, pick: int) -> None:
        """SQS hands back a job it delivered long ago (the standard queues; the FIFO one
        does not). A retry follow-up replayed does nothing at all; any replay keeps the bounds
        and the notification rules (checked as frames and notifications arrive)."""
        old = [(q, body) for q, body in self.history if q != "FanoutQueue"]
        logical, body = old[pick % len(old)]
        follow_up = "chain" in body
        state, queued = (self.courier.state(), self._queued()) if follow_up else (None, None)

        new = self._run(logical, [body])

        if state is not None and queued is not None:
            assert new == {}, "a replayed follow-up posted something"
            self._expect_at_most_resumes(state, queued, "a replayed follow-up")

    def _expect_at_most_resumes(
        self, state: dict[str, Any], queued: dict[str, set[int]], what: str
    ) -> None:
        """A retry job run again may only *resume* its chain (courier/retry.py): SQS cannot
        tell a duplicate from the second delivery of a run that died after its claim. A
        resume marks the chain's attempt `resumed` (nothing else is written) and queues the
        follow-up of that attempt, once per attempt. It may also queue again the push of a
        user left with no connection (the notifier sends one per message at most). Anything
        else changes nothing."""
        after = self.courier.state()
        connected = {row["userId"]["S"] for row in after["ConnectionsTable"]}
        jobs = []
        for job in self._new_jobs(queued):
            if "device" in job:
                jobs.append(job)
            else:
                assert job["user"] not in connected, f"{what} queued {job}, a connected user"
        assert _without_resumed(after) == _without_resumed(state), f"{what} wrote something"
        before_rows = {_row_key(r): r for r in state["RetriesTable"]}
        resumed = {
            _row_key(row): row
            for row in after["RetriesTable"]
            if row.get("resumed") != before_rows[_row_key(row)].get("resumed")
        }
        assert len(jobs) == len(resumed), f"{what} queued {jobs} for {sorted(resumed)}"
        for job in jobs:
            row = resumed.pop((f"{job['user']}#{job['device']}", job["channel"]), None)
            assert row is not None, f"{what} queued {job}, resuming no chain"
            assert row["chainId"]["S"] == job["chain"], (row, job)
            assert num(row, "attempt") == num(row, "resumed") == job["attempt"] - 1, (row, job)

    # --- quiescence: guarantee 8 -------------------------------------------------------------

    @precondition(lambda self: self.owed)
    @rule()
    @step
    def quiesce(self) -> None:
        """Everything runs out: the stream, then every queue until all are empty (their
        DelaySeconds not waited for). Every walk also ends with this (teardown)."""
        self._quiesce()

    def _quiesce(self) -> None:
        self.courier.pump_stream()  # the harness has run it already: nothing is left
        for _ in range(4 * (MAX_RETRIES + 3)):  # a plan, its chunks, a probe, the retries
            busy = [logical for logical in sorted(QUEUE_WORKERS) if self.waiting(logical)]
            if not busy:
                break
            for logical in busy:
                self._run_queue(logical, duplicate=False)
        assert not any(self.waiting(logical) for logical in QUEUE_WORKERS), "jobs never end"
        self._check_delivered_or_notified()
        self.owed.clear()

    def _check_delivered_or_notified(self) -> None:
        """Guarantee 8 at quiescence, for each message committed since the last one. Owed a
        `message` frame: each link live from the commit until now (its socket neither
        closed nor dead; the sending link aside) of a member throughout, unless its device
        acked that far. Owed a push: each member throughout with no live link from the
        commit until now, unless they read that far; a push about a later message of the
        channel covers it (the notifier coalesces per user and channel)."""
        for owed in self.owed:
            m = self.model.messages[owed.message.channel][owed.message.seq - 1]
            if m.recalled:
                continue
            for link in owed.links:
                user, device = link.device
                if link.status != "live" or user not in owed.members:
                    continue
                if self.model.acks.get((user, device, m.channel), 0) >= m.seq:
                    continue
                assert any(
                    (f["channel"], f["seq"]) == (m.channel, m.seq)
                    for f in self.courier.posted(link.conn, "message")
                ), (
                    "guarantee 8 (delivery survives the sender's function): "
                    f"{link.conn.connection_id}, live since the commit of {m.channel}#{m.seq}, "
                    "never got it"
                )
            for user in sorted(owed.offline & owed.members):
                if self.model.read.get((user, m.channel), 0) >= m.seq:
                    continue
                if user in owed.muted and m.seq not in self.model.mentioned[(user, m.channel)]:
                    continue
                assert any(
                    (p["user"], p["channel"]) == (user, m.channel) and p["seq"] >= m.seq
                    for p in self.courier.published
                ), (
                    "guarantee 8 (delivery survives the sender's function): "
                    f"{user}, offline since the commit of {m.channel}#{m.seq}, got no push"
                )

    # --- invariants, one per guarantee of DESIGN.md ------------------------------------------

    @invariant()
    def guarantee_1_one_message_per_idempotency_key(self) -> None:
        records = {
            tuple(item["dedupKey"]["S"].split("#", 1)): item for item in self.table("DedupTable")
        }
        assert set(records) == set(self.model.keys)
        for key, message in self.model.keys.items():
            record = records[key]
            assert (
                record["channel"]["S"],
                num(record, "seq"),
                record["messageId"]["S"],
                num(record, "ts"),
            ) == (message.channel, message.seq, message.message_id, message.ts), key
        stored = [(i["from"]["S"], i["clientMsgNo"]["S"]) for i in self.table("MessagesTable")]
        assert len(stored) == len(set(stored)) == len(self.model.keys)

    @invariant()
    def guarantee_2_gap_free_ordered_seq_per_channel(self) -> None:
        seqs: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for item in self.table("MessagesTable"):
            seqs[item["channel"]["S"]].append((num(item, "seq"), num(item, "ts")))
        heads = {item["channel"]["S"]: item for item in self.table("ChannelsTable")}
        for channel in CHANNELS:
            stored = sorted(seqs[channel])
            last = self.model.last_seq(channel)
            assert [seq for seq, _ in stored] == list(range(1, last + 1)), (channel, stored)
            assert [ts for _, ts in stored] == sorted(ts for _, ts in stored), channel
            head = heads.get(channel, {})
            assert (num(head, "lastSeq") if "lastSeq" in head else 0) == last, channel

    @invariant()
    def guarantee_3_unread_is_derived_never_counted(self) -> None:
        """Through the admin call for every user, and through `sync` for one user per step
        (in turn; the sync rule checks the whole list, paged, at random steps)."""
        for user in USERS:
            expected = self.model.unread(user)
            mentions = {c: self.model.mentions(user, c) for c in expected}
            reply = self.courier.unread(user)
            assert reply == {
                "user": user,
                "totalUnread": self.model.total_unread(user),
                "channels": expected,
                "muted": reply["muted"],
                "mentions": {c: n for c, n in mentions.items() if n},
            }, f"admin unread of {user}"
            assert sorted(reply["muted"]) == sorted(
                c for c in expected if (user, c) in self.model.muted
            ), f"admin unread of {user}: muted"
        self.checks += 1
        links = self.live()
        if links:
            conn = links[self.checks % len(links)].conn
            page = self.courier.sync(conn)
            got = {c["channel"]: c for c in page["conversations"]}
            assert {c: entry["unread"] for c, entry in got.items()} == self.model.unread(conn.user)
            assert page["totalUnread"] == self.model.total_unread(conn.user), page

    @invariant()
    def guarantee_4_cursors_are_monotonic(self) -> None:
        reads = {  # a DM muted before its first message has a row with no cursor yet
            (item["userId"]["S"], item["channel"]["S"]): num(item, "readSeq")
            for item in self.table("MembershipsTable")
            if "readSeq" in item
        }
        assert reads == self.model.read, "read cursors"
        acks = {
            (*item["deviceKey"]["S"].split("#"), item["channel"]["S"]): num(item, "ackSeq")
            for item in self.table("AcksTable")
        }
        assert acks == self.model.acks, "ack cursors"
        cursors = {("read", *k): v for k, v in reads.items()}
        cursors |= {("ack", *k): v for k, v in acks.items()}
        for key, value in cursors.items():
            assert value >= self.cursor_floor.get(key, 0), f"{key} went back to {value}"
            self.cursor_floor[key] = value

    @invariant()
    def guarantee_5_bounded_retries(self) -> None:
        assert self._new_frames() == {}, "a frame arrived between steps"
        assert max(self.copies.values(), default=0) <= 1 + MAX_RETRIES

    @invariant()
    def guarantee_6_nothing_lost(self) -> None:
        """Every accepted message is stored as sent, and `sync` returns it."""
        stored = {(i["channel"]["S"], num(i, "seq")): i for i in self.table("MessagesTable")}
        for channel in CHANNELS:
            for message in self.model.messages[channel]:
                item = stored[(channel, message.seq)]
                assert (item["messageId"]["S"], item["from"]["S"], item["clientMsgNo"]["S"]) == (
                    message.message_id,
                    message.sender,
                    message.client_msg_no,
                ), (channel, message.seq)
                if message.recalled:  # erased for good
                    assert "body" not in item and "mentions" not in item, item
                else:
                    assert loads(item["body"]["S"]) == message.body, (channel, message.seq)
        links = self.live()
        if links:  # and through sync: the tail of one channel (in turn), in pages of 2
            conn = links[self.checks % len(links)].conn
            channel = self._channel(conn.user, self.checks)
            if self.model.may_use(conn.user, channel):
                self._sync_messages(conn, channel, max(0, self.model.last_seq(channel) - 3), 2)


WALKS = settings(
    max_examples=MAX_EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,  # a step is several handler calls over moto: 10-150 ms, unevenly
)


def test_the_guarantees_hold_after_every_step_of_random_walks() -> None:
    run_state_machine_as_test(CourierModel, settings=WALKS)
