"""Bad input on every route: the documented refusal, and nothing else.

PROTOCOL.md: "Any frame that cannot be carried out gets, on the same connection, an
`error` frame (code invalid / unknown_action / forbidden / too_large ...). An error
changes no state. The connection stays open." The admin API answers bad input with
HTTP 400 `{"error": "invalid", "message": ...}`; the $connect authorizer denies a bad token.

Every WebSocket case below is checked the same way (see `assert_refused`):
  1. the reply is exactly {"type": "error", "code", "message"} plus the valid requestId
     and clientMsgNo the frame carried (send frames carry the latter), and it can travel
     as UTF-8 (a non-empty message; nothing echoed from a frame that is not JSON);
  2. no table changed (courier.snapshot() before == after);
  3. the handler returned 200 (an exception would propagate out of the harness);
  4. no connection got anything, except that the one-way `ack` and `typing` routes POST
     their error to the asking connection (exactly one frame, nothing to anyone else).
"""

from __future__ import annotations

import base64
import copy
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from courier.frames import loads
from local.handlers import load_handler
from local.samples import load_event, websocket_event
from tests.harness import JWT_SECRET, ROUTE_FUNCTIONS, ROUTE_SAMPLES, Conn, Courier
from tests.world import DM, TEAM, World, make_world, strict_parse

INVALID = "invalid"
UNKNOWN_ACTION = "unknown_action"
FORBIDDEN = "forbidden"
TOO_LARGE = "too_large"
ROUTES = [*ROUTE_FUNCTIONS, "$default"]  # every route, the new ones included
ONE_WAY = {"ack", "typing"}  # no direct reply: a refusal is posted to the asking connection
REQUEST_ID = "req-42"
MAX_BODY = 16 * 1024
LONE = "\ud800"  # a lone surrogate: json.dumps writes it as the JSON text "\ud800"


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def world(courier: Courier) -> World:
    return make_world(courier)


def route_of(text: str) -> str:
    """The route API Gateway picks ($request.body.action); $default when there is none."""
    try:
        action = json.loads(text).get("action")
    except (ValueError, AttributeError, RecursionError):
        return "$default"
    return action if isinstance(action, str) and action in ROUTE_FUNCTIONS else "$default"


def is_text(value: Any, low: int, high: int) -> bool:
    if not isinstance(value, str) or not low <= len(value) <= high:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def expected_echo(text: str) -> dict[str, str]:
    """What the error frame echoes of the frame it answers: a valid requestId (a string of at
    most 64 chars) and a valid clientMsgNo (1-64 chars; send frames carry one, and a frame that
    carries one on another route, like "Send", gets it back as well)."""
    frame = strict_parse(text)
    echo: dict[str, str] = {}
    if isinstance(frame, dict):
        if is_text(frame.get("requestId"), 0, 64):
            echo["requestId"] = frame["requestId"]
        if is_text(frame.get("clientMsgNo"), 1, 64):
            echo["clientMsgNo"] = frame["clientMsgNo"]
    return echo


def frames_now(courier: Courier) -> dict[str, list[dict[str, Any]]]:
    return copy.deepcopy({cid: list(frames) for cid, frames in courier.connections.frames.items()})


def call(courier: Courier, route: str, event: dict[str, Any]) -> dict[str, Any]:
    event["requestContext"]["routeKey"] = route
    result: dict[str, Any] = load_handler(ROUTE_FUNCTIONS.get(route, "default"))(
        event, courier.context
    )
    return result


def ws_event(conn: Conn, route: str, text: str) -> dict[str, Any]:
    return websocket_event(
        ROUTE_SAMPLES.get(route, "default-ping"),
        raw_body=text,
        connection_id=conn.connection_id,
        user=conn.user,
        device=conn.device,
    )


def assert_refused(
    courier: Courier, conn: Conn, route: str, event: dict[str, Any], *, code: str, text: str
) -> dict[str, Any]:
    """Deliver `event` (whose frame is `text`) on `route`; check the four points above."""
    state, posted = courier.snapshot(), frames_now(courier)

    result = call(courier, route, event)

    assert result["statusCode"] == 200, result
    if route in ONE_WAY:
        assert "body" not in result, result
        got = courier.posted(conn)[len(posted.get(conn.connection_id, [])) :]
        assert len(got) == 1, got
        reply = got[0]
        posted.setdefault(conn.connection_id, []).append(reply)
    else:
        reply_text = result["body"]
        reply_text.encode("utf-8")  # the reply must be able to travel as a text frame
        reply = loads(reply_text)
    assert reply == {
        "type": "error",
        "code": code,
        "message": reply.get("message"),
        **expected_echo(text),
    }
    assert isinstance(reply["message"], str) and reply["message"].strip(), reply
    assert frames_now(courier) == posted, "a refused frame posted something"
    assert courier.snapshot() == state, "a refused frame changed state"
    return reply


# --- WebSocket frames: one table ---------------------------------------------------------

