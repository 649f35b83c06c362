"""The SDK keeps a quiet connection alive with `ping` (API Gateway closes one after 10
idle minutes) and treats a ping left unanswered as a dead connection."""

from __future__ import annotations

import asyncio

from tests.unit.fake_courier import DROP, FakeClient, FakeServer, connected, next_event, until


def test_a_quiet_connection_is_pinged_and_stays_up() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server, ping_interval=0.05)) as client:
            await until(lambda: len(server.sent("ping")) >= 2)
            assert all(set(ping) == {"action", "requestId"} for ping in server.sent("ping"))
            assert len(client.sockets) == 1 and client.connected

    asyncio.run(scenario())


def test_a_busy_connection_is_not_pinged() -> None:
    async def scenario() -> None:
        server = FakeServer("alice")
        async with connected(FakeClient(server, ping_interval=3600)) as client:
            for n in range(5):
                await client.send("dm:alice:bob", {"n": n})
                await next_event(client, "sendack")
            assert server.sent("ping") == []

    asyncio.run(scenario())


def test_a_ping_without_pong_means_a_dead_connection_and_a_reconnect() -> None:
    async def scenario() -> None:
        server = FakeServer("alice", faults={"ping": [DROP]})
        client = FakeClient(server, ping_interval=0.05, request_timeout=0.1)
        async with connected(client):
            await next_event(client, "disconnected")
            await next_event(client, "connected")
            assert len(client.sockets) == 2 and client.sockets[0].closed

    asyncio.run(scenario())
