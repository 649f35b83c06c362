"""`python -m courier_chat`: options, a token, then the chat screen until the person quits."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from courier_chat.admin import AdminApi, AdminError
from courier_chat.options import Options, parse_options
from courier_chat.screen import ChatScreen
from courier_chat.session import ChatSession


async def open_session(options: Options) -> ChatSession:
    """A session for the options; without --token, one comes from the admin API."""
    admin = AdminApi(options.url)
    token = options.token or await admin.token(options.user, options.device)
    return ChatSession(options, token, admin)


async def chat(options: Options) -> int:
    try:
        session = await open_session(options)
    except AdminError as exc:
        print(
            f"courier-chat: cannot get a token: {exc}\n"
            "  Is the local stack running (make run) at that URL? Elsewhere, pass --token.",
            file=sys.stderr,
        )
        return 1
    await ChatScreen(session).run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(chat(parse_options(argv)))