NESTED_LISTS = "[" * 100_000 + "]" * 100_000
NESTED_OBJECTS = '{"a":' * 100_000 + "1" + "}" * 100_000
SEND = {"action": "send", "channel": DM, "clientMsgNo": "new-1", "body": {"text": "hi"}}
ACK = {"action": "ack", "channel": DM, "seq": 2}
READ = {"action": "read", "channel": DM, "seq": 2}
RECEIPTS = {"action": "receipts", "channel": DM, "seq": 2}
TYPING = {"action": "typing", "channel": DM}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def frame_case(
    case_id: str,
    frame: Any,
    code: str = INVALID,
    *,
    by: str = "alice",
    with_request_id: bool = True,
) -> Any:
    """A JSON frame, delivered on the route API Gateway would pick. Unless it names its own,
    a dict frame carries a valid requestId, so every case also checks the echo."""
    if with_request_id and isinstance(frame, dict) and "requestId" not in frame:
        frame = {**frame, "requestId": REQUEST_ID}
    text = json.dumps(frame)
    return pytest.param(by, route_of(text), text, code, id=case_id)


def raw_case(case_id: str, text: str, code: str = INVALID, *, route: str, by: str = "alice") -> Any:
    """Frame text as sent, on a given route (handlers must not trust the router)."""
    return pytest.param(by, route, text, code, id=f"{case_id}@{route}")


MALFORMED = {
    "truncated-object": "{",
    "array": "[1,2]",
    "null": "null",
    "string": '"text"',
    "number": "1",
    "empty": "",
    "whitespace": "  ",
    "nan-in-body": '{"action":"send","channel":"dm:alice:bob","clientMsgNo":"x","body":NaN}',
    "infinity-limit": '{"action":"sync","limit":Infinity,"requestId":"r"}',
    "trailing-garbage": '{"action":"ping"} x',
    "byte-order-mark": '\ufeff{"action":"ping"}',
    "single-quotes": "{'action':'ping'}",
    "nested-lists-100000": NESTED_LISTS,
    "nested-objects-100000": NESTED_OBJECTS,
    "nested-body-100000": '{"action":"send","channel":"dm:alice:bob","clientMsgNo":"deep","body":'
    + NESTED_LISTS
    + "}",
}

