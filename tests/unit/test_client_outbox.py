"""The SDK's outbox: a send goes out again, with the same clientMsgNo, until its sendack
arrives, whatever happened to it on the way; only a permanent error gives up."""

from __future__ import annotations

import asyncio

from tests.unit.fake_courier import (
    DROP,
    GATEWAY_ERROR,
    THROTTLED,
    FakeClient,
    FakeServer,
    connected,
    next_event,
    until,
)

DM = "dm:alice:bob"


def test_a_send_without_a_sendack_goes_out_again_while_connected() -> None:
    async def scenario() -> None:
        server = FakeServer("alice", faults={"send": [DROP]})
        async with connected(FakeClient(server, resend_timeout=0.05)) as client:
            client_msg_no = await client.send(DM, {"text": "hi"})
            ack = await next_event(client, "sendack")
            assert ack["clientMsgNo"] == client_msg_no and ack["duplicate"] is False
            sends = server.sent("send")
            assert len(sends) >= 2 and all(s == sends[0] for s in sends)  # the same frame
            assert client.store.outbox() == [] and len(server.messages[DM]) == 1
            assert len(client.sockets) == 1  # no reconnect was needed

    asyncio.run(scenario())


def test_internal_server_error_keeps_the_entry_and_resends_it_at_once() -> None:
    async def scenario() -> None:
        server = FakeServer("alice", faults={"send": [GATEWAY_ERROR]})
        async with connected(FakeClient(server, resend_timeout=60)) as client:
            client_msg_no = await client.send(DM, {"text": "hi"})
            failure = await next_event(client, "gateway_error")
            assert failure["frame"]["message"] == "Internal server error"
            ack = await next_event(client, "sendack")  # long before resend_timeout
            assert ack["clientMsgNo"] == client_msg_no and ack["duplicate"] is True
            assert client.store.outbox() == []
            assert [m["seq"] for m in client.store.messages(DM)] == [1]
            assert len(server.messages[DM]) == 1

    asyncio.run(scenario())


def test_throttled_is_sent_again_and_forbidden_is_given_up() -> None:
    async def scenario() -> None:
        server = FakeServer("alice", faults={"send": [THROTTLED]})
        async with connected(FakeClient(server, resend_timeout=60)) as client:
            throttled = await client.send(DM, {"text": "hi"})
            assert (await next_event(client, "error"))["code"] == "throttled"
            assert (await next_event(client, "sendack"))["clientMsgNo"] == throttled

            refused = await client.send("g:not-mine", {"text": "hi"})
            error = await next_event(client, "error")
            assert error["code"] == "forbidden" and error["clientMsgNo"] == refused
            assert client.store.outbox() == []

    asyncio.run(scenario())


def test_an_outbox_entry_survives_a_dropped_connection_and_goes_out_once_acked() -> None:
    async def scenario() -> None:
        server = FakeServer("alice", faults={"send": [DROP]})
        async with connected(FakeClient(server, resend_timeout=60)) as client:
            client_msg_no = await client.send(DM, {"text": "hi"})
            await client.socket.close()  # the server goes away before answering
            await next_event(client, "disconnected")
            ack = await next_event(client, "sendack")
            assert ack["clientMsgNo"] == client_msg_no and len(client.sockets) == 2
            await until(lambda: client.store.outbox() == [])

    asyncio.run(scenario())
