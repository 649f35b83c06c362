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
from local.routes import HttpRoute, WebSocketApi

log = logging.getLogger("courier.local")

FRAME_LIMIT = 32 * 1024  # API Gateway: larger frames close the connection with 1009
MESSAGE_LIMIT = 128 * 1024  # PostToConnection payloads
IDLE_TIMEOUT_SECONDS = 600.0


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


@dataclass
class Connection:
    client: Client
    ws: web.WebSocketResponse
    last_active_ms: int
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    server_close_reason: str | None = None

    async def send(self, text: str) -> None:
        async with self.send_lock:
            await self.ws.send_str(text)


def _allowed(decision: Any) -> bool:
    try:
        statements = decision["policyDocument"]["Statement"]
        return bool(statements) and all(s.get("Effect") == "Allow" for s in statements)
    except (KeyError, TypeError, AttributeError):
        return False


class Gateway:
    def __init__(self, api: WebSocketApi, http_routes: list[HttpRoute], invoke: Invoker) -> None:
        self.api = api
        self.http_routes = http_routes
        self.invoke = invoke
        self.connections: dict[str, Connection] = {}
        self._handlers: set[asyncio.Task[Any]] = set()
        self.app = web.Application()
        self.app.router.add_get("/", self.websocket)
        self.app.router.add_post("/@connections/{id}", self.post_to_connection)
        self.app.router.add_get("/@connections/{id}", self.get_connection)
        self.app.router.add_delete("/@connections/{id}", self.delete_connection)
        self.app.router.add_route("*", "/admin{tail:.*}", self.admin)

    # ------------------------------------------------------------ WebSocket API
    async def websocket(self, request: web.Request) -> web.StreamResponse:
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
        ws = web.WebSocketResponse(max_msg_size=FRAME_LIMIT, autoping=True)
        await ws.prepare(request)
        connection = Connection(client, ws, now_ms())
        self.connections[client.connection_id] = connection
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._serve(connection)
        finally:
            self.connections.pop(client.connection_id, None)
            code = ws.close_code if ws.close_code is not None else WSCloseCode.ABNORMAL_CLOSURE
            reason = connection.server_close_reason or "Client-side close frame status code"
            route = self.api.routes.get("$disconnect")
            if route is not None:
                # A failure is logged by the invoker; there is nobody left to tell.
                with contextlib.suppress(Exception):
                    await self.invoke(route.function, disconnect_event(client, int(code), reason))
            if task is not None:
                self._handlers.discard(task)
        return ws

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
            try:
                msg = await ws.receive(timeout=IDLE_TIMEOUT_SECONDS)
            except TimeoutError:
                connection.server_close_reason = "Going away"
                await ws.close(code=WSCloseCode.GOING_AWAY)
                return
            if msg.type is WSMsgType.TEXT:
                await self._on_frame(connection, msg.data)
            elif msg.type is WSMsgType.BINARY:
                await self._on_frame(connection, msg.data.decode("utf-8", errors="replace"))
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            elif msg.type is WSMsgType.ERROR:
                connection.server_close_reason = f"Frame error: {msg.data}"
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
            connection.server_close_reason = "Going away"
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"Going away")
        pending = [task for task in self._handlers if task is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=10)

    # ----------------------------------------------------- @connections API
    def _live(self, request: web.Request) -> Connection | None:
        connection = self.connections.get(request.match_info["id"])
        return None if connection is None or connection.ws.closed else connection

    async def post_to_connection(self, request: web.Request) -> web.Response:
        connection = self._live(request)
        if connection is None:
            return _error("GoneException", 410, None)
        data = await request.read()
        if len(data) > MESSAGE_LIMIT:
            return _error("PayloadTooLargeException", 413, "Message too long")
        try:
            await connection.send(data.decode("utf-8", errors="replace"))
        except ConnectionError:
            return _error("GoneException", 410, None)
        return web.Response(status=200)

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
        connection.server_close_reason = "Connection disconnected by server"
        # Close from another task: this request must not wait for the socket's handler.
        asyncio.get_running_loop().create_task(connection.ws.close(code=WSCloseCode.OK))
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
