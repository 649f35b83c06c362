"""The model test of tests/unit/test_model.py with PROTOCOL.md v1.1's conversation features.

`ConversationModel` is `CourierModel` (its rules, its model, its invariants, which already
hold unread to v1.1: the seqs in (readSeq, lastSeq] not recalled; mentions, the unread ones
that count for the user; totalUnread and badges without muted conversations) plus the rules
that recall, edit, mention and mute, and one that moves the server's clock on:

- send with mentions (members, the sender, a user who is no member, none);
- recall by a member: its sender within COURIER_RECALL_SECONDS, again once recalled, after
  the window, by another member, a seq above lastSeq, a channel not theirs;
- recall through the admin API: any message, any time, or a seq above lastSeq (404);
- edit by a member: its sender, another member, a recalled message, a seq above lastSeq, a
  body too large;
- mute and unmute, a channel of the user's or not;
- time passes (50 or 150 s at a time, also just before a recall: the window's edge,
  120 s, is never within 10 s of a message's age).

Each reply is the one the model expects, and so is every frame it posts: a `recall` frame
to every live connection of every member with that member's unread after the recall, an
`edit` frame with the new version, a `mute` frame to the user's other connections with
their totalUnread; a refusal changes nothing and posts nothing. In the group of three,
above the inline limit, recall and edit frames come from one fan-out plan job and its
chunks instead, each frame checked as it arrives; nothing else of these queues a job.
Edits never change unread (the invariants compare it after every step).

Budget and profiles as in test_model.py: MAX_EXAMPLES walks of up to STEPS steps, 20-40 s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule, run_state_machine_as_test

from tests.unit.test_model import (
    BODY,
    CHANNELS,
    DEVICES,
    FANOUT_INLINE_LIMIT,
    PICK,
    SEND,
    USERS,
    WALKS,
    WHERE,
    CourierModel,
    Frames,
    Link,
    Message,
    step,
)

RECALL_MS = 120_000  # COURIER_RECALL_SECONDS, its default
EDGE_MARGIN_MS = 10_000
MENTIONS = st.lists(st.sampled_from([*USERS, "nobody"]), unique=True, max_size=3)
WHICH = st.integers(min_value=0, max_value=255)  # one of every channel's messages
BEYOND = st.integers(min_value=0, max_value=3).map(lambda n: n == 0)  # above lastSeq
WAIT = st.sampled_from([0, 0, 0, 50, 150])  # seconds: the window's edge is never within 10 s
WHO = st.sampled_from(["sender", "sender", "member", "anyone"])  # recalls and edits
TOO_LARGE_BYTES = 16_400


def without_connections(state: dict[str, Any]) -> dict[str, Any]:
    """The state but what a post to a dead socket changes: its connection row (deleted)
    and its user's lastSeen (presence)."""
    skipped = {"ConnectionsTable", "PresenceTable"}
    return {table: rows for table, rows in state.items() if table not in skipped}


def refuse(*cases: tuple[str, str, bool]) -> tuple[str, str]:
    """The first case that holds, as (error code, or "" for none; what it is); else
    ("", "carried out")."""
    return next(((code, what) for code, what, holds in cases if holds), ("", "carried out"))


