"""Fuzzing every entry point with Hypothesis: generated frames, events and job bodies.

Each WebSocket route ($default, send, ack, read, sync, recall, edit, mute, receipts, typing),
$connect with its authorizer,
$disconnect, the admin API and the three SQS workers are fed structured-but-wrong input (the
right keys with wrong types, extra keys, huge and out-of-range values, floats and booleans for
integers, deep nesting, lone surrogates and other unicode edge cases, missing fields, non-JSON
and non-object bodies) and raw junk. For every input:

- the handler returns (an exception out of a handler is a Lambda failure: the client sees
  API Gateway's "Internal server error", the SQS batch is redelivered whole);
- the reply is a success of the route's kind, or an `error` frame whose `code` is one of the
  codes documented in docs/protocol.md (read from its error table) and is about the input:
  `internal` means an exception escaped the action and `throttled` that AWS was busy, so
  neither may answer a frame that moto served;
- a refusal changes nothing: every table (Courier.state()), the frames posted to every
  connection (the one-way `ack` and `typing` routes post exactly their error to the asker)
  and the queues;
- a success touches only its own rows, read back: `receipts` writes nothing and its counts
  agree with the read cursors; `typing` writes only the caller's membership row's
  `typingAt` and tells only the channel's other members.

The workers: a job body the producers never write (not JSON, not an object, a field missing or
of a type that cannot be read) is a poison record. workers.process_jobs reports it as a batch
item failure and processes the rest of the batch; SQS redelivers it up to maxReceiveCount
times, then moves it to the queue's dead-letter queue, whose depth alarm pages someone and from
which `make redrive` brings it back once fixed. Dropping it silently instead would hide a
producer bug and lose the job for good, so failing is the right answer for Courier: the cost is
a few wasted attempts. The fuzz checks that a poison record is reported, that the good record
in the same batch is not, and that the worker never raises (it used to when every record of a
batch failed: see test_dead_letters.py).

The examples of one test share one world (alice, bob and carol, a DM with history, a group):
each check compares the state just before and just after its own input, and frames that happen
to be valid add state for the next ones, so the function-scoped fixture is shared on purpose
(the function_scoped_fixture health check is suppressed for that reason only). Budget: 20-30 s
in all. Under CI Hypothesis's built-in `ci` profile derandomizes (reproducible), see
test_model.py; COURIER_FUZZ_SCALE=10 runs ten times the examples.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st

from courier.fanout import FanoutJob
from courier.frames import loads
from courier.ids import is_name
from courier.notify import NotifyJob
from courier.retry import RetryJob
from local.handlers import load_handler
from local.samples import load_event, websocket_event
from tests.harness import (
    JWT_SECRET,
    QUEUE_WORKERS,
    ROUTE_FUNCTIONS,
    ROUTE_SAMPLES,
    SAMPLE_JOBS,
    Conn,
    Courier,
)
from tests.world import DM, TEAM, World, make_world, strict_parse

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
ROUTES = ("send", "ack", "read", "sync", "recall", "edit", "mute", "receipts", "typing", "$default")
ONE_WAY = {"ack", "typing"}  # no reply: an error is posted to the asking connection
REPLIES = {
    "send": {"sendack"},
    "read": {"read"},
    "sync": {"conversations", "messages"},
    "recall": {"recall"},
    "edit": {"edit"},
    "mute": {"mute"},
    "receipts": {"receipts"},
}
NOT_ABOUT_INPUT = {"internal", "throttled"}
SCALE = int(os.environ.get("COURIER_FUZZ_SCALE", "1"))


def documented_error_codes() -> frozenset[str]:
    """The `code` column of the error table in docs/protocol.md."""
    section = PROTOCOL_MD.read_text(encoding="utf-8").split("\n### error", 1)[1]
    section = section.split("\n## ", 1)[0]
    return frozenset(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))


CODES = documented_error_codes()


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=None,  # a handler call over moto takes 2-40 ms, unevenly
        suppress_health_check=[HealthCheck.function_scoped_fixture],  # one world on purpose
    )


# --- strategies -----------------------------------------------------------------------------

SURROGATE = st.characters(categories=["Cs"])
# st.text() never draws a surrogate, whatever its alphabet: lists of characters do.
WITH_SURROGATES = st.lists(st.characters() | SURROGATE, max_size=20).map("".join)
TEXT = (
    st.text(max_size=20)
    | WITH_SURROGATES
    | st.text(st.sampled_from("az_.-:#/ \n\x00é€"), max_size=70)
)
EDGE_TEXT = st.sampled_from(
    ["", " ", "\ud800", "a" * 64, "a" * 65, "é" * 64, "\x00", "\u200b", "\U0001f600", "null"]
)
NAME = st.sampled_from(["alice", "bob", "carol", "nobody", "team"]) | TEXT | EDGE_TEXT
INTS = st.integers() | st.sampled_from([0, 1, -1, 2, 2**31, 2**63, 2**64, 10**38, 10**39])
FLOATS = st.floats() | st.sampled_from([0.0, 1.0, -0.0, 1e400, 2.5])
SCALAR = st.none() | st.booleans() | INTS | FLOATS | TEXT
JSON = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3)
)


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"n": value}
    return value


BODY = (
    JSON
    | st.integers(min_value=60, max_value=70).map(nested)
    | st.integers(min_value=16_370, max_value=16_400).map(lambda n: "x" * n)
    | st.integers(min_value=5_450, max_value=5_470).map(lambda n: "€" * n)
)
CHANNEL = (
    st.sampled_from([DM, TEAM, "dm:alice:carol", "dm:bob:carol", "g:nobody", "dm:bob:alice"])
    | st.builds(
        lambda kind, a, b: f"{kind}:{a}:{b}", st.sampled_from(["dm", "DM", "g"]), NAME, NAME
    )
    | st.builds(lambda name: f"g:{name}", NAME)
    | JSON
)
INTEGER_FIELD = INTS | FLOATS | st.booleans() | st.none() | INTS.map(str) | JSON
CURSOR = (
    st.none()
    | TEXT
    | JSON
    | st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="))
    | JSON.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode())
)
ACTION = (
    st.sampled_from(
        ["send", "ack", "read", "sync", "recall", "edit", "mute", "receipts", "typing", "ping"]
    )
    | TEXT
    | JSON
)
MENTIONS = (  # wrong: not a list, not ids, repeated, more than 50
    JSON
    | st.lists(NAME, max_size=4)
    | st.lists(st.sampled_from(["alice", "bob"]), min_size=2, max_size=4)
    | st.integers(min_value=51, max_value=60).map(lambda n: [f"u{i}" for i in range(n)])
)
FIELDS = {
    "action": ACTION,
    "channel": CHANNEL,
    "clientMsgNo": TEXT | EDGE_TEXT | JSON,
    "body": BODY,
    "seq": INTEGER_FIELD,
    "afterSeq": INTEGER_FIELD,
    "limit": INTEGER_FIELD,
    "cursor": CURSOR,
    "mentions": MENTIONS,
    "muted": SCALAR | JSON,
    "version": INTEGER_FIELD,  # server-side fields a client may send: ignored
    "recalled": SCALAR,
    "requestId": TEXT | EDGE_TEXT | JSON,
}
ANY_FRAME = st.builds(
    lambda fields, extra: {**extra, **fields},
    st.fixed_dictionaries({}, optional=FIELDS),
    st.dictionaries(TEXT, JSON, max_size=2),
)


# Frames of one action, each field valid most of the time: most fail one check, late in the
# order, and some are carried out (a send of an odd body is then read back through sync).
def mostly(valid: st.SearchStrategy[Any], wrong: st.SearchStrategy[Any]) -> Any:
    """`valid` four times in five."""
    return st.integers(min_value=0, max_value=4).flatmap(lambda i: valid if i else wrong)


VALID_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
MOSTLY = {
    "channel": mostly(st.sampled_from([DM, TEAM, "dm:alice:carol", "dm:bob:carol"]), CHANNEL),
    "clientMsgNo": mostly(st.text(min_size=1, max_size=64), TEXT | EDGE_TEXT | JSON),
    "body": mostly(VALID_JSON, BODY),
    "seq": mostly(st.integers(min_value=0, max_value=5), INTEGER_FIELD),
    "afterSeq": mostly(st.none() | st.integers(min_value=0, max_value=5), INTEGER_FIELD),
    "limit": mostly(st.none() | st.integers(min_value=1, max_value=200), INTEGER_FIELD),
    "cursor": mostly(st.none(), CURSOR),
    "mentions": mostly(
        st.lists(st.sampled_from(["alice", "bob", "carol", "nobody"]), unique=True, max_size=3)
        | st.none(),
        MENTIONS,
    ),
    "muted": mostly(st.booleans(), SCALAR | JSON),
    "version": INTEGER_FIELD,
    "requestId": mostly(st.text(max_size=64), TEXT | EDGE_TEXT | JSON),
}
SHAPES = {
    "send": ("channel", "clientMsgNo", "body"),
    "ack": ("channel", "seq"),
    "read": ("channel", "seq"),
    "sync": ("channel", "afterSeq", "limit", "cursor"),
    "recall": ("channel", "seq"),
    "edit": ("channel", "seq", "body"),
    "mute": ("channel", "muted"),
    "receipts": ("channel", "seq"),
    "typing": ("channel",),
    "ping": (),
}
OPTIONAL = {"send": ("mentions",), "edit": ("version",)}  # besides requestId
ON_A_MESSAGE = {  # recall, edit, receipts: mostly a world's message (some are carried out)
    "channel": mostly(st.sampled_from([DM, TEAM]), CHANNEL),
    "seq": mostly(st.integers(min_value=1, max_value=3), INTEGER_FIELD),
}


def shaped(action: str) -> st.SearchStrategy[dict[str, Any]]:
    chosen = MOSTLY | (ON_A_MESSAGE if action in {"recall", "edit", "receipts"} else {})
    fields = {name: chosen[name] for name in SHAPES[action]}
    required = {} if action == "sync" else fields
    optional = {
        **(fields if action == "sync" else {}),
        **{name: MOSTLY[name] for name in OPTIONAL.get(action, ())},
        "requestId": MOSTLY["requestId"],
    }
    return st.builds(
        lambda frame, drop, extra: {k: v for k, v in frame.items() if k != drop} | extra,
        st.fixed_dictionaries({"action": st.just(action), **required}, optional=optional),
        mostly(st.none(), st.sampled_from(["action", *SHAPES[action]])),
        st.dictionaries(TEXT, JSON, max_size=1),
    )


FRAME = st.sampled_from(sorted(SHAPES)).flatmap(shaped) | ANY_FRAME


def mutate(text: str, cut: int, junk: str) -> str:
    """A JSON text damaged at one place."""
    at = cut % (len(text) + 1)
    return text[:at] + junk + text[at + 1 :]


RAW = st.one_of(
    st.text(max_size=200),  # a text frame is UTF-8: a lone surrogate only as a JSON escape
    st.builds(
        mutate,
        FRAME.map(json.dumps),
        st.integers(min_value=0),
        st.sampled_from(["", "{", "}", '"', ",", "NaN", "\\", "\\ud800", "1e400", " "]),
    ),
    st.sampled_from(
        [
            "",
            "null",
            "[]",
            '"ping"',
            "1",
            '{"action":"ping"}x',
            '\ufeff{"action":"ping"}',
            '{"action":"sync","limit":' + "9" * 5000 + "}",
            '{"action":"ack","channel":"dm:alice:bob","seq":-0}',
            '{"action":"read","channel":"dm:alice:bob","seq":1e2}',
            '{"action":"send","channel":"dm:alice:bob","clientMsgNo":"x","body":Infinity}',
            '{"action":"send","action":"ping"}',
            "[" * 3000 + "]" * 3000,
        ]
    ),
    JSON.map(json.dumps),
)


# --- the world and the checks ---------------------------------------------------------------


@pytest.fixture
def world(courier: Courier) -> World:
    return make_world(courier)


def test_the_documented_error_codes_are_read_from_protocol_md() -> None:
    assert {"invalid", "unknown_action", "forbidden", "too_large"} <= CODES, CODES


def posted_counts(courier: Courier) -> dict[str, int]:
    return {cid: len(frames) for cid, frames in courier.connections.frames.items() if frames}


def queued(courier: Courier) -> dict[str, list[Any]]:
    return {logical: [j.body for j in courier.jobs(logical)] for logical in QUEUE_WORKERS}


@dataclass(frozen=True)
class Before:
    state: dict[str, list[dict[str, Any]]]
    posted: dict[str, int]
    jobs: dict[str, list[Any]]
    published: int

    @classmethod
    def take(cls, courier: Courier) -> Before:
        return cls(courier.state(), posted_counts(courier), queued(courier), len(courier.published))

    def assert_unchanged(
        self,
        courier: Courier,
        *,
        posted: dict[str, int] | None = None,
        but: dict[str, Callable[[dict[str, Any]], bool]] | None = None,
    ) -> None:
        """Nothing changed; with `but` ({table: predicate}), except rows of those tables that
        the predicate accepts (e.g. the asker's own cursor, for an ack carried out)."""
        after = courier.state()
        for table, mine in (but or {}).items():
            gone = [i for i in self.state[table] if i not in after[table]]
            new = [i for i in after[table] if i not in self.state[table]]
            assert all(mine(item) for item in gone + new), (table, gone, new)
            after = {**after, table: self.state[table]}
        assert after == self.state, "a refusal changed a table"
        assert posted_counts(courier) == (self.posted if posted is None else posted), (
            "a refusal posted a frame"
        )
        assert queued(courier) == self.jobs, "a refusal queued a job"
        assert len(courier.published) == self.published, "a refusal notified someone"


def posted_by_a_read(courier: Courier, before: Before, user: str) -> dict[str, int]:
    """What a read may post: `read` frames to the user's other connections and, in a DM,
    the user's `receipt` to the peer's; anything else fails."""
    for cid, frames in courier.connections.frames.items():
        for frame in frames[before.posted.get(cid, 0) :]:
            assert frame.get("type") in ("read", "receipt"), frame
            assert frame["type"] == "read" or frame["user"] == user, (cid, frame)
    return posted_counts(courier)


def echoes(frame: Any) -> dict[str, str]:
    """What an error frame echoes: a valid requestId (0-64 chars) and clientMsgNo (1-64)."""
    found: dict[str, str] = {}
    if not isinstance(frame, dict):
        return found
    for name, low in (("requestId", 0), ("clientMsgNo", 1)):
        value = frame.get(name)
        if isinstance(value, str) and low <= len(value) <= 64:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                continue
            found[name] = value
    return found


def assert_error(reply: dict[str, Any], frame: Any) -> None:
    tally(f"error {reply.get('code')}")
    assert reply["code"] in CODES, f"undocumented error code: {reply}"
    assert reply["code"] not in NOT_ABOUT_INPUT, f"an exception escaped the action: {reply}"
    assert isinstance(reply["message"], str) and reply["message"].strip(), reply
    assert reply == {"type": "error", "code": reply["code"], "message": reply["message"]} | echoes(
        frame
    ), reply


def one_way_outcome(
    courier: Courier, route: str, caller: Conn, *, asker: Any, frame: Any, before: Before
) -> None:
    """ack and typing: no reply; a refusal posts exactly its error to the asking connection."""
    if not isinstance(asker, str):  # no connection: refused, with nowhere to post it
        before.assert_unchanged(courier)
        return
    new = courier.connections.frames.get(asker, [])[before.posted.get(asker, 0) :]
    if not new and route == "typing":
        typed(courier, caller, frame, before)
        return
    if not new:  # carried out: at most the asking device's ack cursor moved
        tally("ack: carried out")
        device = f"{caller.user}#{caller.device}"
        before.assert_unchanged(
            courier, but={"AcksTable": lambda item: item["deviceKey"]["S"] == device}
        )
        return
    assert len(new) == 1, new
    assert_error(new[0], frame)
    count = before.posted.get(asker, 0) + 1
    before.assert_unchanged(courier, posted={**before.posted, asker: count})


def deliver(
    world: World, route: str, text: str, *, caller: Conn, edit: Callable[[dict[str, Any]], None]
) -> None:
    """Deliver one frame on one route and check the outcome as the module docstring says."""
    courier = world.courier
    event = websocket_event(
        ROUTE_SAMPLES.get(route, "default-ping"),
        raw_body=text,
        connection_id=caller.connection_id,
        user=caller.user,
        device=caller.device,
    )
    event["requestContext"]["routeKey"] = route
    edit(event)
    asker = event["requestContext"].get("connectionId")
    before = Before.take(courier)

    result = load_handler(ROUTE_FUNCTIONS.get(route, "default"))(event, courier.context)

    assert result["statusCode"] == 200, result
    frame = None if event.get("isBase64Encoded") else strict_parse(text)
    if route in ONE_WAY:  # no body; an error is posted to the asking connection
        assert "body" not in result, result
        one_way_outcome(courier, route, caller, asker=asker, frame=frame, before=before)
        return
    body = result["body"]
    body.encode("utf-8")  # a text frame must be UTF-8
    reply = loads(body)
    if reply.get("type") == "error":
        assert_error(reply, frame)
        before.assert_unchanged(courier)
        return
    tally(f"{route}: {reply.get('type')}")
    assert reply.get("type") in REPLIES.get(route, {"pong"}), (route, reply)
    if isinstance(frame, dict) and "requestId" in frame:  # a valid one, or it was refused
        assert reply.get("requestId") == frame["requestId"], reply
    if route == "$default":
        rid = {k: v for k, v in echoes(frame).items() if k == "requestId"}
        assert reply == {"type": "pong"} | rid, reply
    if route == "read":  # at most the asker's read cursor moved (the model checks where to)
        before.assert_unchanged(
            courier,
            posted=posted_by_a_read(courier, before, caller.user),
            but={"MembershipsTable": lambda item: item["userId"]["S"] == caller.user},
        )
    elif route in CONVERSATION_ROUTES:
        answer = {k: v for k, v in reply.items() if k != "requestId"}  # checked above
        CONVERSATION_ROUTES[route](courier, caller, frame, answer, before)
    elif route != "send":
        before.assert_unchanged(courier)
    else:  # what was accepted can be read back, as sent (every reader can decode it)
        assert reply["seq"] >= 1 and isinstance(reply["duplicate"], bool), reply
        page = courier.sync(caller, channel=reply["channel"], afterSeq=reply["seq"] - 1, limit=1)
        stored = page["messages"][0]
        assert (stored["messageId"], stored["clientMsgNo"]) == (
            reply["messageId"],
            reply["clientMsgNo"],
        )
        if not reply["duplicate"] and isinstance(frame, dict):
            assert stored["body"] == frame["body"], stored


def told_others(courier: Courier, before: Before, reply: dict[str, Any]) -> dict[str, int]:
    """The frames posted since `before` (to the members' other connections): each is the
    reply's kind about the reply's channel. Their counts, for assert_unchanged."""
    now = posted_counts(courier)
    for connection_id in now:
        for told in courier.connections.frames[connection_id][
            before.posted.get(connection_id, 0) :
        ]:
            assert (told["type"], told["channel"]) == (reply["type"], reply["channel"]), told
    return now


def the_message(channel: str, seq: int) -> Callable[[dict[str, Any]], bool]:
    return lambda item: (item["channel"]["S"], item.get("seq", {}).get("N")) == (channel, str(seq))


def of_channel(channel: str) -> Callable[[dict[str, Any]], bool]:
    return lambda item: bool(item["channel"]["S"] == channel)


def recalled(
    courier: Courier, caller: Conn, frame: Any, reply: dict[str, Any], before: Before
) -> None:
    """A recall carried out: the message syncs recalled, only it and its channel's row
    changed, and every member's other connections are told."""
    channel, seq = reply["channel"], reply["seq"]
    assert reply == {
        "type": "recall",
        "channel": channel,
        "seq": frame["seq"],
        "messageId": reply["messageId"],
        "unread": reply["unread"],
    }, reply
    assert isinstance(reply["unread"], int) and reply["unread"] >= 0, reply
    [stored] = courier.sync(caller, channel=channel, afterSeq=seq - 1, limit=1)["messages"]
    assert stored["recalled"] is True and "body" not in stored, stored
    assert stored["messageId"] == reply["messageId"], stored
    posted = told_others(courier, before, reply)
    tables = {"MessagesTable": the_message(channel, seq), "ChannelsTable": of_channel(channel)}
    before.assert_unchanged(courier, posted=posted, but=tables)


def edited(
    courier: Courier, caller: Conn, frame: Any, reply: dict[str, Any], before: Before
) -> None:
    """An edit carried out: the message syncs with the new body and version, nothing else
    changed, and every member's other connections are told."""
    channel, seq = reply["channel"], reply["seq"]
    assert reply["seq"] == frame["seq"] and reply["body"] == frame["body"], reply
    assert isinstance(reply["version"], int) and reply["version"] >= 1, reply
    assert isinstance(reply["editedAt"], int), reply
    [stored] = courier.sync(caller, channel=channel, afterSeq=seq - 1, limit=1)["messages"]
    assert (stored["body"], stored["version"]) == (frame["body"], reply["version"]), stored
    posted = told_others(courier, before, reply)
    before.assert_unchanged(
        courier, posted=posted, but={"MessagesTable": the_message(channel, seq)}
    )


def muted(
    courier: Courier, caller: Conn, frame: Any, reply: dict[str, Any], before: Before
) -> None:
    """A mute carried out: only the caller's row of that channel changed; the admin API
    agrees on totalUnread and on the muted list."""
    channel = reply["channel"]
    assert reply == {
        "type": "mute",
        "channel": channel,
        "muted": frame["muted"],
        "totalUnread": reply["totalUnread"],
    }, reply
    summary = courier.unread(caller.user)
    assert summary["totalUnread"] == reply["totalUnread"], (summary, reply)
    if channel in summary["channels"]:
        assert (channel in summary["muted"]) is frame["muted"], summary
    posted = told_others(courier, before, reply)

    def mine(item: dict[str, Any]) -> bool:
        return (item["userId"]["S"], item["channel"]["S"]) == (caller.user, channel)

    before.assert_unchanged(courier, posted=posted, but={"MembershipsTable": mine})


def counted(
    courier: Courier, caller: Conn, frame: Any, reply: dict[str, Any], before: Before
) -> None:
    """A receipts answer: read back against the read cursors (the members of the channel
    but the message's sender whose readSeq is at or past seq); nothing written or posted."""
    channel, seq = reply["channel"], reply["seq"]
    assert (channel, seq) == (frame["channel"], frame["seq"]), reply
    [message] = [m for m in before.state["MessagesTable"] if the_message(channel, seq)(m)]
    rows = [row for row in before.state["MembershipsTable"] if of_channel(channel)(row)]
    readers = sorted(
        row["userId"]["S"]
        for row in rows
        if row["userId"]["S"] != message["from"]["S"]
        and int(row.get("readSeq", {}).get("N", "0")) >= seq
    )
    assert caller.user in {row["userId"]["S"] for row in rows}, "answered a non-member"
    assert reply == {
        "type": "receipts",
        "channel": channel,
        "seq": seq,
        "count": len(readers),
        "members": len(rows),
        "readBy": readers[:100],
    }, (reply, readers)
    before.assert_unchanged(courier)


def typed(courier: Courier, caller: Conn, frame: Any, before: Before) -> None:
    """A typing frame carried out (or dropped by the throttle): at most the caller's
    membership row of the channel changed, in typingAt alone, and only the channel's
    other members' connections were told, with the typing frame."""
    channel = frame["channel"]
    expected = {"type": "typing", "channel": channel, "user": caller.user}
    own = {
        row["connectionId"]["S"]
        for row in before.state["ConnectionsTable"]
        if row["userId"]["S"] == caller.user
    }
    now = posted_counts(courier)
    tally(f"typing: {'relayed' if now != before.posted else 'dropped or nobody connected'}")
    for connection_id in now:
        for told in courier.connections.frames[connection_id][
            before.posted.get(connection_id, 0) :
        ]:
            assert told == expected and connection_id not in own, (connection_id, told)

    def mine(item: dict[str, Any]) -> bool:
        return (item["userId"]["S"], item["channel"]["S"]) == (caller.user, channel)

    def without_typing(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k != "typingAt"} for row in rows if mine(row)]

    after = courier.state()["MembershipsTable"]
    old = without_typing(before.state["MembershipsTable"])
    assert without_typing(after) == old or (
        not old
        and without_typing(after) == [{"userId": {"S": caller.user}, "channel": {"S": channel}}]
    ), "typing wrote more than typingAt"
    before.assert_unchanged(courier, posted=now, but={"MembershipsTable": mine})


