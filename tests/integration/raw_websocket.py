"""A bare WebSocket client that controls frame boundaries, which aiohttp's does not:
enough to send one message as several frames (RFC 6455, client side only)."""

from __future__ import annotations

import asyncio
import base64
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

TEXT, CONTINUATION, CLOSE = 0x1, 0x0, 0x8


def client_frame(opcode: int, payload: bytes, *, fin: bool) -> bytes:
    """One masked frame, as a client must send it."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + size.to_bytes(8, "big")
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@dataclass
class RawWebSocket:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def connect(cls, ws_url: str) -> RawWebSocket:
        url = urlsplit(ws_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {url.path or '/'}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = await reader.readuntil(b"\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 101"), response
        return cls(reader, writer)

    async def send_message(self, text: str, frame_size: int) -> None:
        """`text` as one message, cut into frames of at most `frame_size` bytes."""
        data = text.encode()
        parts = [data[i : i + frame_size] for i in range(0, len(data), frame_size)]
        for index, part in enumerate(parts):
            opcode = TEXT if index == 0 else CONTINUATION
            self.writer.write(client_frame(opcode, part, fin=index == len(parts) - 1))
        await self.writer.drain()

    async def receive(self) -> tuple[int, bytes]:
        """The next server frame (unmasked, never fragmented here): opcode and payload."""
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(await self.reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await self.reader.readexactly(8), "big")
        return first & 0x0F, await self.reader.readexactly(size)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()
