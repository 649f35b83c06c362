"""The error codes of PROTOCOL.md and the exception that carries one to the edge."""

from __future__ import annotations

from typing import Final

INVALID: Final = "invalid"
UNKNOWN_ACTION: Final = "unknown_action"
FORBIDDEN: Final = "forbidden"
TOO_LARGE: Final = "too_large"
THROTTLED: Final = "throttled"
INTERNAL: Final = "internal"


class ProtocolError(Exception):
    """A frame that cannot be carried out; the edge turns it into an `error` frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> ProtocolError:
    return ProtocolError(INVALID, message)


def forbidden(message: str) -> ProtocolError:
    return ProtocolError(FORBIDDEN, message)