class ConversationModel(CourierModel):
    def messages(self) -> list[Message]:
        return [m for channel in CHANNELS for m in self.model.messages[channel]]

    def _actor(self, pick: int, message: Message, who: str) -> Link:
        """A live link of the message's sender, of another member of its channel, or of
        anyone: as `who` asks when there is one, else anyone's."""
        members = self.model.members(message.channel)
        wanted = {
            "sender": {message.sender},
            "member": members - {message.sender},
            "anyone": set(USERS),
        }[who]
        links = self.live_of(wanted) or self.live()
        return links[pick % len(links)]

    def _target(self, which: int, beyond: bool) -> tuple[Message, int]:
        """A message (any; one of the latest six, within the recall window as like as not;
        or one recalled, if any), and the seq to name: its own, or one above its channel's
        lastSeq."""
        messages = sorted(self.messages(), key=lambda m: m.ts)
        recalled = [m for m in messages if m.recalled]
        messages = [messages, messages[-6:], recalled or messages][which % 3]
        message = messages[which // 3 % len(messages)]
        return message, self.model.last_seq(message.channel) + 1 if beyond else message.seq

    def _told(
        self, users: set[str], frame_for: Callable[[str], dict[str, Any]], caller: Link | None
    ) -> Frames:
        """The frames every live connection of `users` (the caller's aside) should get."""
        return {
            link.conn.connection_id: [frame_for(link.conn.user)]
            for link in self.live_of(users)
            if link is not caller
        }

    def _brief_link(self, user: str) -> Link:
        link = Link(self._connect(user, DEVICES[0]))
        self.links.append(link)
        for owed in self.owed:  # as connect_device: online now, owed no push
            owed.offline.discard(user)
        return link

    def _expect_nothing_queued(self, queued: dict[str, set[int]], what: str) -> None:
        assert self._new_jobs(queued) == [], f"{what} queued a job"

    def _fanned_out(self, channel: str) -> bool:
        """A channel above the inline limit: its recall and edit frames go out through
        fan-out jobs (checked as they arrive: _check_revision)."""
        return len(self.model.members(channel)) > FANOUT_INLINE_LIMIT

    def _expect_told(
        self, channel: str, told: Frames, queued: dict[str, set[int]], what: str
    ) -> None:
        """Inline: exactly `told`, nothing queued. Fanned out: nothing yet, one plan job
        (none when the FIFO queue drops it as a duplicate)."""
        if not self._fanned_out(channel):
            assert self._new_frames() == told, f"{what}: every member's live connections"
            self._expect_nothing_queued(queued, what)
            return
        assert self._new_frames() == {}, f"{what}: posted inline in a fanned-out channel"
        jobs = self._new_jobs(queued)
        assert len(jobs) <= 1 and all("frame" in job for job in jobs), jobs

    # --- mentions ---------------------------------------------------------------------------

    @precondition(lambda self: self.live())
    @rule(send=SEND, mentions=MENTIONS)
    @step
    def send_with_mentions(self, send: tuple[int, int, Any, bool], mentions: list[str]) -> None:
        pick, where, body, borrow = send
        link = self.live()[pick % len(self.live())]
        channel = self._channel(link.conn.user, where)
        self._send_one(link, channel, body, borrow, mentions=tuple(mentions))

    # --- recall -----------------------------------------------------------------------------

    @precondition(lambda self: self.live())
    @rule(pick=PICK, which=WHICH, who=WHO, beyond=BEYOND, wait=WAIT)
    @step
    def recall(self, pick: int, which: int, who: str, beyond: bool, wait: int) -> None:
        """A recall, `wait` seconds on (past the window now and then)."""
        self.time_passes(wait)
        message, seq = self._target(which, beyond)
        link = self._actor(pick, message, who)
        user, channel = link.conn.user, message.channel
        elapsed = self.clock.now - message.ts
        assert abs(elapsed - RECALL_MS) > EDGE_MARGIN_MS, "the model's clock is at the edge"
        before, queued = self.courier.state(), self._queued()

        reply = self.courier.frame(link.conn, {"action": "recall", "channel": channel, "seq": seq})

        refusal, case = refuse(
            ("forbidden", "not theirs", not self.model.may_use(user, channel)),
            ("invalid", "above lastSeq", seq > self.model.last_seq(channel)),
            ("forbidden", "another's", message.sender != user),
            ("", "again", message.recalled),
            ("forbidden", "too late", elapsed > RECALL_MS),
        )
        event(f"recall: {case}")
        if not refusal:
            self._recalled(message, reply, link, before, queued)
            return
        self._expect_refusal(reply, refusal, before)
        assert self._new_frames() == {}, "a refused recall posted something"

    @precondition(lambda self: self.messages())
    @rule(which=WHICH, beyond=BEYOND)
    @step
    def admin_recall(self, which: int, beyond: bool) -> None:
        message, seq = self._target(which, beyond)
        before, queued = self.courier.state(), self._queued()

        status, reply = self.courier.admin_recall(message.channel, seq)

        event(f"admin recall: {'above lastSeq' if beyond else 'recalled'}")
        if beyond:
            assert status == 404 and reply["error"] == "not_found", (status, reply)
            assert self.courier.state() == before, "a refused admin recall changed state"
            assert self._new_frames() == {}, "a refused admin recall posted something"
            return
        assert (status, reply) == (200, {"channel": message.channel, "seq": seq, "recalled": True})
        self._recalled(message, None, None, before, queued)

    def _recalled(
        self,
        message: Message,
        reply: dict[str, Any] | None,
        caller: Link | None,
        before: dict[str, Any],
        queued: dict[str, set[int]],
    ) -> None:
        """A recall carried out (or repeated: then nothing changes): a `recall` frame, with
        their unread, to every live connection of every member, the caller's as its reply."""
        channel = message.channel
        if message.recalled:  # (a post to a dead socket deletes its row, records lastSeen)
            assert without_connections(self.courier.state()) == without_connections(before), (
                "a repeated recall changed state"
            )
        self.model.revise(Message(**{**vars(message), "recalled": True}))

        def frame_for(user: str) -> dict[str, Any]:
            return {
                "type": "recall",
                "channel": channel,
                "seq": message.seq,
                "messageId": message.message_id,
                "unread": len(self.model.unread_seqs(user, channel)),
            }

        if caller is not None:
            assert reply == frame_for(caller.conn.user), reply
        told = self._told(self.model.members(channel), frame_for, caller)
        self._expect_told(channel, told, queued, "guarantee 3: a recall")

    # --- edit -------------------------------------------------------------------------------

    @precondition(lambda self: self.live())
    @rule(
        pick=PICK,
        which=WHICH,
        who=WHO,
        beyond=BEYOND,
        body=BODY,
        too_large=st.integers(min_value=0, max_value=9).map(lambda n: n == 0),
    )
    @step
    def edit(
        self,
        *,
        pick: int,
        which: int,
        who: str,
        beyond: bool,
        body: Any,
        too_large: bool,
    ) -> None:
        """An edit; one in ten has a body over 16 KiB."""
        if too_large:
            body = {"text": "x" * TOO_LARGE_BYTES}
        message, seq = self._target(which, beyond)
        link = self._actor(pick, message, who)
        user, channel = link.conn.user, message.channel
        before, queued = self.courier.state(), self._queued()
        start = self.clock.now

        reply = self.courier.frame(
            link.conn, {"action": "edit", "channel": channel, "seq": seq, "body": body}
        )

        refusal, case = refuse(
            ("too_large", "too large", too_large),
            ("forbidden", "not theirs", not self.model.may_use(user, channel)),
            ("invalid", "above lastSeq", seq > self.model.last_seq(channel)),
            ("forbidden", "another's", message.sender != user),
            ("forbidden", "recalled", message.recalled),
        )
        event(f"edit: {case}")
        if not refusal:
            assert reply is not None and start < reply.get("editedAt", 0) <= self.clock.now, reply
            edited = Message(
                **{
                    **vars(message),
                    "body": body,
                    "version": message.version + 1,
                    "edited_at": reply["editedAt"],
                }
            )
            self.model.revise(edited)
            frame = {
                "type": "edit",
                "channel": channel,
                "seq": seq,
                "messageId": message.message_id,
                "body": body,
                "version": edited.version,
                "editedAt": edited.edited_at,
            }
            assert reply == frame, reply
            told = self._told(self.model.members(channel), lambda _: frame, link)
            self._expect_told(channel, told, queued, "an edit")
            return
        self._expect_refusal(reply, refusal, before)
        assert self._new_frames() == {}, "a refused edit posted something"

    # --- mute -------------------------------------------------------------------------------

    @rule(pick=PICK, where=WHERE, muted=st.booleans())
    @step
    def mute(self, pick: int, where: int, muted: bool) -> None:
        """Any user mutes or unmutes; one with no live connection opens one to do so and
        closes it (so that an offline user's pushes meet muted channels)."""
        user = USERS[pick % len(USERS)]
        links = self.live_of([user])
        link = links[pick % len(links)] if links else self._brief_link(user)
        self._mute(link, self._channel(user, where), muted)
        if not links:
            self.courier.disconnect(link.conn)
            link.status = "closed"

    def _mute(self, link: Link, channel: str, muted: bool) -> None:
        user = link.conn.user
        before, queued = self.courier.state(), self._queued()

        reply = self.courier.frame(
            link.conn, {"action": "mute", "channel": channel, "muted": muted}
        )

        event(f"mute: {muted if self.model.may_use(user, channel) else 'not theirs'}")
        if not self.model.may_use(user, channel):
            self._expect_refusal(reply, "forbidden", before)
            assert self._new_frames() == {}, "a refused mute posted something"
            return
        if muted:
            self.model.muted.add((user, channel))
            for owed in self.owed:
                if owed.message.channel == channel:
                    owed.muted.add(user)
        else:
            self.model.muted.discard((user, channel))
        frame = {
            "type": "mute",
            "channel": channel,
            "muted": muted,
            "totalUnread": self.model.total_unread(user),
        }
        assert reply == frame, reply
        assert self._new_frames() == self._told({user}, lambda _: frame, link), (
            "the user's other live connections, and nobody else, get the mute frame"
        )
        self._expect_nothing_queued(queued, "a mute")

    # --- time -------------------------------------------------------------------------------

    @rule(seconds=WAIT)
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds * 1000)


def test_unread_stays_exact_through_recalls_edits_mentions_and_mutes() -> None:
    run_state_machine_as_test(ConversationModel, settings=WALKS)