CASES = [
    # Malformed JSON, on every route.
    *[raw_case(name, text, route=route) for name, text in MALFORMED.items() for route in ROUTES],
    # Lone surrogates as JSON text: decodable, but no UTF-8 string.
    raw_case(
        "lone-surrogate-clientMsgNo",
        r'{"action":"send","channel":"dm:alice:bob","clientMsgNo":"\ud800","body":1}',
        route="send",
    ),
    raw_case(
        "lone-surrogate-body",
        r'{"action":"send","channel":"dm:alice:bob","clientMsgNo":"s1","body":"\ud800"}',
        route="send",
    ),
    # The action itself.
    frame_case("action-missing", {}),
    frame_case("action-missing-with-fields", {"channel": DM, "seq": 1}),
    frame_case("action-int", {"action": 5}),
    frame_case("action-null", {"action": None}),
    frame_case("action-list", {"action": ["send"]}),
    frame_case("action-object", {"action": {"name": "send"}}),
    frame_case("action-true", {"action": True}),
    frame_case("action-dance", {"action": "dance"}, UNKNOWN_ACTION),
    frame_case("action-Send-case", {**SEND, "action": "Send"}, UNKNOWN_ACTION),
    frame_case("action-empty-string", {"action": ""}, UNKNOWN_ACTION),
    frame_case("action-lone-surrogate", {"action": LONE}, UNKNOWN_ACTION),
    frame_case("action-10k-chars", {"action": "x" * 10_000}, UNKNOWN_ACTION),
    # requestId: a string of at most 64 characters, on every route.
    frame_case("send-requestId-65-chars", {**SEND, "requestId": "r" * 65}),
    frame_case("send-requestId-int", {**SEND, "requestId": 7}),
    frame_case("send-requestId-list", {**SEND, "requestId": ["r"]}),
    frame_case("send-requestId-lone-surrogate", {**SEND, "requestId": LONE}),
    frame_case("ack-requestId-65-chars", {**ACK, "requestId": "r" * 65}),
    frame_case("read-requestId-int", {**READ, "requestId": 7}),
    frame_case("sync-requestId-object", {"action": "sync", "requestId": {"id": 1}}),
    frame_case("ping-requestId-65-chars", {"action": "ping", "requestId": "r" * 65}),
    frame_case(
        "send-64-char-requestId-is-echoed", {**SEND, "channel": "x:y", "requestId": "r" * 64}
    ),
    # send: channel.
    frame_case("send-channel-missing", {k: v for k, v in SEND.items() if k != "channel"}),
    frame_case("send-channel-int", {**SEND, "channel": 5}),
    frame_case("send-channel-list", {**SEND, "channel": [DM]}),
    frame_case("send-channel-null", {**SEND, "channel": None}),
    frame_case("send-channel-empty", {**SEND, "channel": ""}),
    frame_case("send-channel-dm-wrong-order", {**SEND, "channel": "dm:bob:alice"}),
    frame_case("send-channel-dm-self", {**SEND, "channel": "dm:alice:alice"}),
    frame_case("send-channel-dm-one-user", {**SEND, "channel": "dm:alice"}),
    frame_case("send-channel-dm-empty-user", {**SEND, "channel": "dm::bob"}),
    frame_case("send-channel-dm-three-users", {**SEND, "channel": "dm:alice:bob:carol"}),
    frame_case("send-channel-DM-upper", {**SEND, "channel": "DM:alice:bob"}),
    frame_case("send-channel-unknown-kind", {**SEND, "channel": "x:y"}),
    frame_case("send-channel-g-empty", {**SEND, "channel": "g:"}),
    frame_case("send-channel-g-slash", {**SEND, "channel": "g:bad/name"}),
    frame_case("send-channel-g-newline", {**SEND, "channel": "g:team\n"}),
    frame_case("send-channel-g-65-chars", {**SEND, "channel": "g:" + "a" * 65}),
    frame_case("send-channel-dm-65-char-user", {**SEND, "channel": "dm:" + "a" * 65 + ":bob"}),
    frame_case("send-channel-lone-surrogate", {**SEND, "channel": "g:" + LONE}),
    # send: clientMsgNo.
    frame_case("send-clientMsgNo-missing", {k: v for k, v in SEND.items() if k != "clientMsgNo"}),
    frame_case("send-clientMsgNo-empty", {**SEND, "clientMsgNo": ""}),
    frame_case("send-clientMsgNo-65-chars", {**SEND, "clientMsgNo": "c" * 65}),
    frame_case("send-clientMsgNo-int", {**SEND, "clientMsgNo": 5}),
    frame_case("send-clientMsgNo-null", {**SEND, "clientMsgNo": None}),
    frame_case("send-clientMsgNo-lone-surrogate", {**SEND, "clientMsgNo": LONE}),
    frame_case(
        "send-64-char-clientMsgNo-is-echoed", {**SEND, "channel": "g:", "clientMsgNo": "c" * 64}
    ),
    # send: body.
    frame_case("send-body-missing", {k: v for k, v in SEND.items() if k != "body"}),
    frame_case("send-body-lone-surrogate", {**SEND, "body": {"text": "a" + LONE}}),
    frame_case("send-body-lone-surrogate-key", {**SEND, "body": {LONE: 1}}),
    frame_case(
        "send-body-16385-bytes", {**SEND, "body": {"text": "x" * (MAX_BODY - 10)}}, TOO_LARGE
    ),
    frame_case("send-body-16386-bytes-8194-chars", {**SEND, "body": "é" * 8192}, TOO_LARGE),
    frame_case("send-body-1-MiB", {**SEND, "body": ["x" * 1024] * 1024}, TOO_LARGE),
    frame_case(
        "send-body-too-large-without-requestId",
        {**SEND, "body": "x" * 20_000},
        TOO_LARGE,
        with_request_id=False,
    ),
    # send: not yours.
    frame_case("send-others-dm", {**SEND, "channel": "dm:bob:carol"}, FORBIDDEN),
    frame_case("send-dm-of-alice-and-bob-by-carol", SEND, FORBIDDEN, by="carol"),
    frame_case("send-group-not-member", {**SEND, "channel": TEAM}, FORBIDDEN, by="carol"),
    frame_case("send-group-nonexistent", {**SEND, "channel": "g:nobody"}, FORBIDDEN),
    # ack, read and receipts: seq and channel.
    *[
        case
        for name, base in (("ack", ACK), ("read", READ), ("receipts", RECEIPTS))
        for case in (
            frame_case(f"{name}-seq-missing", {k: v for k, v in base.items() if k != "seq"}),
            frame_case(f"{name}-seq-negative", {**base, "seq": -1}),
            frame_case(f"{name}-seq-float", {**base, "seq": 1.0}),
            frame_case(f"{name}-seq-bool", {**base, "seq": True}),
            frame_case(f"{name}-seq-string", {**base, "seq": "1"}),
            frame_case(f"{name}-seq-null", {**base, "seq": None}),
            frame_case(
                f"{name}-channel-missing", {k: v for k, v in base.items() if k != "channel"}
            ),
            frame_case(f"{name}-channel-int", {**base, "channel": 5}),
            frame_case(f"{name}-channel-wrong-order", {**base, "channel": "dm:bob:alice"}),
            frame_case(f"{name}-channel-g-slash", {**base, "channel": "g:bad/name"}),
            frame_case(f"{name}-others-dm", {**base, "channel": "dm:bob:carol"}, FORBIDDEN),
            frame_case(f"{name}-dm-by-outsider", base, FORBIDDEN, by="carol"),
            frame_case(
                f"{name}-group-not-member",
                {**base, "channel": TEAM, "seq": 1},
                FORBIDDEN,
                by="carol",
            ),
            frame_case(f"{name}-group-nonexistent", {**base, "channel": "g:nobody"}, FORBIDDEN),
        )
    ],
    # receipts: a seq of a message of the channel (1 to lastSeq; the DM's is 2).
    frame_case("receipts-seq-0", {**RECEIPTS, "seq": 0}),
    frame_case("receipts-seq-above-lastSeq", {**RECEIPTS, "seq": 3}),
    frame_case("receipts-seq-2**63", {**RECEIPTS, "seq": 2**63}),
    frame_case("receipts-group-seq-above-lastSeq", {**RECEIPTS, "channel": TEAM, "seq": 2}),
    # typing: a channel the caller belongs to (no seq, no reply).
    frame_case("typing-channel-missing", {"action": "typing"}),
    frame_case("typing-channel-int", {**TYPING, "channel": 5}),
    frame_case("typing-channel-null", {**TYPING, "channel": None}),
    frame_case("typing-channel-list", {**TYPING, "channel": [DM]}),
    frame_case("typing-channel-empty", {**TYPING, "channel": ""}),
    frame_case("typing-channel-wrong-order", {**TYPING, "channel": "dm:bob:alice"}),
    frame_case("typing-channel-dm-self", {**TYPING, "channel": "dm:alice:alice"}),
    frame_case("typing-channel-g-slash", {**TYPING, "channel": "g:bad/name"}),
    frame_case("typing-channel-10k-chars", {**TYPING, "channel": "g:" + "a" * 10_000}),
    frame_case("typing-channel-lone-surrogate", {**TYPING, "channel": "g:" + LONE}),
    frame_case("typing-requestId-65-chars", {**TYPING, "requestId": "r" * 65}),
    frame_case("typing-others-dm", {**TYPING, "channel": "dm:bob:carol"}, FORBIDDEN),
    frame_case("typing-dm-by-outsider", TYPING, FORBIDDEN, by="carol"),
    frame_case("typing-group-not-member", {**TYPING, "channel": TEAM}, FORBIDDEN, by="carol"),
    frame_case("typing-group-nonexistent", {**TYPING, "channel": "g:nobody"}, FORBIDDEN),
    # sync: the conversation list.
    frame_case("sync-limit-0", {"action": "sync", "limit": 0}),
    frame_case("sync-limit-negative", {"action": "sync", "limit": -1}),
    frame_case("sync-limit-string", {"action": "sync", "limit": "10"}),
    frame_case("sync-limit-bool", {"action": "sync", "limit": True}),
    frame_case("sync-limit-float", {"action": "sync", "limit": 10.0}),
    frame_case("sync-cursor-int", {"action": "sync", "cursor": 5}),
    frame_case("sync-cursor-list", {"action": "sync", "cursor": ["x"]}),
    frame_case("sync-cursor-garbage", {"action": "sync", "cursor": "garbage!!"}),
    frame_case("sync-cursor-b64-not-json", {"action": "sync", "cursor": b64(b"not json")}),
    frame_case("sync-cursor-b64-not-utf8", {"action": "sync", "cursor": b64(b"\xff\xfe\xfd")}),
    frame_case("sync-cursor-b64-object", {"action": "sync", "cursor": b64(b'{"a":1,"b":2}')}),
    frame_case("sync-cursor-b64-three-items", {"action": "sync", "cursor": b64(b"[1,2,3]")}),
    frame_case("sync-cursor-b64-number", {"action": "sync", "cursor": b64(b"123")}),
    frame_case("sync-cursor-b64-wrong-types", {"action": "sync", "cursor": b64(b'["x",1]')}),
    frame_case("sync-cursor-b64-nan", {"action": "sync", "cursor": b64(b'[NaN,"dm:alice:bob"]')}),
    frame_case(
        "sync-cursor-b64-deeply-nested",
        {"action": "sync", "cursor": b64(b"[" * 5000 + b"]" * 5000)},
    ),
    frame_case("sync-cursor-lone-surrogate", {"action": "sync", "cursor": LONE}),
    # sync: the messages of one channel.
    frame_case("sync-channel-limit-0", {"action": "sync", "channel": DM, "limit": 0}),
    frame_case("sync-channel-limit-string", {"action": "sync", "channel": DM, "limit": "10"}),
    frame_case("sync-afterSeq-negative", {"action": "sync", "channel": DM, "afterSeq": -1}),
    frame_case("sync-afterSeq-string", {"action": "sync", "channel": DM, "afterSeq": "0"}),
    frame_case("sync-afterSeq-bool", {"action": "sync", "channel": DM, "afterSeq": True}),
    frame_case("sync-afterSeq-float", {"action": "sync", "channel": DM, "afterSeq": 0.0}),
    frame_case("sync-channel-int", {"action": "sync", "channel": 5}),
    frame_case("sync-channel-empty", {"action": "sync", "channel": ""}),
    frame_case("sync-channel-wrong-order", {"action": "sync", "channel": "dm:bob:alice"}),
    frame_case("sync-others-dm", {"action": "sync", "channel": "dm:bob:carol"}, FORBIDDEN),
    frame_case("sync-dm-by-outsider", {"action": "sync", "channel": DM}, FORBIDDEN, by="carol"),
    frame_case("sync-group-not-member", {"action": "sync", "channel": TEAM}, FORBIDDEN, by="carol"),
    frame_case("sync-group-nonexistent", {"action": "sync", "channel": "g:nobody"}, FORBIDDEN),
    # presence: 1 to 100 distinct user ids (strangers are left out, never refused).
    frame_case("presence-users-missing", {"action": "presence"}),
    frame_case("presence-users-string", {"action": "presence", "users": "bob"}),
    frame_case("presence-users-object", {"action": "presence", "users": {"bob": 1}}),
    frame_case("presence-users-empty", {"action": "presence", "users": []}),
    frame_case(
        "presence-users-101", {"action": "presence", "users": [f"u{i}" for i in range(101)]}
    ),
    frame_case("presence-user-int", {"action": "presence", "users": ["bob", 1]}),
    frame_case("presence-user-slash", {"action": "presence", "users": ["bad/id"]}),
    frame_case("presence-user-65-chars", {"action": "presence", "users": ["b" * 65]}),
    frame_case("presence-user-lone-surrogate", {"action": "presence", "users": [LONE]}),
    frame_case("presence-user-twice", {"action": "presence", "users": ["bob", "carol", "bob"]}),
]


