"""The load on the local stack, run in its own process (so that it does not share the
stack's interpreter): pairs of raw WebSocket clients play DM ping-pong in a closed loop
until they have carried `--messages` in all. Each message is timed from its `send` frame
to the `message` frame at the peer, which acks it and answers, and from its commit (the
frame's `ts`, the server's wall clock in ms: the same machine's) to that first frame.

    python -m bench.load_client --url http://127.0.0.1:PORT --pairs 8 --messages 5000

prints one JSON object: each message's latency and when it arrived, and the totals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench import BODY

FRAME_TIMEOUT = 30.0
RECEIVED = "_receivedMs"  # kept on a received frame: when it arrived, wall clock ms


@dataclass
class Stats:
    began: float
    wanted: int  # messages to carry in all
    latencies_ms: list[float] = field(default_factory=list)
    commit_to_frame_ms: list[float] = field(default_factory=list)  # `ts` to its first frame
    sendack_ms: list[float] = field(default_factory=list)
    arrived_s: list[float] = field(default_factory=list)  # each message, since `began`
    started: int = 0  # sends begun
    timeouts: int = 0


@dataclass
class Device:
    ws: aiohttp.ClientWebSocketResponse
    stats: Stats
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    sent_at: dict[str, float] = field(default_factory=dict)

    async def read(self) -> None:
        """Route incoming frames: messages to the inbox, sendacks timed."""
        async for msg in self.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            received_ms = time.time() * 1000  # the wall clock, as the server's `ts`
            frame = json.loads(msg.data)
            if frame.get("type") == "message":
                frame[RECEIVED] = received_ms
                await self.inbox.put(frame)
            elif frame.get("type") == "sendack":
                started = self.sent_at.pop(frame["clientMsgNo"], None)
                if started is not None:
                    self.stats.sendack_ms.append((time.monotonic() - started) * 1000)


async def _token(session: aiohttp.ClientSession, url: str, user: str) -> str:
    async with session.post(f"{url}/admin/tokens", json={"user": user, "device": "bench"}) as reply:
        reply.raise_for_status()
        return str((await reply.json())["token"])


async def _connect(session: aiohttp.ClientSession, url: str, user: str, stats: Stats) -> Device:
    token = await _token(session, url, user)
    ws = await session.ws_connect(f"{url.replace('http://', 'ws://')}/?token={token}")
    return Device(ws, stats)


async def _expect(device: Device, client_msg_no: str) -> dict[str, Any]:
    """The `message` frame of this send (retried copies of older ones are skipped)."""
    while True:
        frame = await asyncio.wait_for(device.inbox.get(), FRAME_TIMEOUT)
        if frame.get("clientMsgNo") == client_msg_no:
            return frame


async def _ping_pong(a: Device, b: Device, channel: str) -> None:
    stats = a.stats
    sender, receiver = a, b
    while stats.started < stats.wanted:
        stats.started += 1
        client_msg_no = uuid.uuid4().hex
        started = time.monotonic()
        sender.sent_at[client_msg_no] = started
        frame = {"action": "send", "channel": channel, "clientMsgNo": client_msg_no, "body": BODY}
        await sender.ws.send_json(frame)
        try:
            message = await _expect(receiver, client_msg_no)
        except TimeoutError:
            stats.timeouts += 1
            continue
        now = time.monotonic()
        stats.latencies_ms.append((now - started) * 1000)
        stats.commit_to_frame_ms.append(message[RECEIVED] - message["ts"])
        stats.arrived_s.append(now - stats.began)
        await receiver.ws.send_json({"action": "ack", "channel": channel, "seq": message["seq"]})
        sender, receiver = receiver, sender


async def run(url: str, pairs: int, messages: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        stats = Stats(began=float("inf"), wanted=messages)
        devices = [
            await _connect(session, url, f"bench-{side}{i}", stats)
            for i in range(pairs)
            for side in "ab"
        ]
        readers = [asyncio.create_task(d.read()) for d in devices]
        stats.began = time.monotonic()
        await asyncio.gather(
            *(
                _ping_pong(devices[2 * i], devices[2 * i + 1], f"dm:bench-a{i}:bench-b{i}")
                for i in range(pairs)
            )
        )
        active = time.monotonic() - stats.began
        for device in devices:
            await device.ws.close()
        await asyncio.gather(*readers, return_exceptions=True)
    return {
        "latencies_ms": stats.latencies_ms,
        "commit_to_frame_ms": stats.commit_to_frame_ms,
        "sendack_ms": stats.sendack_ms,
        "arrived_s": stats.arrived_s,
        "active_s": active,
        "messages": len(stats.arrived_s),
        "timeouts": stats.timeouts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.pairs, args.messages))))


if __name__ == "__main__":
    main()
