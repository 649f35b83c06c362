"""The command line: who to be, which server, which token and which local store."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from courier_chat.channels import is_valid_id
from courier_client.client import token_user

DEFAULT_PORT = "3001"
MEMORY = ":memory:"


@dataclass(frozen=True)
class Options:
    user: str
    url: str  # http(s)://host:port, no trailing slash
    device: str
    token: str | None
    db: str  # a SQLite file, or ":memory:"


def http_url(url: str) -> str:
    """The server's base URL as http(s); ws(s):// is accepted and mapped."""
    url = url.rstrip("/")
    for ws, http in (("ws://", "http://"), ("wss://", "https://")):
        if url.startswith(ws):
            return http + url.removeprefix(ws)
    return url


def default_store_path(url: str, user: str, device: str, env: Mapping[str, str]) -> Path:
    """One store per server address, user and device, under $XDG_STATE_HOME/courier."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    state = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "courier" / f"{parts.hostname}_{port}" / f"{user}.{device}.sqlite3"


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    default_url = f"http://127.0.0.1:{env.get('COURIER_PORT', DEFAULT_PORT)}"
    parser = argparse.ArgumentParser(
        prog="courier-chat",
        description="Chat in the terminal over a Courier server (the local stack by default).",
    )
    parser.add_argument("--user", help="your user id (taken from --token when omitted)")
    parser.add_argument(
        "--url", default=default_url, help=f"server base URL (default {default_url})"
    )
    parser.add_argument(
        "--token",
        help="a JWT for the server; without it one is asked of {url}/admin/tokens (local stack)",
    )
    parser.add_argument("--device", default="cli", help="your device id (default cli)")
    parser.add_argument(
        "--db",
        help="the SDK's SQLite store (default: per server, user and device under"
        f" ~/.local/state/courier; {MEMORY} keeps nothing)",
    )
    return parser


def parse_options(
    argv: Sequence[str] | None = None, env: Mapping[str, str] = os.environ
) -> Options:
    parser = _parser(env)
    args = parser.parse_args(argv)
    token: str | None = args.token
    user: str | None = args.user
    if token is not None:
        try:
            subject = token_user(token)
        except (ValueError, KeyError, IndexError, TypeError):
            parser.error("--token is not a JWT")
        if user not in (None, subject):
            parser.error(f"--user {user} does not match the token's user {subject}")
        user = subject
    if not user:
        parser.error("--user is required (or --token); with make: make chat USER=alice")
    for name, value in (("--user", user), ("--device", args.device)):
        if not is_valid_id(value):
            parser.error(f"{name} must be 1-64 characters of A-Z a-z 0-9 _ . -")
    url = http_url(args.url)
    if not url.startswith(("http://", "https://")):
        parser.error("--url must start with http://, https://, ws:// or wss://")
    db = args.db or str(default_store_path(url, user, args.device, env))
    return Options(user=user, url=url, device=args.device, token=token, db=db)