@pytest.mark.parametrize(("by", "route", "text", "code"), CASES)
def test_a_bad_frame_gets_the_error_frame_and_changes_nothing(
    world: World, by: str, route: str, text: str, code: str
) -> None:
    conn = world.conns[by]
    assert_refused(world.courier, conn, route, ws_event(conn, route, text), code=code, text=text)


# --- The frame arrives without a usable identity ------------------------------------------

VALID_FRAMES = {
    "send": {**SEND, "requestId": REQUEST_ID},
    "ack": {**ACK, "requestId": REQUEST_ID},
    "read": {**READ, "requestId": REQUEST_ID},
    "sync": {"action": "sync", "requestId": REQUEST_ID},
    "recall": {"action": "recall", "channel": DM, "seq": 1, "requestId": REQUEST_ID},
    "edit": {"action": "edit", "channel": DM, "seq": 1, "body": {}, "requestId": REQUEST_ID},
    "mute": {"action": "mute", "channel": DM, "muted": True, "requestId": REQUEST_ID},
    "receipts": {**RECEIPTS, "requestId": REQUEST_ID},
    "typing": {**TYPING, "requestId": REQUEST_ID},
    "presence": {"action": "presence", "users": ["bob"], "requestId": REQUEST_ID},
    "$default": {"action": "ping", "requestId": REQUEST_ID},
}
NO_IDENTITY: dict[str, Callable[[dict[str, Any]], None]] = {
    "authorizer-empty": lambda ctx: ctx.update(authorizer={}),
    "authorizer-absent": lambda ctx: ctx.pop("authorizer"),
    "authorizer-null": lambda ctx: ctx.update(authorizer=None),
    "userId-invalid": lambda ctx: ctx.update(
        authorizer={"principalId": "bad/user", "userId": "bad/user"}
    ),
    "deviceId-invalid": lambda ctx: ctx.update(
        authorizer={"userId": "alice", "deviceId": "bad/device"}
    ),
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("edit", NO_IDENTITY.values(), ids=NO_IDENTITY.keys())
def test_a_frame_without_authorizer_context_is_forbidden(
    world: World, route: str, edit: Callable[[dict[str, Any]], None]
) -> None:
    # Given alice's connection, but an event whose authorizer context names nobody valid
    conn = world.conns["alice"]
    text = json.dumps(VALID_FRAMES[route])
    event = ws_event(conn, route, text)
    edit(event["requestContext"])

    assert_refused(world.courier, conn, route, event, code=FORBIDDEN, text=text)


@pytest.mark.parametrize("route", ROUTES)
def test_a_binary_frame_is_invalid(world: World, route: str) -> None:
    conn = world.conns["alice"]
    text = json.dumps(VALID_FRAMES[route])
    event = ws_event(conn, route, base64.b64encode(text.encode()).decode())
    event["isBase64Encoded"] = True

    assert_refused(world.courier, conn, route, event, code=INVALID, text="")


# --- Unknown fields are ignored (docs/protocol.md), however large ------------------------

UNKNOWN_FIELDS = {"future": {"nested": [1, "x"]}, "users": ["carol"], "pad": "x" * 100_000}


def test_receipts_with_unknown_fields_is_answered_and_writes_nothing(world: World) -> None:
    courier, alice = world.courier, world.conns["alice"]
    state, posted = courier.snapshot(), frames_now(courier)

    reply = courier.frame(alice, {**RECEIPTS, "seq": 1, **UNKNOWN_FIELDS})

    # seq 1 is alice's; bob's cursor (2, by sending) is past it
    assert reply == {
        "type": "receipts",
        "channel": DM,
        "seq": 1,
        "count": 1,
        "members": 2,
        "readBy": ["bob"],
    }
    assert courier.snapshot() == state and frames_now(courier) == posted


def test_typing_with_unknown_fields_is_relayed_and_writes_only_typingAt(world: World) -> None:
    courier, alice, bob = world.courier, world.conns["alice"], world.conns["bob"]
    state, posted = courier.snapshot(), frames_now(courier)

    reply = courier.frame(alice, {**TYPING, "seq": "x", **UNKNOWN_FIELDS})

    assert reply is None
    assert courier.posted(bob)[len(posted[bob.connection_id]) :] == [
        {"type": "typing", "channel": DM, "user": "alice"}
    ]
    assert courier.posted(alice) == posted.get(alice.connection_id, [])
    after = courier.snapshot()

    def mine(row: dict[str, Any]) -> bool:
        return (row["userId"]["S"], row["channel"]["S"]) == ("alice", DM)

    [row] = [row for row in after["MembershipsTable"] if mine(row)]
    assert "typingAt" in row, row
    typing_cleared = [
        {k: v for k, v in row.items() if not (mine(row) and k == "typingAt")}
        for row in after["MembershipsTable"]
    ]
    assert sorted(typing_cleared, key=repr) == state["MembershipsTable"]
    assert {**after, "MembershipsTable": state["MembershipsTable"]} == state


# --- The 16 KiB boundary is inclusive -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"text": "x" * (MAX_BODY - len('{"text":""}'))}, id="ascii-object"),
        pytest.param({"text": "é" * 8186 + "x"}, id="two-byte-chars"),
        pytest.param("€" * 5460 + "xx", id="three-byte-string"),
    ],
)
def test_a_body_of_exactly_16_KiB_serialized_is_accepted(world: World, body: Any) -> None:
    compact = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert len(compact) == MAX_BODY  # the case is what it says
    courier, alice, bob = world.courier, world.conns["alice"], world.conns["bob"]

    ack = courier.send(alice, DM, "exactly-16k", body)

    assert ack["type"] == "sendack" and ack["seq"] == 3 and ack["duplicate"] is False, ack
    assert courier.posted(bob, "message")[-1]["body"] == body
    assert courier.all_messages(alice, DM)[-1]["body"] == body


