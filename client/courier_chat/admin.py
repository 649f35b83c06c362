"""The admin HTTP API of the local stack (unauthenticated there): tokens and groups."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

TOKEN_TTL_SECONDS = 86_400  # a day: the SDK cannot swap the token of a running client
TIMEOUT = aiohttp.ClientTimeout(total=10)


class AdminError(Exception):
    """The admin API could not be reached or refused the call."""


class AdminApi:
    def __init__(self, url: str) -> None:
        self.base = f"{url.rstrip('/')}/admin"

    async def token(self, user: str, device: str) -> str:
        reply = await self._call(
            "POST",
            "/tokens",
            {"user": user, "device": device, "ttlSeconds": TOKEN_TTL_SECONDS},
        )
        return str(reply["token"])

    async def put_group(self, group: str, members: list[str]) -> list[str]:
        """Create the group, or replace its members; returns them as the server keeps them."""
        reply = await self._call("PUT", f"/groups/{group}", {"members": members})
        return [str(member) for member in reply["members"]]

    async def _call(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            async with (
                aiohttp.ClientSession(timeout=TIMEOUT) as http,
                http.request(method, self.base + path, json=payload) as reply,
            ):
                text = await reply.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AdminError(f"cannot reach {self.base}: {exc or type(exc).__name__}") from exc
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if reply.status != 200:
            reason = body.get("message") if isinstance(body, dict) else None
            raise AdminError(f"HTTP {reply.status} from {method} {path}: {reason or text[:200]}")
        if not isinstance(body, dict):
            raise AdminError(f"{method} {path}: not a JSON object: {text[:200]}")
        return body
