"""What the network sees of read cursors (chaos/receipts_check.py judges it): the read
frames that reach the server, and every value of a read cursor the server tells a device:
`receipt` frames, `read` frames (replies matched to their read by requestId), the readSeq
of sync replies and conversation entries, and the DM entries' peerReadSeq."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaos.history import CursorSeen, ReadReply, Receipt, dm_users, now_ms, user_of


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class CursorWatch:
    receipts: list[Receipt] = field(default_factory=list)
    seen: list[CursorSeen] = field(default_factory=list)
    replies: list[ReadReply] = field(default_factory=list)
    reads: list[tuple[str, str, int]] = field(default_factory=list)  # (user, channel, seq)
    _asked: dict[tuple[str, str], int] = field(default_factory=dict)  # (device, requestId)

    def to_server(self, device: str, frame: dict[str, Any]) -> None:
        """A frame that reaches the gateway: a read may move the cursor, answered or not."""
        seq, channel = _int(frame.get("seq")), frame.get("channel")
        if frame.get("action") != "read" or seq is None or not isinstance(channel, str):
            return
        self.reads.append((user_of(device), channel, seq))
        request_id = frame.get("requestId")
        if isinstance(request_id, str):
            self._asked[(device, request_id)] = seq

    def from_server(self, device: str, frame: dict[str, Any], *, delivered: bool) -> None:
        """A frame from the gateway to `device` (whether or not the network then drops it:
        it is what the server said)."""
        kind, channel = frame.get("type"), frame.get("channel")
        user = user_of(device)
        if kind == "conversations":
            for entry in frame.get("conversations", []):
                self._entry(device, entry)
            return
        if not isinstance(channel, str):
            return
        if kind == "receipt" and (seq := _int(frame.get("readSeq"))) is not None:
            reader = str(frame.get("user"))
            self.receipts.append(Receipt(device, channel, reader, seq, now_ms(), delivered))
        elif kind == "read" and (seq := _int(frame.get("readSeq"))) is not None:
            self.seen.append(CursorSeen(device, user, channel, seq, "read"))
            asked = self._asked.pop((device, str(frame.get("requestId"))), None)
            if asked is not None:
                self.replies.append(ReadReply(device, channel, asked, seq))
        elif kind == "messages" and (seq := _int(frame.get("readSeq"))) is not None:
            self.seen.append(CursorSeen(device, user, channel, seq, "sync"))

    def _entry(self, device: str, entry: Any) -> None:
        channel = entry.get("channel") if isinstance(entry, dict) else None
        if not isinstance(channel, str):
            return
        user = user_of(device)
        if (seq := _int(entry.get("readSeq"))) is not None:
            self.seen.append(CursorSeen(device, user, channel, seq, "sync"))
        parties = dm_users(channel)
        peer_seq = _int(entry.get("peerReadSeq"))
        if parties is not None and user in parties and peer_seq is not None:
            peer = parties[1] if parties[0] == user else parties[0]
            self.seen.append(CursorSeen(device, peer, channel, peer_seq, "peerReadSeq"))