# --- Deep nesting that the send route can still parse -------------------------------------


def test_a_deeply_nested_body_is_refused_or_stays_readable(world: World) -> None:
    """Whatever depth the server accepts, it must be able to serve back: a body that passes
    the send route's parser but not the (deeper) ones of sync would break the channel's
    history and every member's conversation list. Swept across the depths where Python's
    recursion limit bites; each one is either refused `invalid` or fully readable."""
    courier, alice, bob = world.courier, world.conns["alice"], world.conns["bob"]
    for depth in range(800, 1001, 2):
        nested = "[" * depth + "]" * depth
        raw = f'{{"action":"send","channel":"{DM}","clientMsgNo":"deep-{depth}","body":{nested}}}'

        reply = json.loads(courier.invoke("send", alice, raw=raw)["body"])

        if reply["type"] == "error":
            assert reply["code"] == INVALID, (depth, reply)
            continue
        assert reply["type"] == "sendack", (depth, reply)
        page = {"action": "sync", "channel": DM, "afterSeq": reply["seq"] - 1, "limit": 1}
        messages = json.loads(courier.invoke("sync", bob, frame=page)["body"])
        assert messages["type"] == "messages", (depth, messages)
        assert messages["messages"][0]["body"] == json.loads(nested)
        conversations = json.loads(courier.invoke("sync", bob, frame={"action": "sync"})["body"])
        assert conversations["type"] == "conversations", (depth, conversations)