CarriedOut = Callable[[Courier, Conn, Any, dict[str, Any], Before], None]
CONVERSATION_ROUTES: dict[str, CarriedOut] = {
    "recall": recalled,
    "edit": edited,
    "mute": muted,
    "receipts": counted,
}


def identity_edit(kind: str) -> Callable[[dict[str, Any]], None]:
    """A change to the event's identity: none, or an authorizer context naming nobody valid."""

    def edit(event: dict[str, Any]) -> None:
        context = event["requestContext"]
        if kind == "no-authorizer":
            context.pop("authorizer", None)
        elif kind == "null-authorizer":
            context["authorizer"] = None
        elif kind == "bad-user":
            context["authorizer"] = {"principalId": "bad/user", "userId": "bad user"}
        elif kind == "bad-device":
            context["authorizer"] = {"userId": "alice", "deviceId": "\ud800"}
        elif kind == "no-connection":
            context.pop("connectionId", None)
        elif kind == "binary":
            event["isBase64Encoded"] = True

    return edit


IDENTITY = mostly(
    st.just("ok"),
    st.sampled_from(
        ["no-authorizer", "null-authorizer", "bad-user", "bad-device", "no-connection"]
    ),
)


# --- WebSocket routes -------------------------------------------------------------------------


@fuzz_settings(examples=800)
@given(
    frame=FRAME,
    misrouted=mostly(st.none(), st.sampled_from(ROUTES)),
    who=st.sampled_from(["alice", "bob", "carol"]),
    identity=IDENTITY,
)
def test_fuzzed_frames_get_a_reply_or_a_documented_error_that_changes_nothing(
    world: World, frame: dict[str, Any], misrouted: str | None, who: str, identity: str
) -> None:
    text = json.dumps(frame)
    action = frame.get("action")
    route = action if isinstance(action, str) and action in ROUTE_FUNCTIONS else "$default"
    if misrouted is not None:  # handlers must not trust the router
        route = misrouted
    deliver(world, route, text, caller=world.conns[who], edit=identity_edit(identity))


