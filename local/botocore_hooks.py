"""A botocore event hook for every client of this process built from now on.

A client copies its session's handlers when it is built, and a session copies botocore's
built-in handlers when it is made. So a hook goes into both: the built-in list (every
new session, including the default session moto's mock swaps in) and boto3's default
session if there already is one (the stack's bootstrap made it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = Callable[..., Any]


def _unique_id(event: str, hook: Hook) -> str:
    return f"courier-local-{event}-{id(hook)}"


def add(event: str, hook: Hook) -> None:
    import boto3  # noqa: PLC0415 - only the local stack and the harness pay for it
    from botocore import handlers  # noqa: PLC0415

    if (event, hook) not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append((event, hook))
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION.events.register(event, hook, unique_id=_unique_id(event, hook))


def remove(event: str, hook: Hook) -> None:
    """Clients built from now on lack the hook; those built before keep it."""
    import boto3  # noqa: PLC0415
    from botocore import handlers  # noqa: PLC0415

    while (event, hook) in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.remove((event, hook))
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION.events.unregister(event, hook, unique_id=_unique_id(event, hook))
