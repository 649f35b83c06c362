"""The local stack (`make run`) end to end: real sockets, moto in server mode, the handlers.

The `stack` and `stack_url` fixtures are in conftest.py (one stack for the package).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.exceptions import ClientError

from local.server import ServerThread

FRAME_TIMEOUT = 5.0


def run(scenario: Callable[[aiohttp.ClientSession], Awaitable[None]]) -> None:
    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.wait_for(scenario(session), timeout=20)

    asyncio.run(main())


async def token(session: aiohttp.ClientSession, url: str, user: str) -> str:
    async with session.post(
        f"{url}/admin/tokens", json={"user": user, "device": "phone", "ttlSeconds": 600}
    ) as reply:
        assert reply.status == 200, await reply.text()
        return str((await reply.json())["token"])


async def frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next frame of this type (skipping other kinds, e.g. a retried message)."""
    while True:
        msg = await ws.receive(timeout=FRAME_TIMEOUT)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        data: dict[str, Any] = json.loads(msg.data)
        if data.get("type") == kind:
            return data


def ws_url(url: str, jwt: str) -> str:
    return f"{url.replace('http://', 'ws://')}/?token={jwt}"


def test_bad_or_missing_tokens_are_refused_at_the_handshake(stack_url: str) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        with pytest.raises(aiohttp.WSServerHandshakeError) as forged:
            await session.ws_connect(ws_url(stack_url, "not.a.jwt"))
        assert forged.value.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as missing:
            await session.ws_connect(stack_url.replace("http://", "ws://") + "/")
        assert missing.value.status == 401

    run(scenario)


def test_dm_round_trip_over_the_local_stack(stack_url: str) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        alice_token = await token(session, stack_url, "alice")
        bob_token = await token(session, stack_url, "bob")
        async with (
            session.ws_connect(ws_url(stack_url, alice_token)) as alice,
            session.ws_connect(ws_url(stack_url, bob_token)) as bob,
        ):
            await alice.send_json(
                {
                    "action": "send",
                    "channel": "dm:alice:bob",
                    "clientMsgNo": "m-1",
                    "body": {"text": "hi bob"},
                    "requestId": "r-1",
                }
            )
            ack = await frame(alice, "sendack")
            assert ack["seq"] == 1 and ack["duplicate"] is False and ack["clientMsgNo"] == "m-1"
            message = await frame(bob, "message")
            assert message["from"] == "alice" and message["body"] == {"text": "hi bob"}
            assert message["seq"] == 1 and message["messageId"] == ack["messageId"]

            await bob.send_json({"action": "ping"})
            assert await frame(bob, "pong") == {"type": "pong"}
            await bob.send_json({"action": "dance"})
            assert (await frame(bob, "error"))["code"] == "unknown_action"
            await bob.send_json({"action": "ack", "channel": "dm:alice:bob", "seq": 1})

            await bob.send_json({"action": "read", "channel": "dm:alice:bob", "seq": 1})
            read = await frame(bob, "read")
            assert read == {"type": "read", "channel": "dm:alice:bob", "readSeq": 1, "unread": 0}

            await bob.send_json({"action": "sync", "channel": "dm:alice:bob", "afterSeq": 0})
            page = await frame(bob, "messages")
            assert [m["messageId"] for m in page["messages"]] == [ack["messageId"]]
            assert page["lastSeq"] == 1 and page["readSeq"] == 1

    run(scenario)


def test_a_frame_over_32_kb_closes_with_1009(stack_url: str) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        jwt = await token(session, stack_url, "carol")
        async with session.ws_connect(ws_url(stack_url, jwt)) as ws:
            await ws.send_str(json.dumps({"action": "ping", "pad": "x" * 40_000}))
            msg = await ws.receive(timeout=FRAME_TIMEOUT)
            assert msg.type is aiohttp.WSMsgType.CLOSE
            assert msg.data == 1009

    run(scenario)


def test_connections_api_answers_gone_for_unknown_ids(stack_url: str) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        async with session.post(f"{stack_url}/@connections/nobody%3D", data=b"{}") as reply:
            assert reply.status == 410
            assert reply.headers["x-amzn-ErrorType"] == "GoneException"

    run(scenario)


def test_boto3_management_api_client_is_served(stack: ServerThread) -> None:
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
        jwt = await token(session, url, "erin")
        async with session.ws_connect(ws_url(url, jwt)) as ws:
            assert stack.server.gateway is not None
            [connection_id] = [
                cid
                for cid, c in stack.server.gateway.connections.items()
                if c.client.authorizer.get("userId") == "erin"
            ]
            await asyncio.to_thread(
                api.post_to_connection, ConnectionId=connection_id, Data=b'{"type":"hello"}'
            )
            assert await frame(ws, "hello") == {"type": "hello"}
            info = await asyncio.to_thread(api.get_connection, ConnectionId=connection_id)
            assert info["Identity"]["SourceIp"] == "127.0.0.1" and "ConnectedAt" in info
            await asyncio.to_thread(api.delete_connection, ConnectionId=connection_id)
            msg = await ws.receive(timeout=FRAME_TIMEOUT)
            assert msg.type is aiohttp.WSMsgType.CLOSE
        with pytest.raises(ClientError) as gone:
            await asyncio.to_thread(api.post_to_connection, ConnectionId=connection_id, Data=b"x")
        assert gone.value.response["Error"]["Code"] == "GoneException"

    try:
        run(scenario)
    finally:
        api.close()


def test_unacked_message_is_retried_by_the_retry_queue_poller(stack_url: str) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        alice_token = await token(session, stack_url, "alice")
        frank_token = await token(session, stack_url, "frank")
        async with (
            session.ws_connect(ws_url(stack_url, alice_token)) as alice,
            session.ws_connect(ws_url(stack_url, frank_token)) as frank,
        ):
            send = {"action": "send", "channel": "dm:alice:frank", "clientMsgNo": "r-1"}
            await alice.send_json({**send, "body": {"text": "are you there?"}})
            assert (await frame(alice, "sendack"))["seq"] == 1
            first = await frame(frank, "message")
            again = await frame(frank, "message")  # no ack: the retry worker posts it again
            assert again["messageId"] == first["messageId"] and again["seq"] == 1
            await frank.send_json({"action": "ack", "channel": "dm:alice:frank", "seq": 1})

    run(scenario)