@fuzz_settings(examples=200)
@given(
    frame=st.sampled_from(["receipts", "typing"]).flatmap(shaped),
    who=st.sampled_from(["alice", "bob", "carol"]),
)
def test_receipts_and_typing_frames_are_refused_or_touch_only_their_own_rows(
    world: World, frame: dict[str, Any], who: str
) -> None:
    """The v1.1 routes a mixed frame rarely carries out (1 in 100 above): mostly valid
    frames of theirs, so that successes are read back as often as refusals."""
    action = frame.get("action")
    route = action if isinstance(action, str) and action in ROUTE_FUNCTIONS else "$default"
    deliver(world, route, json.dumps(frame), caller=world.conns[who], edit=identity_edit("ok"))


@fuzz_settings(examples=500)
@given(text=RAW, route=st.sampled_from(ROUTES), binary=st.booleans())
def test_raw_junk_on_any_route_gets_invalid_or_a_reply_and_changes_nothing(
    world: World, text: str, route: str, binary: bool
) -> None:
    deliver(
        world,
        route,
        text,
        caller=world.conns["carol"],
        edit=identity_edit("binary" if binary else "ok"),
    )


# --- $connect, its authorizer, $disconnect --------------------------------------------------

CLAIM_VALUES = SCALAR | st.sampled_from(["alice", "phone", "a" * 65]) | JSON
NOW = int(time.time())
OFFSET = st.integers(min_value=-(2**40), max_value=2**40) | st.integers(-7200, 7200)
BASE_CLAIMS = st.fixed_dictionaries(
    {
        "sub": mostly(st.sampled_from(["alice", "bob"]), CLAIM_VALUES),
        "exp": mostly(st.integers(1, 86_400).map(lambda t: NOW + t), OFFSET | CLAIM_VALUES),
    },
    optional={
        "device": mostly(st.sampled_from(["phone", "default"]), CLAIM_VALUES),
        "iat": mostly(st.integers(-86_400, 0).map(lambda t: NOW + t), OFFSET | CLAIM_VALUES),
    },
)
RARE_CLAIMS = st.fixed_dictionaries(
    {},
    optional={
        "nbf": OFFSET.map(lambda t: NOW + t) | CLAIM_VALUES,
        "aud": CLAIM_VALUES,
        "iss": CLAIM_VALUES,
    },
)
CLAIMS = st.builds(
    lambda claims, rare, drop: {k: v for k, v in claims.items() if k != drop} | rare,
    BASE_CLAIMS,
    mostly(st.just({}), RARE_CLAIMS),
    mostly(st.none(), st.sampled_from(["sub", "exp"])),
)


