"""The local gateway behaves as API Gateway does: every sample in events/ has the shape of
the event the emulator hands that function, and its routing, quotas, timeouts, errors
and @connections API are AWS's."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.exceptions import ClientError

from courier.fanout import FanoutJob
from courier.history import StoredMessage
from courier.jobs import Job, SqsJobQueue
from courier.notify import NotifyJob
from local.gateway import Gateway
from local.quotas import Timeouts
from local.samples import EVENTS_DIR, load_event
from local.server import ServerThread
from tests.integration.raw_websocket import CLOSE, TEXT, RawWebSocket
from tests.integration.wire import (
    FRAME_TIMEOUT,
    closed,
    frame,
    put_group,
    run,
    server_unread,
    token,
    ws_url,
)

Event = dict[str, Any]
SAMPLES = sorted(p.stem for p in EVENTS_DIR.glob("*.json"))
# Maps whose keys are the client's own request headers: only their values' types count.
CLIENT_HEADERS = frozenset({"headers", "multiValueHeaders"})


class Recorder:
    """Stands in for the stack's invoker, keeping a copy of every event it hands on;
    `fail` names functions that raise instead of running (a crash or timeout)."""

    def __init__(self, invoke: Callable[[str, Event], Any]) -> None:
        self._invoke = invoke
        self.calls: list[tuple[str, Event]] = []
        self.fail: set[str] = set()

    async def __call__(self, function: str, event: Event) -> Any:
        self.calls.append((function, copy.deepcopy(event)))
        if function in self.fail:
            raise RuntimeError(f"{function} failed (injected)")
        return await self._invoke(function, event)

    def events(self, function: str) -> list[Event]:
        return [event for name, event in self.calls if name == function]

    async def wait(self, function: str, wanted: Callable[[Event], bool] = bool) -> Event:
        """The first event handed to `function` that is `wanted`, once it has been."""
        async with asyncio.timeout(FRAME_TIMEOUT * 2):
            while True:
                found = [event for event in self.events(function) if wanted(event)]
                if found:
                    return found[0]
                await asyncio.sleep(0.05)


@contextlib.contextmanager
def recording(stack: ServerThread) -> Iterator[Recorder]:
    gateway = stack.server.gateway
    assert gateway is not None
    recorder = Recorder(gateway.invoke)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gateway, "invoke", recorder)
        for poller in [*stack.server.pollers, *stack.server.stream_pollers]:
            patch.setattr(poller, "invoke", recorder)
        yield recorder


@pytest.fixture
def recorder(stack: ServerThread) -> Iterator[Recorder]:
    with recording(stack) as recorder:
        yield recorder


@pytest.fixture
def gateway(stack: ServerThread) -> Gateway:
    assert stack.server.gateway is not None
    return stack.server.gateway


def body(event: Event) -> Any:
    return json.loads(event["body"])


def records(event: Event) -> list[Any]:
    return [json.loads(record["body"]) for record in event["Records"]]


def user_of(event: Event) -> str:
    return str(event["requestContext"]["authorizer"]["userId"])


async def connection_of(gateway: Gateway, user: str) -> str:
    """The id of the user's one live connection (registered just after the handshake's 101)."""
    async with asyncio.timeout(FRAME_TIMEOUT):
        while True:
            found = [
                cid
                for cid, c in list(gateway.connections.items())
                if c.client.authorizer.get("userId") == user
            ]
            if found:
                [connection_id] = found
                return connection_id
            await asyncio.sleep(0.01)


# ---------------------------------------------------------------- event shapes


def _distinct(shapes: Iterable[Any]) -> list[Any]:
    return [json.loads(s) for s in sorted({json.dumps(s, sort_keys=True) for s in shapes})]


def shape(value: Any, free_form: frozenset[str] = frozenset(), key: str = "") -> Any:
    """Keys and value types, recursively; values themselves are left out. The maps named
    in `free_form` keep only the types of their values."""
    if isinstance(value, dict):
        if key in free_form:
            return {"*": _distinct(shape(item) for item in value.values())}
        return {k: shape(item, free_form, k) for k, item in value.items()}
    if isinstance(value, list):
        return [_distinct(shape(item, free_form) for item in value)]
    return type(value).__name__


def comparable(name: str, event: Event) -> Any:
    """The shape to compare: SQS bodies (the workers' jobs) are compared parsed; handshake
    and admin events carry the client's own headers."""
    event = copy.deepcopy(event)
    for record in event.get("Records", []):
        if "body" in record:  # an SQS record (a stream record has none)
            record["body"] = json.loads(record["body"])
    from_client = name.split("-", maxsplit=1)[0] in {"authorizer", "connect", "admin"}
    return shape(event, CLIENT_HEADERS if from_client else frozenset())


async def capture(
    session: aiohttp.ClientSession, stack: ServerThread, recorder: Recorder
) -> dict[str, Event]:
    """Drive every function once through the emulator; the event each got, by sample name."""
    url = stack.server.url
    gateway = stack.server.gateway
    assert gateway is not None
    alice_jwt = await token(session, url, "fid.alice")
    bob_jwt = await token(session, url, "fid.bob")
    forged = load_event("authorizer-forged")["queryStringParameters"]["token"]
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await session.ws_connect(ws_url(url, forged))
    await put_group(session, url, "fid.team", ["fid.alice", "fid.bob"])
    await server_unread(session, url, "fid.bob")
    dm = "dm:fid.alice:fid.bob"
    async with (
        session.ws_connect(ws_url(url, alice_jwt)) as alice,
        session.ws_connect(ws_url(url, bob_jwt)) as bob,
    ):
        send = {"action": "send", "clientMsgNo": "fid-1", "body": {"text": "hi"}}
        await alice.send_json({**send, "channel": dm, "requestId": "r-1"})
        await frame(alice, "sendack")
        await alice.send_json({**send, "channel": "g:fid.team", "clientMsgNo": "fid-2"})
        group_ack = await frame(alice, "sendack")
        message = StoredMessage(
            channel="g:fid.team",
            seq=group_ack["seq"],
            message_id=group_ack["messageId"],
            sender="fid.alice",
            client_msg_no="fid-2",
            body_json='{"text":"hi"}',
            ts=group_ack["ts"],
        )
        plan = FanoutJob(message, await connection_of(gateway, "fid.alice")).job()
        notify = Job(NotifyJob("fid.bob", dm, 1).body())
        jobs = SqsJobQueue(stack.server.stack.client("sqs"))
        jobs.send(stack.server.stack.queues["FanoutQueue"], [plan])
        jobs.send(stack.server.stack.queues["NotifyQueue"], [notify])
        await alice.send_json({**send, "channel": dm, "clientMsgNo": "fid-3"})
        await frame(alice, "sendack")
        await alice.send_json({"action": "edit", "channel": dm, "seq": 2, "body": {"t": 1}})
        await frame(alice, "edit")
        await alice.send_json({"action": "recall", "channel": dm, "seq": 2})
        await frame(alice, "recall")
        async with session.delete(f"{url}/admin/channels/{dm}/messages/2") as reply:
            assert reply.status == 200, await reply.text()
        for action in [
            {"action": "mute", "channel": dm, "muted": True},
            {"action": "read", "channel": dm, "seq": 1, "requestId": "r-2"},
            {"action": "sync", "channel": dm, "afterSeq": 0, "limit": 50},
            {"action": "sync", "limit": 50, "cursor": None},
            {"action": "ping"},
            {"action": "dance"},
            {"action": "receipts", "channel": dm, "seq": 1},
            {"action": "typing", "channel": dm},
            {"action": "presence", "users": ["fid.alice"]},
        ]:
            await bob.send_json(action)
        await recorder.wait("retry_worker", lambda e: "chain" in records(e)[0])
        await bob.send_json({"action": "ack", "channel": dm, "seq": 1})
        await recorder.wait("ack")
    await recorder.wait("disconnect", lambda e: user_of(e) == "fid.alice")
    await recorder.wait("fanout_worker", lambda e: "users" in records(e)[0])
    await recorder.wait("notifier")
    await recorder.wait("delivery_worker")

    def first(function: str, wanted: Callable[[Event], bool]) -> Event:
        return next(e for e in recorder.events(function) if wanted(e))

    def dm_record() -> Event:
        """The stream event of the DM's first message, alone: the poller may batch it with
        others (this scenario's, or a message of another test sharing the stack, which
        may carry other attributes, e.g. mentions)."""
        for event in recorder.events("delivery_worker"):
            for record in event["Records"]:
                if record["dynamodb"]["Keys"]["channel"]["S"] == dm:
                    return {**event, "Records": [record]}
        raise AssertionError("no stream record of the DM's message")

    def token_of(event: Event) -> str:
        return str(event["queryStringParameters"]["token"])

    return {
        "authorizer-allow": first("authorizer", lambda e: token_of(e) == alice_jwt),
        "authorizer-forged": first("authorizer", lambda e: token_of(e) == forged),
        "connect": first("connect", bool),
        "disconnect": first("disconnect", lambda e: user_of(e) == "fid.alice"),
        "send-dm": first("send", lambda e: body(e)["channel"] == dm),
        "send-group": first("send", lambda e: body(e)["channel"] == "g:fid.team"),
        "ack": first("ack", bool),
        "read": first("read", bool),
        "sync-messages": first("sync", lambda e: "channel" in body(e)),
        "sync-conversations": first("sync", lambda e: "channel" not in body(e)),
        "default-ping": first("default", lambda e: body(e)["action"] == "ping"),
        "default-unknown": first("default", lambda e: body(e)["action"] == "dance"),
        "retry_worker-probe": first("retry_worker", lambda e: "chain" not in records(e)[0]),
        "retry_worker-follow-up": first("retry_worker", lambda e: "chain" in records(e)[0]),
        "fanout_worker-plan": first("fanout_worker", lambda e: "users" not in records(e)[0]),
        "fanout_worker-chunk": first("fanout_worker", lambda e: "users" in records(e)[0]),
        "notifier-offline": first("notifier", bool),
        "delivery_worker-insert": dm_record(),
        "admin-create-token": first("admin", lambda e: e["routeKey"] == "POST /admin/tokens"),
        "admin-put-group": first("admin", lambda e: e["routeKey"].startswith("PUT")),
        "admin-user-unread": first("admin", lambda e: e["routeKey"].startswith("GET")),
        "admin-recall-message": first("admin", lambda e: e["routeKey"].startswith("DELETE")),
        "edit": first("edit", bool),
        "recall": first("recall", bool),
        "mute": first("mute", bool),
        "receipts": first("receipts", bool),
        "typing": first("typing", bool),
        "presence": first("presence", bool),
    }


@pytest.fixture(scope="module")
def captured(stack: ServerThread) -> dict[str, Event]:
    events: dict[str, Event] = {}

    async def scenario(session: aiohttp.ClientSession) -> None:
        with recording(stack) as recorder:
            events.update(await capture(session, stack, recorder))

    run(scenario)
    return events


def test_every_sample_is_captured_from_the_emulator(captured: dict[str, Event]) -> None:
    assert sorted(captured) == SAMPLES


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_has_the_shape_of_the_emulators_event(name: str, captured: dict[str, Event]) -> None:
    assert comparable(name, captured[name]) == comparable(name, load_event(name))


def test_websocket_events_carry_milliseconds_and_message_ids_where_aws_does(
    captured: dict[str, Event],
) -> None:
    for name in ("connect", "send-dm", "disconnect"):
        context = captured[name]["requestContext"]
        for field in ("connectedAt", "requestTimeEpoch"):
            assert 10**12 < context[field] < 10**13, (name, field)  # ms, not s
        assert ("messageId" in context) == (context["eventType"] == "MESSAGE")
    assert captured["disconnect"]["requestContext"]["disconnectStatusCode"] == 1000


# ---------------------------------------------------------------- handshake


def test_handshake_refusals_never_reach_connect(stack_url: str, recorder: Recorder) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        forged = load_event("authorizer-forged")["queryStringParameters"]["token"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as denied:
            await session.ws_connect(ws_url(stack_url, forged))
        assert denied.value.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as missing:
            await session.ws_connect(stack_url.replace("http://", "ws://") + "/")
        assert missing.value.status == 401
        assert len(recorder.events("authorizer")) == 1  # none for the missing token
        assert recorder.events("connect") == []

    run(scenario)


# ---------------------------------------------------------------- routing


def test_unknown_actions_and_non_json_frames_go_to_default(
    stack_url: str, recorder: Recorder
) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        jwt = await token(session, stack_url, "fid.r")
        async with session.ws_connect(ws_url(stack_url, jwt)) as ws:
            for text, code in [
                ('{"action":"dance"}', "unknown_action"),
                ('{"action":"Send"}', "unknown_action"),
                ("hello", "invalid"),
                ("[1]", "invalid"),
            ]:
                await ws.send_str(text)
                assert (await frame(ws, "error"))["code"] == code, text
        routed = [(e["requestContext"]["routeKey"], e["body"]) for e in recorder.events("default")]
        assert routed == [
            ("$default", '{"action":"dance"}'),
            ("$default", '{"action":"Send"}'),
            ("$default", "hello"),
            ("$default", "[1]"),
        ]

    run(scenario)


# ---------------------------------------------------------------- quotas


async def disconnect_status(recorder: Recorder, user: str) -> tuple[int, str]:
    event = await recorder.wait(
        "disconnect", lambda e: e["requestContext"]["authorizer"]["userId"] == user
    )
    context = event["requestContext"]
    return context["disconnectStatusCode"], context["disconnectReason"]


def test_a_frame_over_32_kb_closes_with_1009(stack_url: str, recorder: Recorder) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        jwt = await token(session, stack_url, "fid.big")
        async with session.ws_connect(ws_url(stack_url, jwt)) as ws:
            await ws.send_str(json.dumps({"action": "ping", "pad": "x" * 40_000}))
            assert await closed(ws) == 1009
        assert (await disconnect_status(recorder, "fid.big"))[0] == 1009
        assert recorder.events("default") == []  # the frame never reached a function

    run(scenario)


def padded_ping(size: int) -> str:
    return json.dumps({"action": "ping", "pad": "x" * size})


def test_a_message_of_several_frames_may_reach_128_kb_but_not_more(
    stack_url: str, recorder: Recorder
) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        ws = await RawWebSocket.connect(ws_url(stack_url, await token(session, stack_url, "fid.f")))
        try:
            await ws.send_message(padded_ping(100_000), frame_size=30_000)  # 4 frames
            opcode, reply = await asyncio.wait_for(ws.receive(), FRAME_TIMEOUT)
            assert (opcode, json.loads(reply)) == (TEXT, {"type": "pong"})
            with contextlib.suppress(ConnectionError):
                await ws.send_message(padded_ping(140_000), frame_size=30_000)
            opcode, reply = await asyncio.wait_for(ws.receive(), FRAME_TIMEOUT)
            assert (opcode, int.from_bytes(reply[:2], "big")) == (CLOSE, 1009)
        finally:
            await ws.close()
        assert (await disconnect_status(recorder, "fid.f"))[0] == 1009
        assert len(recorder.events("default")) == 1

    run(scenario)


def test_a_binary_frame_closes_with_1003(stack_url: str) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(
            ws_url(stack_url, await token(session, stack_url, "fid.b"))
        ) as ws:
            await ws.send_bytes(b'{"action":"ping"}')
            assert await closed(ws) == 1003

    run(scenario)


def test_timeouts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Timeouts.from_environ({}) == Timeouts(600.0, 7200.0)
    monkeypatch.setenv("COURIER_LOCAL_IDLE_TIMEOUT_SECONDS", "1.5")
    monkeypatch.setenv("COURIER_LOCAL_MAX_CONNECTION_SECONDS", "3")
    assert Timeouts.from_environ() == Timeouts(1.5, 3.0)
    monkeypatch.setenv("COURIER_LOCAL_IDLE_TIMEOUT_SECONDS", "0")
    with pytest.raises(ValueError, match="positive"):
        Timeouts.from_environ()


async def ping_until_closed(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> int | None:
    """Ping every 0.1 s for `seconds`; the close code if the server closes meanwhile."""
    for _ in range(int(seconds * 10)):
        with contextlib.suppress(ConnectionError):
            await ws.send_json({"action": "ping"})
        msg = await ws.receive(timeout=FRAME_TIMEOUT)
        if msg.type is aiohttp.WSMsgType.CLOSE:
            return int(msg.data)
        assert json.loads(msg.data) == {"type": "pong"}
        await asyncio.sleep(0.1)
    return None


def test_an_idle_connection_is_closed_going_away_and_traffic_keeps_it_open(
    stack_url: str, gateway: Gateway, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "timeouts", replace(gateway.timeouts, idle_seconds=1.0))

    async def scenario(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(
            ws_url(stack_url, await token(session, stack_url, "fid.i"))
        ) as ws:
            # Longer than the idle timeout, never idle that long: open all along, whether
            # the client talks or the server does.
            assert await ping_until_closed(ws, 1.5) is None
            connection = f"{stack_url}/@connections/{await connection_of(gateway, 'fid.i')}"
            for _ in range(15):
                async with session.post(connection, data=b'{"type":"tick"}') as reply:
                    assert reply.status == 200
                assert await frame(ws, "tick") == {"type": "tick"}
                await asyncio.sleep(0.1)
            assert await closed(ws) == 1001
        assert await disconnect_status(recorder, "fid.i") == (1001, "Going away")

    run(scenario)


def test_a_busy_connection_is_closed_at_its_maximum_age(
    stack_url: str, gateway: Gateway, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "timeouts", replace(gateway.timeouts, max_connection_seconds=1.5))

    async def scenario(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(
            ws_url(stack_url, await token(session, stack_url, "fid.m"))
        ) as ws:
            assert await ping_until_closed(ws, 10) == 1001
        assert await disconnect_status(recorder, "fid.m") == (1001, "Going away")

    run(scenario)


# ---------------------------------------------------------------- errors


def test_a_failing_function_answers_aws_internal_server_error(
    stack_url: str, gateway: Gateway, recorder: Recorder
) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(
            ws_url(stack_url, await token(session, stack_url, "fid.e"))
        ) as ws:
            recorder.fail.add("default")
            await ws.send_json({"action": "ping", "requestId": "r-1"})
            failure = await frame(ws, None)
            assert failure == {
                "message": "Internal server error",
                "connectionId": await connection_of(gateway, "fid.e"),
                "requestId": recorder.events("default")[0]["requestContext"]["requestId"],
            }
            recorder.fail.clear()
            await ws.send_json({"action": "ping"})  # the connection stays open
            assert await frame(ws, "pong") == {"type": "pong"}

    run(scenario)


# ---------------------------------------------------------------- @connections


def test_connections_api_answers_gone_after_disconnect(
    stack_url: str, gateway: Gateway, recorder: Recorder
) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(
            ws_url(stack_url, await token(session, stack_url, "fid.g"))
        ) as ws:
            connection = f"{stack_url}/@connections/{await connection_of(gateway, 'fid.g')}"
            async with session.get(connection) as reply:
                assert reply.status == 200
            async with session.post(connection, data=b'{"type":"hello"}') as reply:
                assert reply.status == 200
            assert await frame(ws, "hello") == {"type": "hello"}
        await recorder.wait("disconnect")
        for method in ("POST", "GET", "DELETE"):
            async with session.request(method, connection, data=b"{}") as reply:
                assert reply.status == 410, method
                assert reply.headers["x-amzn-ErrorType"] == "GoneException"

    run(scenario)


def test_boto3_management_api_client_is_served(stack: ServerThread, gateway: Gateway) -> None:
    """What the handlers' apigatewaymanagementapi client sends is understood, errors too."""
    url = stack.server.url
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    async def scenario(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(ws_url(url, await token(session, url, "fid.erin"))) as ws:
            connection_id = await connection_of(gateway, "fid.erin")
            await asyncio.to_thread(
                api.post_to_connection, ConnectionId=connection_id, Data=b'{"type":"hello"}'
            )
            assert await frame(ws, "hello") == {"type": "hello"}
            info = await asyncio.to_thread(api.get_connection, ConnectionId=connection_id)
            assert info["Identity"]["SourceIp"] == "127.0.0.1" and "ConnectedAt" in info
            with pytest.raises(ClientError) as too_large:
                await asyncio.to_thread(
                    api.post_to_connection, ConnectionId=connection_id, Data=b"x" * 140_000
                )
            assert too_large.value.response["Error"]["Code"] == "PayloadTooLargeException"
            await asyncio.to_thread(api.delete_connection, ConnectionId=connection_id)
            await closed(ws)
        with pytest.raises(ClientError) as gone:
            await asyncio.to_thread(api.post_to_connection, ConnectionId=connection_id, Data=b"x")
        assert gone.value.response["Error"]["Code"] == "GoneException"

    try:
        run(scenario)
    finally:
        api.close()
