"""API Gateway's WebSocket quotas, as the local gateway enforces them.

A client frame of more than 32 KB, or a message of more than 128 KB assembled from
several frames, closes the connection with 1009. A connection with no message either
way for 10 minutes, or open for 2 hours, is closed with 1001 "Going away"; tests shorten
both with COURIER_LOCAL_IDLE_TIMEOUT_SECONDS and COURIER_LOCAL_MAX_CONNECTION_SECONDS.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass

FRAME_LIMIT = 32 * 1024
MESSAGE_LIMIT = 128 * 1024
IDLE_TIMEOUT_SECONDS = 600.0
MAX_CONNECTION_SECONDS = 7200.0
MESSAGE_TOO_BIG = 1009

_DATA_OPCODES = (0x0, 0x1, 0x2)  # continuation, text, binary


@dataclass(frozen=True)
class Timeouts:
    idle_seconds: float = IDLE_TIMEOUT_SECONDS
    max_connection_seconds: float = MAX_CONNECTION_SECONDS

    @classmethod
    def from_environ(cls, env: Mapping[str, str] = os.environ) -> Timeouts:
        return cls(
            _seconds(env, "COURIER_LOCAL_IDLE_TIMEOUT_SECONDS", IDLE_TIMEOUT_SECONDS),
            _seconds(env, "COURIER_LOCAL_MAX_CONNECTION_SECONDS", MAX_CONNECTION_SECONDS),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = float(raw)
    if not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def close_frame(code: int) -> bytes:
    """A server's (unmasked) close frame carrying only a status code."""
    return bytes([0x88, 2]) + code.to_bytes(2, "big")


class FrameMeter(asyncio.Protocol):
    """Measures the client's frames on their way from the transport to aiohttp, which only
    shows whole messages, and closes the connection with 1009 as API Gateway would.

    Installed with `transport.set_protocol(FrameMeter(transport))` once the handshake is
    done; every callback is passed on to the protocol it replaces.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._inner = transport.get_protocol()
        self._header = bytearray()
        self._payload_left = 0
        self._message_size = 0
        self.too_big = False

    def data_received(self, data: bytes) -> None:
        if self.too_big:
            return
        passed = self._measure(data)
        if passed:
            assert isinstance(self._inner, asyncio.Protocol)
            self._inner.data_received(passed)

    def _measure(self, data: bytes) -> bytes:
        """The part of `data` before an oversize frame (all of it when there is none)."""
        position = frame_start = 0
        while position < len(data):
            if self._payload_left:
                step = min(self._payload_left, len(data) - position)
                self._payload_left -= step
                position += step
                continue
            if not self._header:
                frame_start = position
            self._header.append(data[position])
            position += 1
            if len(self._header) >= 2 and len(self._header) == _header_size(self._header):
                self._frame_started(bytes(self._header))
                self._header.clear()
                if self.too_big:
                    return data[:frame_start]  # the frame never reaches the integration
        return data

    def _frame_started(self, header: bytes) -> None:
        length = _payload_length(header)
        self._payload_left = length
        if header[0] & 0x0F not in _DATA_OPCODES:
            return  # control frames are at most 125 bytes and sit between fragments
        self._message_size += length
        if length > FRAME_LIMIT or self._message_size > MESSAGE_LIMIT:
            self.too_big = True
            self._transport.write(close_frame(MESSAGE_TOO_BIG))
            self._transport.close()
        elif header[0] & 0x80:  # FIN: the message is complete
            self._message_size = 0

    def eof_received(self) -> bool | None:
        assert isinstance(self._inner, asyncio.Protocol)
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def _header_size(header: bytearray) -> int:
    length7 = header[1] & 0x7F
    extended = {126: 2, 127: 8}.get(length7, 0)
    mask = 4 if header[1] & 0x80 else 0
    return 2 + extended + mask


def _payload_length(header: bytes) -> int:
    length7 = header[1] & 0x7F
    if length7 == 126:
        return int.from_bytes(header[2:4], "big")
    if length7 == 127:
        return int.from_bytes(header[2:10], "big")
    return length7