def sign(claims: dict[str, Any], secret: str, algorithm: str) -> str:
    try:
        return jwt.encode(claims, secret, algorithm=algorithm)
    except (TypeError, ValueError):  # claims PyJWT cannot encode: a junk token instead
        return "x." + base64.urlsafe_b64encode(repr(claims).encode()).decode() + ".y"


TOKEN = mostly(
    st.builds(sign, CLAIMS, st.just(JWT_SECRET), st.just("HS256")),
    st.one_of(
        st.builds(
            sign, CLAIMS, st.just("another-secret-that-is-long-enough-for-hs"), st.just("HS256")
        ),
        st.builds(sign, CLAIMS, st.just(""), st.just("none")),
        st.builds(
            lambda head, body, sig: f"{head}.{body}.{sig}",
            TEXT,
            JSON.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()),
            TEXT,
        ),
        TEXT,
    ),
)
QUERY = mostly(
    st.builds(
        lambda token, extra: {**extra, "token": token},
        TOKEN,
        st.dictionaries(TEXT, TEXT, max_size=2),
    ),
    st.none()
    | st.dictionaries(st.sampled_from(["token", "Token", "tok", ""]) | TEXT, TOKEN, max_size=3),
)


@fuzz_settings(examples=300)
@given(query=QUERY)
def test_the_authorizer_allows_only_a_valid_token_and_never_fails(
    world: World, query: dict[str, str] | None
) -> None:
    event = load_event("authorizer-allow")
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = (
        {k: [v] for k, v in query.items()} if query is not None else None
    )
    before = Before.take(world.courier)

    decision = load_handler("authorizer")(event, world.courier.context)

    statement = decision["policyDocument"]["Statement"]
    tally(statement[0]["Effect"])
    assert statement[0]["Effect"] in {"Allow", "Deny"} and len(statement) == 1, decision
    assert statement[0]["Resource"] == event["methodArn"], decision
    if statement[0]["Effect"] == "Allow":
        token = (query or {}).get("token")
        claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])  # ours, signed by us
        assert is_name(claims["sub"]) and is_name(claims.get("device", "default")), claims
        assert isinstance(claims["exp"], int | float) and claims["exp"] > time.time(), claims
        assert decision["context"] == {
            "userId": claims["sub"],
            "deviceId": claims.get("device", "default"),
        }
    else:
        assert "context" not in decision, decision
    before.assert_unchanged(world.courier)


