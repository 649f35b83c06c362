"""The local stack (`make run`) end to end: real sockets, moto in-process, the handlers.

The `stack` and `stack_url` fixtures are in conftest.py (one stack for the package); the
gateway's own behaviour (handshake, quotas, @connections) is in test_emulator_fidelity.py.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import boto3

from local.server import ServerThread
from tests.integration.wire import frame, put_group, run, token, ws_url


def outside_dynamodb(stack: ServerThread) -> Any:
    """A DynamoDB client of moto's HTTP endpoint, as the AWS CLI would be."""
    return boto3.client(
        "dynamodb",
        endpoint_url=stack.server.stack.endpoint,
        region_name="us-east-1",
        aws_access_key_id="cli",
        aws_secret_access_key="cli",
    )


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


def test_moto_endpoint_serves_what_the_handlers_wrote_in_process(stack: ServerThread) -> None:
    """The handlers reach moto in-process; its HTTP endpoint (for the AWS CLI and tools
    outside the process) sees the same tables."""

    async def scenario(session: aiohttp.ClientSession) -> None:
        ivan_token = await token(session, stack.server.url, "ivan")
        async with session.ws_connect(ws_url(stack.server.url, ivan_token)) as ivan:
            body = {"action": "send", "channel": "dm:ivan:judy", "clientMsgNo": "e-1"}
            await ivan.send_json({**body, "body": {"text": "over http?"}})
            assert (await frame(ivan, "sendack"))["seq"] == 1

    run(scenario)
    local = stack.server.stack
    outside = outside_dynamodb(stack)
    reply = outside.get_item(
        TableName=local.tables["MessagesTable"],
        Key={"channel": {"S": "dm:ivan:judy"}, "seq": {"N": "1"}},
        ConsistentRead=True,
    )
    assert reply["Item"]["clientMsgNo"]["S"] == "e-1"


def test_presence_asks_the_gateway_about_idle_connections(stack: ServerThread) -> None:
    """A connection idle for over 10 minutes is checked at the gateway (GET @connections):
    quinn's socket is open (online, activeAt renewed); rory's row names a connection the
    gateway never had (410: offline, the row deleted, lastSeen its activeAt)."""
    local, url = stack.server.stack, stack.server.url
    outside = outside_dynamodb(stack)
    connections = local.tables["ConnectionsTable"]
    idle_since = int(time.time() * 1000) - 30 * 60_000

    async def scenario(session: aiohttp.ClientSession) -> None:
        await put_group(session, url, "pqr", ["pia", "rory"])
        pia_token, quinn_token = (
            await token(session, url, "pia"),
            await token(session, url, "quinn"),
        )
        async with (
            session.ws_connect(ws_url(url, pia_token)) as pia,
            session.ws_connect(ws_url(url, quinn_token)),
        ):
            body = {"action": "send", "channel": "dm:pia:quinn", "clientMsgNo": "p-1"}
            await pia.send_json({**body, "body": {"text": "there?"}})
            assert (await frame(pia, "sendack"))["seq"] == 1
            [row] = outside.query(
                TableName=connections,
                KeyConditionExpression="userId = :u",
                ExpressionAttributeValues={":u": {"S": "quinn"}},
            )["Items"]
            at = {"N": str(idle_since)}
            outside.put_item(TableName=connections, Item={**row, "activeAt": at})
            gone = {"userId": {"S": "rory"}, "connectionId": {"S": "never-there"}}
            item = {**gone, "deviceId": {"S": "phone"}, "connectedAt": at, "activeAt": at}
            outside.put_item(TableName=connections, Item={**item, "expiresAt": {"N": "4000000000"}})

            await pia.send_json({"action": "presence", "users": ["quinn", "rory"]})
            reply = await frame(pia, "presence")

            assert reply["users"] == {
                "quinn": {"online": True},
                "rory": {"online": False, "lastSeen": idle_since},
            }
            assert "Item" not in outside.get_item(TableName=connections, Key=gone)
            renewed = outside.get_item(TableName=connections, Key={k: row[k] for k in gone})
            assert int(renewed["Item"]["activeAt"]["N"]) > idle_since

    run(scenario)
