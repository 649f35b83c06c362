"""The whole local stack in one asyncio loop: moto, the gateway, the SQS pollers.

`LocalServer` runs inside a loop (`python -m local.run`); `ServerThread` runs one in a
background thread with its own loop (tests).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from local.connections_api import InProcessPosts
from local.gateway import Gateway
from local.invoker import Invoker
from local.pollers import Poller
from local.routes import load_http_routes, load_websocket_api
from local.stack import HOST, LocalStack
from local.static import WEB_ROOT, StaticFiles
from local.stream_poller import StreamPoller
from local.template import StreamMapping, event_source_mappings, stream_mappings

HANDLER_THREADS = 64  # invocations (WebSocket routes and SQS batches at once) and SQS calls
SHUTDOWN_SECONDS = 5.0  # how long Ctrl-C waits for requests in flight


@dataclass
class LocalServer:
    port: int = 3001
    moto_port: int = 0
    host: str = HOST
    stack: LocalStack = field(default_factory=LocalStack)
    web_root: Path | None = WEB_ROOT  # the web chat page's files; None serves no page
    url: str = ""
    gateway: Gateway | None = None
    pollers: list[Poller] = field(default_factory=list)
    stream_pollers: list[StreamPoller] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _executor: ThreadPoolExecutor | None = None
    _posts: InProcessPosts | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="courier-local")
        loop.set_default_executor(self._executor)
        self.stack.moto_port = self.moto_port
        await asyncio.to_thread(self.stack.start)
        template = self.stack.template
        api, http_routes = load_websocket_api(template), load_http_routes(template)
        mappings, streams = event_source_mappings(template), stream_mappings(template)
        functions = [r.function for r in api.routes.values()]
        functions += [r.function for r in http_routes] + [m["function"] for m in mappings]
        functions += [m["function"] for m in streams]
        if api.authorizer is not None:
            functions.append(api.authorizer.function)
        invoke = await asyncio.to_thread(Invoker, functions)
        static = StaticFiles(self.web_root) if self.web_root is not None else None
        self.gateway = Gateway(api, http_routes, invoke, static=static)
        self._runner = web.AppRunner(
            self.gateway.app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])
        self.url = f"http://{self.host}:{self.port}"
        self._posts = InProcessPosts(self.gateway, self.url, loop)
        self._posts.install()  # before the handlers' clients are rebuilt for the gateway
        self.stack.set_ws_endpoint(self.url)
        for stream_mapping in streams:
            self._tasks.append(loop.create_task(await self._stream_poller(stream_mapping, invoke)))
        for mapping in mappings:
            sqs = self.stack.client("sqs")
            poller = await asyncio.to_thread(
                Poller, mapping, self.stack.queues[mapping["queue"]], sqs, invoke
            )
            self.pollers.append(poller)
            self._tasks.append(loop.create_task(poller.run(self._stopping)))

    async def _stream_poller(self, mapping: StreamMapping, invoke: Invoker) -> Any:
        """The poller of one stream event source, started on the loop: its run() coroutine."""
        table = self.stack.tables[mapping["table"]]
        dynamodb = self.stack.client("dynamodb")
        described = await asyncio.to_thread(dynamodb.describe_table, TableName=table)
        destination = mapping["on_failure"]
        poller = StreamPoller(
            mapping,
            described["Table"]["LatestStreamArn"],
            self.stack.client("dynamodbstreams"),
            invoke,
            sqs=self.stack.client("sqs"),
            on_failure_url=self.stack.queues[destination] if destination else None,
        )
        self.stream_pollers.append(poller)
        return poller.run(self._stopping)

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:  # stop listening first: clients reconnect at once
            for site in list(self._runner.sites):
                await site.stop()
        if self.gateway is not None:
            await self.gateway.close_all()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._posts is not None:
            self._posts.uninstall()
        await asyncio.to_thread(self.stack.stop)
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    def settings(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "page": f"{self.url}/",
            "websocket": f"ws://{self.host}:{self.port}/?token=<JWT>",
            "admin": f"{self.url}/admin",
            "moto": self.stack.endpoint,
            "environment": dict(sorted(self.stack.environment.items())),
            "pollers": {
                p.mapping["queue"]: f"{p.mapping['function']} (batch {p.mapping['BatchSize']},"
                f" visibility {p.mapping['VisibilityTimeout']} s)"
                for p in self.pollers
            },
        }


class ServerThread:
    """A LocalServer on its own loop in a background thread; `start()` returns its URL."""

    def __init__(self, port: int = 0, moto_port: int = 0) -> None:
        self.server = LocalServer(port=port, moto_port=moto_port)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="courier-local-stack")

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            await self.server.stop()
            return
        self._ready.set()
        await self._stop.wait()
        await self.server.stop()

    def start(self) -> str:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise RuntimeError("the local stack did not start") from self._error
        return self.server.url

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