AUTHORIZER_CONTEXT = st.none() | st.fixed_dictionaries(
    {},
    optional={"principalId": NAME | JSON, "userId": NAME | JSON, "deviceId": NAME | JSON},
)


@fuzz_settings(examples=300)
@given(
    authorizer=AUTHORIZER_CONTEXT,
    # API Gateway's ids are non-empty ASCII: an empty or non-UTF-8 id is not an odd event but
    # an impossible one (DynamoDB refuses it as a key); other types are checked, though.
    connection_id=st.none() | st.text(min_size=1, max_size=30) | INTS | st.lists(SCALAR),
    connected_at=st.none() | INTS | FLOATS | TEXT,
    route=st.sampled_from(["connect", "disconnect"]),
)
def test_connect_and_disconnect_survive_odd_events(
    world: World, authorizer: Any, connection_id: Any, connected_at: Any, route: str
) -> None:
    courier = world.courier
    event = load_event(route)
    context = event["requestContext"]
    for name, value in (("authorizer", authorizer), ("connectionId", connection_id)):
        if value is None:
            context.pop(name, None)
        else:
            context[name] = value
    if connected_at is not None:
        context["connectedAt"] = connected_at
    valid = (
        isinstance(authorizer, dict)
        and is_name(authorizer.get("userId") or authorizer.get("principalId"))
        and is_name(authorizer.get("deviceId") or "default")
        and isinstance(connection_id, str)
    )
    before = Before.take(courier)

    result = load_handler(route)(event, courier.context)

    assert result == {"statusCode": 200 if valid or route == "disconnect" else 403}, result
    # $connect stores, and $disconnect deletes, the row of the event's connection and no
    # other; $disconnect also raises its user's lastSeen
    user = (authorizer.get("userId") or authorizer.get("principalId")) if valid else None
    before.assert_unchanged(
        courier,
        but={
            "ConnectionsTable": lambda item: item["connectionId"]["S"] == connection_id,
            "PresenceTable": lambda item: route == "disconnect" and item["userId"]["S"] == user,
        },
    )