def test_body_nesting_is_accepted_up_to_64_levels_and_refused_beyond(world: World) -> None:
    courier, alice, bob = world.courier, world.conns["alice"], world.conns["bob"]
    at_limit = {"a": [[{"b": 1}]]}
    for _ in range(60):
        at_limit = {"n": at_limit}  # 64 levels of arrays and objects in all
    too_deep = [at_limit]

    accepted = courier.send(alice, DM, "deep-ok", at_limit)
    before = courier.snapshot()
    refused = courier.frame(
        alice, {"action": "send", "channel": DM, "clientMsgNo": "deep-no", "body": too_deep}
    )

    assert accepted["type"] == "sendack"
    assert refused is not None and refused["code"] == INVALID
    assert courier.snapshot() == before
    assert courier.all_messages(bob, DM)[-1]["body"] == at_limit


# --- Authorizer ($connect) ----------------------------------------------------------------

OTHER_SECRET = "not-the-courier-secret-but-long-enough-for-hs256"


def sign(claims: dict[str, Any], secret: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():  # HS512 with a 42-byte key is the point of one case
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=algorithm)


def claims(now: int, **changes: Any) -> dict[str, Any]:
    """Good claims for alice's phone, with `changes` applied (None removes a claim)."""
    good = {"sub": "alice", "device": "phone", "iat": now, "exp": now + 3600}
    good.update(changes)
    return {k: v for k, v in good.items() if v is not None}


def tampered(now: int) -> str:
    """A valid token for alice whose payload now says bob, signature unchanged."""
    header, _, signature = sign(claims(now)).split(".")
    payload = b64(json.dumps(claims(now, sub="bob")).encode())
    return f"{header}.{payload}.{signature}"


def authorize(
    courier: Courier, query: dict[str, str] | None, sample: str = "authorizer-allow"
) -> dict[str, Any]:
    """The authorizer's decision for the sample $connect event with `query` as its query string."""
    event = load_event(sample)
    if sample == "authorizer-allow":
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = (
            {k: [v] for k, v in query.items()} if query else None
        )
    decision: dict[str, Any] = load_handler("authorizer")(event, courier.context)
    assert decision["policyDocument"]["Statement"][0]["Resource"] == event["methodArn"]
    return decision


