"""The web chat page's files (web/dist/), served by the local gateway on plain GETs.

The deployed stack serves no page (API Gateway's WebSocket API has no static files); this
is a local convenience so that `make run` gives a chat in the browser. A file is served
only when it lies inside the root once resolved (no `..`, no symlink out), is not hidden,
and has a known type: everything else is 404, never a directory listing.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_ROOT = Path(__file__).resolve().parent.parent / "web" / "dist"
INDEX = "index.html"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

# The page talks to its own origin only (the admin API and the WebSocket at `/`).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Rebuilt assets show on the next load: the browser keeps no copy to go stale.
    "Cache-Control": "no-store",
}


class StaticFiles:
    """GET and HEAD of the files under `root`; `/` is its index.html."""

    def __init__(self, root: Path = WEB_ROOT) -> None:
        self.root = root.resolve()

    def resolve(self, path: str) -> Path | None:
        """The file `path` (a request path, already percent-decoded) names, if it may be served."""
        relative = path.lstrip("/") or INDEX
        parts = relative.split("/")
        if any(not part or part.startswith(".") or "\\" in part or "\0" in part for part in parts):
            return None
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        if candidate.suffix not in CONTENT_TYPES:
            return None
        return candidate

    async def handle(self, request: web.Request) -> web.Response:
        found = self.resolve(request.path)
        if found is None:
            return web.Response(status=404, text="Not Found", headers=SECURITY_HEADERS)
        body = found.read_bytes()
        headers = {**SECURITY_HEADERS, "Content-Type": CONTENT_TYPES[found.suffix]}
        return web.Response(body=body, headers=headers)