# --- the admin API ---------------------------------------------------------------------------

SEGMENT = mostly(
    st.sampled_from(["team", "ops", "alice", "nobody", "x" * 64]),
    st.sampled_from(["", "..", "%2F", "a" * 65, "g:team", "t\u00e9am", "a/b"]) | TEXT,
)
ADMIN_BODY = {
    "tokens": st.fixed_dictionaries(
        {"user": mostly(st.sampled_from(["alice", "bob"]), NAME | JSON)},
        optional={
            "device": mostly(st.sampled_from(["phone", "tablet"]), NAME | JSON),
            "ttlSeconds": mostly(st.integers(min_value=1, max_value=2_592_000), INTEGER_FIELD),
        },
    ),
    "groups": st.fixed_dictionaries(
        {"members": mostly(st.lists(st.sampled_from(["alice", "bob", "carol"])), JSON)}
    ),
    "unread": st.none(),
    "recall": st.none(),
}
CHANNEL_SEGMENT = mostly(
    st.sampled_from([DM, TEAM, "dm%3Aalice%3Abob", "g%3Ateam", "dm:alice:carol"]),
    st.sampled_from(["", "dm:bob:alice", "g:", "dm%3A", "%zz", "g:team/1"]) | TEXT,
)
SEQ_SEGMENT = mostly(
    st.integers(min_value=1, max_value=4).map(str),
    st.sampled_from(["0", "-1", "1.0", "01", "1e2", "", "9" * 19, "\uff12"]) | TEXT,
)
CALLS = {
    "tokens": ("POST", st.just("/admin/tokens")),
    "groups": ("PUT", st.builds(lambda s: f"/admin/groups/{s}", SEGMENT)),
    "unread": ("GET", st.builds(lambda s: f"/admin/users/{s}/unread", SEGMENT)),
    "recall": (
        "DELETE",
        st.builds(lambda c, n: f"/admin/channels/{c}/messages/{n}", CHANNEL_SEGMENT, SEQ_SEGMENT),
    ),
}
JUNK_PATH = st.sampled_from(
    [
        "/",
        "",
        "/admin",
        "/admin/groups/",
        "/admin/users//unread",
        "/admin/tokens/",
        "//admin/tokens",
    ]
) | st.builds(lambda s: f"/{s}", TEXT)
METHODS = st.sampled_from(["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"]) | TEXT