def token(value: str) -> dict[str, str]:
    return {"token": value}


BAD_CONNECTS: dict[str, Callable[[int], dict[str, str] | None]] = {
    "wrong-secret": lambda now: token(sign(claims(now), OTHER_SECRET)),
    "tampered-payload": lambda now: token(tampered(now)),
    "expired": lambda now: token(sign(claims(now, iat=now - 7200, exp=now - 60))),
    "not-yet-valid": lambda now: token(sign(claims(now, nbf=now + 600))),
    "no-exp": lambda now: token(sign(claims(now, exp=None))),
    "exp-not-a-number": lambda now: token(sign(claims(now, exp="never"))),
    "no-query-string": lambda now: None,
    "no-token-param": lambda now: {"tok": sign(claims(now))},
    "empty-token": lambda now: token(""),
    "not-a-jwt": lambda now: token("garbage"),
    "three-junk-parts": lambda now: token("a.b.c"),
    "no-sub": lambda now: token(sign(claims(now, sub=None))),
    "sub-empty": lambda now: token(sign(claims(now, sub=""))),
    "sub-invalid": lambda now: token(sign(claims(now, sub="bad/user"))),
    "sub-65-chars": lambda now: token(sign(claims(now, sub="a" * 65))),
    "alg-none": lambda now: token(sign(claims(now), "", "none")),
    "alg-hs512-same-secret": lambda now: token(sign(claims(now), JWT_SECRET, "HS512")),
    "device-invalid": lambda now: token(sign(claims(now, device="bad/device"))),
    "device-empty": lambda now: token(sign(claims(now, device=""))),
    "device-int": lambda now: token(sign(claims(now, device=5))),
    # Found by test_fuzz.py: PyJWT's UTF-8 encoding of the token raised UnicodeEncodeError,
    # not a PyJWTError, and the authorizer failed instead of denying.
    "token-lone-surrogate": lambda now: token("\ud800"),
    "token-with-lone-surrogate": lambda now: token(sign(claims(now)) + "\udcff"),
}


def assert_denied(
    courier: Courier, query: dict[str, str] | None, sample: str = "authorizer-allow"
) -> None:
    state = courier.snapshot()

    decision = authorize(courier, query, sample)

    assert decision["policyDocument"]["Statement"][0]["Effect"] == "Deny", decision
    assert "userId" not in (decision.get("context") or {}), decision
    assert courier.snapshot() == state


@pytest.mark.parametrize("make_query", BAD_CONNECTS.values(), ids=BAD_CONNECTS.keys())
def test_a_bad_token_is_denied(
    courier: Courier, make_query: Callable[[int], dict[str, str] | None]
) -> None:
    assert_denied(courier, make_query(int(time.time())))


def test_the_forged_sample_event_is_denied(courier: Courier) -> None:
    assert_denied(courier, None, sample="authorizer-forged")


@pytest.mark.parametrize(
    ("device", "expected_device"),
    [("tablet", "tablet"), (None, "default")],
    ids=["device-claim", "no-device-claim"],
)
def test_a_valid_token_is_allowed_with_user_and_device(
    courier: Courier, device: str | None, expected_device: str
) -> None:
    query = token(sign(claims(int(time.time()), device=device)))

    decision = authorize(courier, query)

    assert decision["policyDocument"]["Statement"][0]["Effect"] == "Allow", decision
    assert decision["principalId"] == "alice"
    assert decision["context"] == {"userId": "alice", "deviceId": expected_device}


# --- Admin API ----------------------------------------------------------------------------

TOKENS, GROUPS, UNREAD = "admin-create-token", "admin-put-group", "admin-user-unread"
TOKEN_BODY = {"user": "alice", "device": "phone", "ttlSeconds": 3600}


def admin_case(
    case_id: str, sample: str, *, path: str | None = None, body: Any = None, raw: str | None = None
) -> Any:
    return pytest.param(sample, path, body, raw, id=case_id)


