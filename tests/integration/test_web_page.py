"""`make run` serves the web chat page (web/dist/) on plain GETs, while `/` stays the
WebSocket API for upgrades and /admin the admin API."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from local.run import banner
from local.server import ServerThread
from local.static import WEB_ROOT
from tests.integration.wire import frame, run, token, ws_url

ROOT = WEB_ROOT.parent.parent
BUILD_INFO = WEB_ROOT / "build-info.json"
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}


def _assets() -> list[str]:
    """The files index.html loads (its src and href attributes)."""
    html = (WEB_ROOT / "index.html").read_text()
    return sorted(set(re.findall(r'(?:src|href)="([^"#:]+)"', html)))


def test_make_run_names_the_page_first_and_says_its_tokens_are_local_only(
    stack: ServerThread,
) -> None:
    printed = banner(stack.server)
    assert printed.splitlines()[0].startswith(f"Web chat: {stack.server.url}/ ")
    assert "local-only convenience" in printed


def test_the_page_is_served_at_the_root_with_safe_headers(stack_url: str) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        async with session.get(f"{stack_url}/") as reply:
            assert reply.status == 200
            assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
            assert await reply.read() == (WEB_ROOT / "index.html").read_bytes()
            assert reply.headers["Cache-Control"] == "no-store"
            assert reply.headers["X-Content-Type-Options"] == "nosniff"
            assert "connect-src 'self'" in reply.headers["Content-Security-Policy"]
        async with session.head(f"{stack_url}/") as reply:
            assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")

    run(scenario)


def test_every_asset_the_page_loads_is_served_with_its_type(stack_url: str) -> None:
    assets = _assets()
    assert {"app.js", "app.css"} <= set(assets)

    async def scenario(session: aiohttp.ClientSession) -> None:
        for name in assets:
            async with session.get(f"{stack_url}/{name}") as reply:
                assert reply.status == 200, name
                assert reply.headers["Content-Type"].startswith(TYPES[Path(name).suffix]), name
                assert await reply.read() == (WEB_ROOT / name).read_bytes(), name

    run(scenario)


def test_the_websocket_api_still_answers_an_upgrade_at_the_root(stack_url: str) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        jwt = await token(session, stack_url, "webpage-visitor")
        async with session.ws_connect(ws_url(stack_url, jwt)) as ws:
            await ws.send_json({"action": "ping", "requestId": "p-1"})
            assert await frame(ws, "pong") == {"type": "pong", "requestId": "p-1"}
        # An upgrade without a token is still the WebSocket API's refusal, not the page.
        async with session.get(
            f"{stack_url}/",
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
        ) as reply:
            assert reply.status == 401

    run(scenario)


async def _raw_get(url: str, target: str) -> tuple[int, bytes]:
    """GET `target` exactly as written (a client library would normalise the dots)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "target",
    [
        "/../../Makefile",
        "/%2e%2e/%2e%2e/Makefile",
        "/..%2f..%2fMakefile",
        "/%2e%2e%2f%2e%2e%2fMakefile",
        "/app.js/../../../Makefile",
        "/..%5c..%5cMakefile",
        "/Makefile",
        "/web/dist/../../Makefile",
    ],
)
def test_a_path_out_of_the_page_directory_is_refused(stack_url: str, target: str) -> None:
    makefile = (ROOT / "Makefile").read_bytes()
    status, body = asyncio.run(_raw_get(stack_url, target))
    assert status in (400, 404), (target, status)
    assert makefile[:200] not in body


def test_the_admin_api_is_not_shadowed_by_the_page(stack_url: str) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        async with session.get(f"{stack_url}/admin/users/webpage-visitor/unread") as reply:
            assert reply.status == 200
            assert (await reply.json())["user"] == "webpage-visitor"

    run(scenario)


def test_the_committed_bundle_was_built_from_the_sources_as_they_are() -> None:
    """web/dist/build-info.json records each source's SHA-256 at `make web` time: a source
    changed since (or one added to web/src/) means the bundle `make run` serves is stale."""
    recorded: dict[str, str] = json.loads(BUILD_INFO.read_text())["sources"]
    stale = [
        path
        for path, digest in recorded.items()
        if not (ROOT / path).is_file()
        or hashlib.sha256((ROOT / path).read_bytes()).hexdigest() != digest
    ]
    unbuilt = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "web" / "src").rglob("*"))
        if path.is_file() and str(path.relative_to(ROOT)) not in recorded
    ]
    assert stale == [] and unbuilt == [], f"run `make web` and commit web/dist/: {stale + unbuilt}"