@st.composite
def admin_calls(draw: st.DrawFn) -> tuple[str, str, str | None]:
    """(method, path, body): one of the three calls with a mostly valid body, now and then
    another method, a junk path or a junk body."""
    call = draw(st.sampled_from(sorted(CALLS)))
    method, path = CALLS[call][0], draw(CALLS[call][1])
    method = draw(mostly(st.just(method), METHODS))
    path = draw(mostly(st.just(path), JUNK_PATH))
    value = draw(ADMIN_BODY[call])
    body = None if value is None else json.dumps(value)
    body = draw(mostly(st.just(body), st.none() | RAW | JSON.map(json.dumps)))
    return method, path, body


@fuzz_settings(examples=500)
@given(call=admin_calls(), base64_encoded=mostly(st.just(False), st.just(True)))
def test_the_admin_api_answers_200_400_or_404_and_a_refusal_changes_nothing(
    world: World, call: tuple[str, str, str | None], base64_encoded: bool
) -> None:
    method, path, body = call
    courier = world.courier
    event = load_event("admin-user-unread")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path}"
    event["body"] = body
    event["isBase64Encoded"] = base64_encoded and body is not None
    if event["isBase64Encoded"]:
        event["body"] = base64.b64encode(str(body).encode("utf-8", "surrogatepass")).decode()
    before = Before.take(courier)

    result = load_handler("admin")(event, courier.context)

    status = result["statusCode"]
    known = {"POST": "tokens", "PUT": "groups", "GET": "unread", "DELETE": "recall"}.get(
        method, "other method"
    )
    tally(f"{known} {status}")
    assert status in {200, 400, 404}, result
    reply = loads(result["body"]) if result.get("body") else None
    if status == 400:
        assert reply == {"error": "invalid", "message": reply["message"]}, reply
    if status != 200:
        before.assert_unchanged(courier)
    elif method == "DELETE":  # a recall: that message and its channel's row, and the members told
        channel, seq = reply["channel"], reply["seq"]
        assert reply == {"channel": channel, "seq": seq, "recalled": True}, reply
        tables = {"MessagesTable": the_message(channel, seq), "ChannelsTable": of_channel(channel)}
        posted = told_others(courier, before, {"type": "recall", "channel": channel})
        before.assert_unchanged(courier, posted=posted, but=tables)
    elif path == "/admin/tokens":
        assert set(reply) == {"token", "expiresAt"}, reply
        before.assert_unchanged(courier)  # tokens are stateless
    elif path.endswith("/unread"):
        assert set(reply) == {"user", "totalUnread", "channels", "muted", "mentions"}, reply
        assert reply["totalUnread"] == sum(reply["channels"].values()), reply
        before.assert_unchanged(courier)
    else:  # the group's own rows changed, no other
        assert set(reply) == {"group", "members"} and is_name(reply["group"]), reply
        assert reply["members"] == sorted(set(reply["members"])), reply
        group = f"g:{reply['group']}"

        def of_group(item: dict[str, Any]) -> bool:
            return bool(item["channel"]["S"] == group)

        before.assert_unchanged(
            courier, but={"ChannelsTable": of_group, "MembershipsTable": of_group}
        )


