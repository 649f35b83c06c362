"""Whatever order the frames of a history arrive in, and however often each arrives, the
SDK ends with the unread and mention counts the v1.1 formula gives for that history, and
each message as it ends up on the server (a recall final, else the latest edit).

A history is a random run of sends (from another member or from this user's other device,
with or without mentions of this user), recalls, edits and reads in a DM and a group, plus
at most one mute of the group; the server (the fake) turns each into the frame this device
gets. The frames are then shuffled, some sent twice, and handed to the SDK with no
connection: nothing but frames can tell it anything. The model counts straight from the
history: unread = messages after the read cursor that are not recalled, mentions = those
naming this user, total = the unread of every conversation not muted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.unit.fake_courier import FakeClient, FakeServer

DM, GROUP = "dm:alice:bob", "g:team"
ME = "alice"


@dataclass
class Model:
    """A channel's history as the formula reads it."""

    mentions: list[bool] = field(default_factory=list)  # per seq - 1: names this user
    recalled: set[int] = field(default_factory=set)
    bodies: dict[int, Any] = field(default_factory=dict)
    read_seq: int = 0

    def after_read(self) -> list[int]:
        seqs = range(self.read_seq + 1, len(self.mentions) + 1)
        return [seq for seq in seqs if seq not in self.recalled]

    def unread(self) -> int:
        return len(self.after_read())

    def mentioned(self) -> int:
        return sum(1 for seq in self.after_read() if self.mentions[seq - 1])


CHANNELS = st.sampled_from([DM, GROUP])
SEQS = st.integers(1, 3)  # few: recalls and edits often hit the same message
STEPS = st.one_of(
    st.tuples(st.just("send"), CHANNELS, st.sampled_from(["bob", ME]), st.booleans()),
    st.tuples(st.just("recall"), CHANNELS, SEQS),
    st.tuples(st.just("edit"), CHANNELS, SEQS),
    st.tuples(st.just("read"), CHANNELS, st.integers(0, 4)),
)


def play(
    steps: list[tuple[Any, ...]], mute: bool | None
) -> tuple[list[dict[str, Any]], dict[str, Model]]:
    """The frames this device gets for the history, in server order, and the model."""
    server = FakeServer(ME)
    models = {DM: Model(), GROUP: Model()}
    frames: list[dict[str, Any]] = []
    for kind, channel, *args in steps:
        model, last = models[channel], len(models[channel].mentions)
        if kind == "send":
            sender, mentioning = args
            mentions = (ME, "carol") if mentioning else ("carol",)
            frames.append(server.add(channel, sender, f"m{last + 1}", mentions))
            model.mentions.append(mentioning)
            model.bodies[last + 1] = {"text": f"m{last + 1}"}
            if sender == ME:  # sending moves the sender's read cursor
                model.read_seq = server.reads[channel] = last + 1
        elif kind == "recall" and 1 <= args[0] <= last:
            frames.append(server.recall(channel, args[0]))
            model.recalled.add(args[0])
        elif kind == "edit" and 1 <= args[0] <= last and args[0] not in model.recalled:
            body = {"text": f"m{args[0]} edited {len(frames)}"}
            frames.append(server.edit(channel, args[0], body))
            model.bodies[args[0]] = body
        elif kind == "read":
            [read] = server.answer({"action": "read", "channel": channel, "seq": args[0]})
            frames.append(read)
            model.read_seq = max(model.read_seq, min(args[0], last))
    if mute is not None:
        frames.append(server.answer({"action": "mute", "channel": GROUP, "muted": mute})[0])
    return frames, models


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Model], bool]:
    steps = draw(st.lists(STEPS, max_size=30))
    mute = draw(st.none() | st.booleans())
    frames, models = play(steps, mute)
    again = draw(st.lists(st.sampled_from(frames), max_size=10)) if frames else []
    return draw(st.permutations(frames + again)), models, bool(mute)


def late(frames: list[dict[str, Any]], *order: int) -> list[dict[str, Any]]:
    return [frames[n] for n in order]


RECALLED_THEN_LATE_EDIT = play(
    [("send", DM, "bob", True), ("edit", DM, 1), ("recall", DM, 1)], None
)
EDITS_BEFORE_THEIR_MESSAGE = play([("send", GROUP, "bob", True), ("edit", GROUP, 1)] * 2, True)


@settings(max_examples=500, deadline=None)
@given(deliveries())
@example((late(RECALLED_THEN_LATE_EDIT[0], 0, 2, 1), RECALLED_THEN_LATE_EDIT[1], False))
@example((late(EDITS_BEFORE_THEIR_MESSAGE[0], 3, 1, 4, 0, 2), EDITS_BEFORE_THEIR_MESSAGE[1], True))
def test_unread_and_mentions_match_the_formula_whatever_the_frame_order(
    delivery: tuple[list[dict[str, Any]], dict[str, Model], bool],
) -> None:
    frames, models, muted = delivery

    async def scenario() -> None:
        client = FakeClient(FakeServer(ME))
        try:
            for frame in frames:
                await client.handle_frame(frame)
        finally:
            await client.close()
        for channel, model in models.items():
            assert client.unread(channel) == model.unread(), channel
            assert client.mentions(channel) == model.mentioned(), channel
            assert len(client.store.messages(channel)) == len(model.mentions)
            for message in client.store.messages(channel):
                seq = message["seq"]
                assert message["recalled"] == (seq in model.recalled)
                assert message["body"] == (None if seq in model.recalled else model.bodies[seq])
        expected = models[DM].unread() + (0 if muted else models[GROUP].unread())
        assert client.total_unread() == expected

    asyncio.run(scenario())
