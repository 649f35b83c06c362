"""An API Gateway emulator on loopback: the WebSocket API, its @connections management
API, and the admin HTTP API, each driving the deployable handlers with Lambda events.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from local.events import (
    Client,
    authorizer_event,
    connect_event,
    disconnect_event,
    http_api_event,
    message_event,
    new_id,
    now_ms,
)
from local.invoker import Invoker
from local.quotas import MESSAGE_LIMIT, MESSAGE_TOO_BIG, FrameMeter, Timeouts
from local.routes import HttpRoute, WebSocketApi
from local.static import StaticFiles

log = logging.getLogger("courier.local")

GOING_AWAY = (int(WSCloseCode.GOING_AWAY), "Going away")
CLIENT_CLOSE = "Client-side close frame status code"
CLIENT_CLOSE_WITHOUT_CODE = (1005, "Client-side close frame status not set")


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(payload),
        content_type="application/json",
        headers=headers,
    )


def _iso(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms / 1000)) + "Z"


def _error(code: str, status: int, message: str | None) -> web.Response:
    """A management API error the way botocore reads it (x-amzn-ErrorType names it)."""
    return _json(status, {"message": message}, {"x-amzn-ErrorType": code})


def _error_parts(code: str, status: int, message: str | None) -> tuple[int, dict[str, str], bytes]:
    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
    return status, headers, json.dumps({"message": message}).encode()


@dataclass
class Connection:
    client: Client
    ws: web.WebSocketResponse
    last_active_ms: int
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed_by_server: tuple[int, str] | None = None  # the $disconnect status code and reason

    async def send(self, text: str) -> None:
        async with self.send_lock:
            await self.ws.send_str(text)
        self.last_active_ms = now_ms()  # a message either way keeps the connection alive

    async def close(self, code: int, reason: str) -> None:
        self.closed_by_server = (int(code), reason)
        await self.ws.close(code=code, message=reason.encode())

    def disconnect_status(self, meter: FrameMeter) -> tuple[int, str]:
        """What API Gateway reports in the $disconnect event."""
        if meter.too_big:
            return MESSAGE_TOO_BIG, "Message too big"
        if self.closed_by_server is not None:
            return self.closed_by_server
        code = self.ws.close_code
        if code in (None, 0, CLIENT_CLOSE_WITHOUT_CODE[0]):
            return CLIENT_CLOSE_WITHOUT_CODE
        return int(code), CLIENT_CLOSE


def _allowed(decision: Any) -> bool:
    try:
        statements = decision["policyDocument"]["Statement"]
        return bool(statements) and all(s.get("Effect") == "Allow" for s in statements)
    except (KeyError, TypeError, AttributeError):
        return False


class Gateway:
    def __init__(
        self,
        api: WebSocketApi,
        http_routes: list[HttpRoute],
        invoke: Invoker,
        timeouts: Timeouts | None = None,
        static: StaticFiles | None = None,
    ) -> None:
        self.api = api
        self.static = static
        self.http_routes = http_routes
        self.invoke = invoke
        self.timeouts = timeouts if timeouts is not None else Timeouts.from_environ()
        self.connections: dict[str, Connection] = {}
        self._handlers: set[asyncio.Task[Any]] = set()
        self.app = web.Application()
        self.app.router.add_get("/", self.websocket)
        self.app.router.add_post("/@connections/{id}", self.post_to_connection)
        self.app.router.add_get("/@connections/{id}", self.get_connection)
        self.app.router.add_delete("/@connections/{id}", self.delete_connection)
        self.app.router.add_route("*", "/admin{tail:.*}", self.admin)
        if static is not None:  # after the routes above: they keep their paths
            self.app.router.add_get("/{path:.+}", static.handle)

    # ------------------------------------------------------------ WebSocket API
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """`/`: the WebSocket API on an upgrade, else (locally only) the web page."""
        if self.static is not None and "Upgrade" not in request.headers:
            return await self.static.handle(request)
        if not web.WebSocketResponse().can_prepare(request).ok:
            return _json(426, {"message": "Upgrade Required"})
        client = Client(
            connection_id=new_id(),
            connected_at=now_ms(),
            source_ip=request.remote or "127.0.0.1",
            user_agent=request.headers.get("User-Agent", ""),
            domain_name=request.host,
            headers={name: request.headers[name] for name in request.headers},
            query={name: request.query.getall(name) for name in request.query},
        )
        refusal = await self._authorize_and_connect(request, client)
        if isinstance(refusal, web.Response):
            return refusal
        client = refusal
        # No permessage-deflate (API Gateway offers none); the meter enforces the sizes, and
        # aiohttp's own limit only backs it up.
        ws = web.WebSocketResponse(max_msg_size=MESSAGE_LIMIT + 1, autoping=True, compress=False)
        await ws.prepare(request)
        transport = request.transport
        assert transport is not None
        meter = FrameMeter(transport)
        transport.set_protocol(meter)
        connection = Connection(client, ws, now_ms())
        self.connections[client.connection_id] = connection
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        expiry = asyncio.get_running_loop().create_task(self._expire(connection))
        try:
            await self._serve(connection)
        finally:
            expiry.cancel()
            self.connections.pop(client.connection_id, None)
            code, reason = connection.disconnect_status(meter)
            route = self.api.routes.get("$disconnect")
            if route is not None:
                # A failure is logged by the invoker; there is nobody left to tell.
                with contextlib.suppress(Exception):
                    await self.invoke(route.function, disconnect_event(client, code, reason))
            if task is not None:
                self._handlers.discard(task)
        return ws

    async def _expire(self, connection: Connection) -> None:
        """Close the connection when it has been idle, or open, for too long (1001)."""
        timeouts = self.timeouts
        ends_ms = connection.client.connected_at + int(timeouts.max_connection_seconds * 1000)
        while True:
            idle_ms = connection.last_active_ms + int(timeouts.idle_seconds * 1000)
            wait_ms = min(idle_ms, ends_ms) - now_ms()
            if wait_ms <= 0:
                break
            await asyncio.sleep(wait_ms / 1000)
        await connection.close(*GOING_AWAY)

    async def _authorize_and_connect(
        self, request: web.Request, client: Client
    ) -> Client | web.Response:
        """The client with its authorizer context, or the handshake's refusal."""
        context: dict[str, Any] = {}
        authorizer = self.api.authorizer
        if authorizer is not None:
            missing = [q for q in authorizer.query_sources if not request.query.get(q)] + [
                h for h in authorizer.header_sources if not request.headers.get(h)
            ]
            if missing:
                return _json(401, {"message": "Unauthorized"})
            started = time.monotonic()
            try:
                decision = await self.invoke(
                    authorizer.function, authorizer_event(client, new_id())
                )
            except Exception:
                return _json(500, {"message": "Internal server error"})
            if not _allowed(decision):
                return _json(403, {"message": "Forbidden"})
            context = {
                **{k: v for k, v in (decision.get("context") or {}).items() if v is not None},
                "principalId": decision.get("principalId"),
                "integrationLatency": int((time.monotonic() - started) * 1000),
            }
        client = replace(client, authorizer=context)
        route = self.api.routes.get("$connect")
        if route is not None:
            try:
                result = await self.invoke(route.function, connect_event(client, new_id()))
            except Exception:
                return _json(500, {"message": "Internal server error"})
            status = result.get("statusCode", 200) if isinstance(result, dict) else 200
            if not 200 <= int(status) < 300:
                return web.Response(status=int(status))
        return client

    async def _serve(self, connection: Connection) -> None:
        ws = connection.ws
        while not ws.closed:
            msg = await ws.receive()
            if msg.type is WSMsgType.TEXT:
                await self._on_frame(connection, msg.data)
            elif msg.type is WSMsgType.BINARY:
                # API Gateway takes no binary frames: it closes the connection with 1003.
                await connection.close(WSCloseCode.UNSUPPORTED_DATA, "Binary frames not supported")
                return
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            elif msg.type is WSMsgType.ERROR:
                code = ws.close_code or WSCloseCode.PROTOCOL_ERROR
                connection.closed_by_server = (int(code), f"Frame error: {msg.data}")
                return

    async def _on_frame(self, connection: Connection, text: str) -> None:
        connection.last_active_ms = now_ms()
        request_id = new_id()
        try:
            frame: Any = json.loads(text)
        except ValueError:
            frame = None
        route = self.api.select(frame)
        client = connection.client
        failure = {"connectionId": client.connection_id, "requestId": request_id}
        if route is None:
            await self._reply(connection, {"message": "Forbidden", **failure})
            return
        try:
            result = await self.invoke(
                route.function, message_event(client, route.key, text, request_id)
            )
        except Exception:
            await self._reply(connection, {"message": "Internal server error", **failure})
            return
        if route.two_way and isinstance(result, dict) and result.get("body") is not None:
            body = result["body"]
            if result.get("isBase64Encoded"):
                body = base64.b64decode(body).decode("utf-8", errors="replace")
            await self._send(connection, body if isinstance(body, str) else json.dumps(body))

    async def _reply(self, connection: Connection, payload: dict[str, Any]) -> None:
        await self._send(connection, json.dumps(payload))

    async def _send(self, connection: Connection, text: str) -> None:
        try:
            await connection.send(text)
        except ConnectionError:
            log.info("connection %s went away", connection.client.connection_id)

    async def close_all(self) -> None:
        """Close every socket (1001, as a stage going away) and wait for their $disconnect."""
        for connection in list(self.connections.values()):
            await connection.close(*GOING_AWAY)
        pending = [task for task in self._handlers if task is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=10)

    # ----------------------------------------------------- @connections API
    def _live(self, request: web.Request) -> Connection | None:
        connection = self.connections.get(request.match_info["id"])
        return None if connection is None or connection.ws.closed else connection

    async def post_to_connection(self, request: web.Request) -> web.Response:
        status, headers, body = await self.post(request.match_info["id"], await request.read())
        return web.Response(status=status, headers=headers, body=body)

    async def post(self, connection_id: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
        """PostToConnection: its HTTP status, headers and body (over HTTP, or in-process
        from the handlers: local/connections_api.py)."""
        connection = self.connections.get(connection_id)
        if connection is None or connection.ws.closed:
            return _error_parts("GoneException", 410, None)
        if len(data) > MESSAGE_LIMIT:
            return _error_parts("PayloadTooLargeException", 413, "Message too long")
        try:
            await connection.send(data.decode("utf-8", errors="replace"))
        except ConnectionError:
            return _error_parts("GoneException", 410, None)
        return 200, {}, b""

    async def get_connection(self, request: web.Request) -> web.Response:
        connection = self._live(request)
        if connection is None:
            return _error("GoneException", 410, None)
        client = connection.client
        return _json(
            200,
            {
                "connectedAt": _iso(client.connected_at),
                "identity": {"sourceIp": client.source_ip, "userAgent": client.user_agent},
                "lastActiveAt": _iso(connection.last_active_ms),
            },
        )

    async def delete_connection(self, request: web.Request) -> web.Response:
        connection = self._live(request)
        if connection is None:
            return _error("GoneException", 410, None)
        # Close from another task: this request must not wait for the socket's handler.
        closing = connection.close(WSCloseCode.OK, "Connection disconnected by server")
        task = asyncio.get_running_loop().create_task(closing)
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        return web.Response(status=204)

    # ------------------------------------------------------------ admin API
    async def admin(self, request: web.Request) -> web.Response:
        for route in self.http_routes:
            parameters = route.match(request.method, request.path)
            if parameters is not None:
                break
        else:
            return _json(404, {"message": "Not Found"})
        headers = {name: ",".join(request.headers.getall(name)) for name in request.headers}
        event = http_api_event(
            request.method,
            request.path,
            raw_query=request.query_string,
            headers=headers,
            body=await request.read(),
            source_ip=request.remote or "127.0.0.1",
            route_key=route.key,
        )
        if parameters:
            event["pathParameters"] = parameters
        try:
            result = await self.invoke(route.function, event)
        except Exception:
            return _json(500, {"message": "Internal Server Error"})
        if not (isinstance(result, dict) and "statusCode" in result):
            return _json(200, result)  # payload v2.0: a bare value is a 200 JSON body
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        response = web.Response(status=int(result["statusCode"]), body=raw)
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = str(value)
        return response