# --- the SQS workers -------------------------------------------------------------------------

GOOD_JOBS = {
    "retry_worker": {"user": "bob", "device": "phone", "channel": DM, "seq": 1, "attempt": 1},
    "fanout_worker": loads(load_event("fanout_worker-chunk")["Records"][0]["body"]),
    "notifier": {"user": "carol", "channel": DM, "seq": 1},
}
PARSERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "retry_worker": RetryJob.from_body,
    "fanout_worker": FanoutJob.from_body,
    "notifier": NotifyJob.from_body,
}
USERS = st.sampled_from(["alice", "bob", "carol"])
SEQ = st.integers(min_value=0, max_value=5)
JOB_FIELDS = {  # each field of the right type most of the time: odd values, not only junk
    "user": mostly(USERS, NAME | JSON),
    "device": mostly(st.sampled_from(["phone", "tablet"]), NAME | JSON),
    "channel": mostly(st.sampled_from([DM, TEAM]), CHANNEL),
    "seq": mostly(SEQ, INTEGER_FIELD),
    "attempt": mostly(st.integers(min_value=1, max_value=6), INTEGER_FIELD),
    "chain": st.none() | TEXT | JSON,
    "message": mostly(
        st.fixed_dictionaries(
            {
                "channel": mostly(st.sampled_from([DM, TEAM]), CHANNEL),
                "seq": mostly(SEQ, INTEGER_FIELD),
                "messageId": TEXT | JSON,
                "from": mostly(USERS, NAME | JSON),
                "clientMsgNo": TEXT | JSON,
                "body": mostly(VALID_JSON.map(json.dumps), RAW | JSON),
                "ts": mostly(st.integers(min_value=0), INTEGER_FIELD),
            },
            optional={"mentions": mostly(st.lists(USERS, unique=True, max_size=3), JSON)},
        ),
        JSON,
    ),
    "except": st.none() | TEXT | JSON,
    "users": mostly(st.lists(USERS, max_size=3), st.lists(NAME, max_size=3) | JSON),
}
SHAPES_OF_JOBS = {
    "retry_worker": ("user", "device", "channel", "seq", "attempt", "chain"),
    "fanout_worker": ("message", "except", "users"),
    "notifier": ("user", "channel", "seq"),
}


def job_bodies(function: str) -> st.SearchStrategy[str]:
    shaped = st.builds(
        lambda job, drop, extra: json.dumps({k: v for k, v in job.items() if k != drop} | extra),
        st.fixed_dictionaries({k: JOB_FIELDS[k] for k in SHAPES_OF_JOBS[function]}),
        mostly(st.none(), st.sampled_from(SHAPES_OF_JOBS[function])),
        st.dictionaries(TEXT, JSON, max_size=1),
    )
    return st.one_of(shaped, shaped, RAW, JSON.map(json.dumps))


def poison(function: str, body: str) -> bool:
    """A body no producer writes: not JSON, not an object, or fields that cannot be read."""
    try:
        value = json.loads(body)
        if not isinstance(value, dict):
            return True
        PARSERS[function](value)
    except Exception:  # whatever reading it raises, the worker reports it
        return True
    return False


def run_batch(courier: Courier, function: str, bodies: list[str]) -> dict[str, Any]:
    """Invoke a worker with one SQS batch, its records named rec-0, rec-1, ..."""
    sample = load_event(SAMPLE_JOBS[function])["Records"][0]
    records = [{**sample, "messageId": f"rec-{i}", "body": b} for i, b in enumerate(bodies)]
    result: dict[str, Any] = load_handler(function)({"Records": records}, courier.context)
    return result


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, list[str]]:
    function = draw(st.sampled_from(sorted(PARSERS)))
    return function, draw(st.lists(job_bodies(function), min_size=1, max_size=4))


@fuzz_settings(examples=300)
@given(jobs=batches(), good_at=st.none() | st.integers(min_value=0, max_value=4))
def test_a_poison_job_fails_alone_and_never_crashes_the_worker(
    world: World, jobs: tuple[str, list[str]], good_at: int | None
) -> None:
    function, bodies = jobs
    batch = [*bodies]
    good = None if good_at is None else good_at % (len(batch) + 1)
    if good is not None:  # a good job beside the poison ones must not fail
        batch.insert(good, json.dumps(GOOD_JOBS[function]))

    result = run_batch(world.courier, function, batch)  # an exception fails the test

    assert set(result) == {"batchItemFailures"}, result
    failed = [int(f["itemIdentifier"].removeprefix("rec-")) for f in result["batchItemFailures"]]
    assert len(failed) == len(set(failed)) and set(failed) <= set(range(len(batch))), failed
    for position, body in enumerate(batch):
        kind = "poison" if poison(function, body) else "readable"
        tally(f"{function}: {kind} job {'failed' if position in failed else 'done'}")
    assert good not in failed, "a good job failed beside poison ones"
    for position, body in enumerate(batch):
        if poison(function, body):
            assert position in failed, f"a poison job was not reported: {body!r}"
