"""The services a handler works with, built lazily once per container.

Nothing here runs at import time: settings are read and clients opened on the first
invocation (cold start) and reused after. Tests call `reset_services()` between cases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from courier.delivery import ManagementApiPoster, MetricSink, Poster
from courier.jobs import JobQueue, SqsJobQueue
from courier.settings import Settings, get_settings
from courier.tables import Tables, shared_connection, unbind_tables


@dataclass
class Services:
    settings: Settings
    tables: Tables
    poster: Poster
    queue: JobQueue
    sns: Any
    metrics: MetricSink
    now_ms: Callable[[], int]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class _LazyPoster:
    """Opens the management API client on first use: most invocations never post."""

    def __init__(self, endpoint: str | None) -> None:
        self._endpoint = endpoint
        self._poster: ManagementApiPoster | None = None

    def _opened(self) -> ManagementApiPoster:
        if self._poster is None:
            if not self._endpoint:
                raise RuntimeError("COURIER_WS_ENDPOINT is not set; cannot reach connections")
            self._poster = ManagementApiPoster(
                _client("apigatewaymanagementapi", endpoint_url=self._endpoint)
            )
        return self._poster

    def post(self, connection_id: str, data: bytes) -> None:
        self._opened().post(connection_id, data)

    def connection_alive(self, connection_id: str) -> bool:
        return self._opened().connection_alive(connection_id)


_client_lock = threading.Lock()


def _client(service: str, endpoint_url: str | None = None) -> Any:
    """One client per service and endpoint per container (creating one costs ~50 ms).

    Locked: boto3 builds clients from a shared session, which is not thread-safe, and the
    local stack runs many invocations at once in one process (Lambda runs one).
    """
    with _client_lock:
        return _build_client(service, endpoint_url)


@cache
def _build_client(service: str, endpoint_url: str | None) -> Any:
    import boto3  # noqa: PLC0415 - on first use, not at import: cold start
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=2,
        read_timeout=5,
        max_pool_connections=32,
    )
    return boto3.client(service, config=config, endpoint_url=endpoint_url)


class _LazyClient:
    """A boto3 client opened on first use, so a route that never calls AWS never pays for it."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = _client(self._service)
        return getattr(self._client, name)


# One Services per metrics sink: a Lambda container runs one function (one sink); the
# local stack runs every function in one process, and each must count its own metrics.
_built: dict[int, Services] = {}


def services(metrics: MetricSink) -> Services:
    key = id(metrics)
    if key not in _built:
        settings = get_settings()
        _built[key] = Services(
            settings=settings,
            tables=Tables.from_settings(settings),
            poster=_LazyPoster(settings.ws_endpoint),
            queue=SqsJobQueue(_LazyClient("sqs")),
            sns=_LazyClient("sns"),
            metrics=metrics,
            now_ms=wall_clock_ms,
        )
    return _built[key]


def reset_services(*, clients: bool = False) -> None:
    """Forget the container's services and settings (tests and the local stack only);
    with `clients`, the boto3 clients too (when the AWS endpoint changes)."""
    _built.clear()
    get_settings.cache_clear()
    unbind_tables()
    if clients:
        _build_client.cache_clear()
        shared_connection.cache_clear()