ADMIN_CASES = [
    # Tokens.
    admin_case("tokens-truncated-json", TOKENS, raw="{"),
    admin_case("tokens-empty-body", TOKENS, raw=""),
    admin_case("tokens-array-body", TOKENS, raw="[1]"),
    admin_case("tokens-null-body", TOKENS, raw="null"),
    admin_case("tokens-nan", TOKENS, raw='{"user":"alice","ttlSeconds":NaN}'),
    admin_case("tokens-nested-100000", TOKENS, raw=NESTED_LISTS),
    admin_case("tokens-user-missing", TOKENS, body={"device": "phone"}),
    admin_case("tokens-user-invalid", TOKENS, body={**TOKEN_BODY, "user": "bad/user"}),
    admin_case("tokens-user-int", TOKENS, body={**TOKEN_BODY, "user": 5}),
    admin_case("tokens-user-65-chars", TOKENS, body={**TOKEN_BODY, "user": "a" * 65}),
    admin_case("tokens-device-invalid", TOKENS, body={**TOKEN_BODY, "device": "bad device"}),
    admin_case("tokens-device-empty", TOKENS, body={**TOKEN_BODY, "device": ""}),
    admin_case("tokens-device-int", TOKENS, body={**TOKEN_BODY, "device": 5}),
    admin_case("tokens-ttl-0", TOKENS, body={**TOKEN_BODY, "ttlSeconds": 0}),
    admin_case("tokens-ttl-negative", TOKENS, body={**TOKEN_BODY, "ttlSeconds": -60}),
    admin_case("tokens-ttl-string", TOKENS, body={**TOKEN_BODY, "ttlSeconds": "60"}),
    admin_case("tokens-ttl-float", TOKENS, body={**TOKEN_BODY, "ttlSeconds": 60.5}),
    admin_case("tokens-ttl-bool", TOKENS, body={**TOKEN_BODY, "ttlSeconds": True}),
    admin_case("tokens-ttl-huge", TOKENS, body={**TOKEN_BODY, "ttlSeconds": 10**12}),
    # Groups (the path names g:team, so a wrongly accepted call would change its members).
    admin_case("groups-truncated-json", GROUPS, path="/admin/groups/team", raw="{"),
    admin_case("groups-empty-body", GROUPS, path="/admin/groups/team", raw=""),
    admin_case("groups-string-body", GROUPS, path="/admin/groups/team", raw='"alice"'),
    admin_case(
        "groups-members-missing", GROUPS, path="/admin/groups/team", body={"users": ["alice"]}
    ),
    admin_case("groups-members-null", GROUPS, path="/admin/groups/team", body={"members": None}),
    admin_case(
        "groups-members-string", GROUPS, path="/admin/groups/team", body={"members": "alice"}
    ),
    admin_case(
        "groups-members-object",
        GROUPS,
        path="/admin/groups/team",
        body={"members": {"alice": True}},
    ),
    admin_case(
        "groups-member-invalid",
        GROUPS,
        path="/admin/groups/team",
        body={"members": ["alice", "bad/user"]},
    ),
    admin_case(
        "groups-member-int", GROUPS, path="/admin/groups/team", body={"members": ["alice", 5]}
    ),
    admin_case("groups-member-empty", GROUPS, path="/admin/groups/team", body={"members": [""]}),
    admin_case("groups-member-null", GROUPS, path="/admin/groups/team", body={"members": [None]}),
    admin_case(
        "groups-over-10000-members",
        GROUPS,
        path="/admin/groups/team",
        body={"members": [f"u{i}" for i in range(10_001)]},
    ),
    admin_case(
        "groups-name-bang", GROUPS, path="/admin/groups/bad!name", body={"members": ["alice"]}
    ),
    admin_case(
        "groups-name-colon", GROUPS, path="/admin/groups/g:team", body={"members": ["alice"]}
    ),
    admin_case(
        "groups-name-percent", GROUPS, path="/admin/groups/bad%2Fname", body={"members": ["alice"]}
    ),
    admin_case(
        "groups-name-non-ascii", GROUPS, path="/admin/groups/t\u00e9am", body={"members": ["alice"]}
    ),
    admin_case(
        "groups-name-65-chars",
        GROUPS,
        path="/admin/groups/" + "a" * 65,
        body={"members": ["alice"]},
    ),
    # Unread.
    admin_case("unread-user-bang", UNREAD, path="/admin/users/bad!user/unread"),
    admin_case("unread-user-percent", UNREAD, path="/admin/users/bad%2Fuser/unread"),
    admin_case("unread-user-non-ascii", UNREAD, path="/admin/users/\u00e1lice/unread"),
    admin_case("unread-user-65-chars", UNREAD, path="/admin/users/" + "a" * 65 + "/unread"),
]


def assert_admin_refused(world: World, call_admin: Callable[[], tuple[int, Any]]) -> None:
    state, posted = world.courier.snapshot(), frames_now(world.courier)

    status, reply = call_admin()

    assert status == 400, (status, reply)
    assert reply == {"error": "invalid", "message": reply.get("message")}, reply
    assert isinstance(reply["message"], str) and reply["message"].strip(), reply
    assert world.courier.snapshot() == state
    assert frames_now(world.courier) == posted


@pytest.mark.parametrize(("sample", "path", "body", "raw"), ADMIN_CASES)
def test_bad_admin_input_gets_400_invalid_and_changes_nothing(
    world: World, sample: str, path: str | None, body: Any, raw: str | None
) -> None:
    assert_admin_refused(world, lambda: world.courier.admin(sample, path=path, body=body, raw=raw))


@pytest.mark.parametrize(
    ("sample", "path"), [(TOKENS, None), (GROUPS, "/admin/groups/team")], ids=["tokens", "groups"]
)
def test_an_admin_call_without_a_body_gets_400_invalid(
    world: World, sample: str, path: str | None
) -> None:
    event = load_event(sample)
    event.pop("body")
    if path is not None:
        event["rawPath"] = event["requestContext"]["http"]["path"] = path

    def call_admin() -> tuple[int, Any]:
        result = load_handler("admin")(event, world.courier.context)
        return result["statusCode"], loads(result["body"]) if result.get("body") else None

    assert_admin_refused(world, call_admin)
