"""One typed settings object, read from the environment once per container."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


class SettingsError(RuntimeError):
    """The environment does not describe a usable Courier deployment."""


@dataclass(frozen=True)
class Settings:
    connections_table: str
    channels_table: str
    messages_table: str
    memberships_table: str
    dedup_table: str
    acks_table: str
    retries_table: str
    notifications_table: str
    presence_table: str
    retry_queue_url: str
    fanout_queue_url: str
    notify_queue_url: str
    notify_topic_arn: str
    ws_endpoint: str | None
    jwt_secret: str | None
    jwt_secret_param: str | None
    retention_days: int
    dedup_hours: int
    connection_ttl_seconds: int
    retry_base_seconds: int
    max_retries: int
    fanout_inline_limit: int
    notify_coalesce_seconds: int
    recall_seconds: int = 120
    aws_region: str | None = None  # Lambda sets AWS_REGION; None: botocore's own lookup


def _require(env: dict[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is required")
    return value


def _int(env: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def load_settings(env: dict[str, str]) -> Settings:
    """Build and check the settings from a mapping shaped like the environment."""
    secret = env.get("COURIER_JWT_SECRET") or None
    secret_param = env.get("COURIER_JWT_SECRET_PARAM") or None
    if secret is None and secret_param is None:
        raise SettingsError("set COURIER_JWT_SECRET (local) or COURIER_JWT_SECRET_PARAM (deployed)")
    return Settings(
        connections_table=_require(env, "COURIER_CONNECTIONS_TABLE"),
        channels_table=_require(env, "COURIER_CHANNELS_TABLE"),
        messages_table=_require(env, "COURIER_MESSAGES_TABLE"),
        memberships_table=_require(env, "COURIER_MEMBERSHIPS_TABLE"),
        dedup_table=_require(env, "COURIER_DEDUP_TABLE"),
        acks_table=_require(env, "COURIER_ACKS_TABLE"),
        retries_table=_require(env, "COURIER_RETRIES_TABLE"),
        notifications_table=_require(env, "COURIER_NOTIFICATIONS_TABLE"),
        presence_table=_require(env, "COURIER_PRESENCE_TABLE"),
        retry_queue_url=_require(env, "COURIER_RETRY_QUEUE_URL"),
        fanout_queue_url=_require(env, "COURIER_FANOUT_QUEUE_URL"),
        notify_queue_url=_require(env, "COURIER_NOTIFY_QUEUE_URL"),
        notify_topic_arn=_require(env, "COURIER_NOTIFY_TOPIC_ARN"),
        ws_endpoint=env.get("COURIER_WS_ENDPOINT") or None,
        jwt_secret=secret,
        jwt_secret_param=secret_param,
        retention_days=_int(env, "COURIER_RETENTION_DAYS", 365, 1),
        dedup_hours=_int(env, "COURIER_DEDUP_HOURS", 48, 24),
        connection_ttl_seconds=_int(env, "COURIER_CONNECTION_TTL_SECONDS", 3 * 3600, 7200),
        retry_base_seconds=_int(env, "COURIER_RETRY_BASE_SECONDS", 2, 1),
        max_retries=_int(env, "COURIER_MAX_RETRIES", 5, 0),
        fanout_inline_limit=_int(env, "COURIER_FANOUT_INLINE_LIMIT", 100, 1),
        notify_coalesce_seconds=_int(env, "COURIER_NOTIFY_COALESCE_SECONDS", 30, 0),
        recall_seconds=_int(env, "COURIER_RECALL_SECONDS", 120, 1),
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
    )


@cache
def get_settings() -> Settings:
    """The container's settings, checked on first use (cold start)."""
    return load_settings(dict(os.environ))
