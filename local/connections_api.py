"""The handlers' PostToConnection calls, answered in-process by the gateway.

A deployed function's post goes to API Gateway's @connections API; here it would go
through botocore's HTTP stack to the gateway's own HTTP server, in the same process, and
back: about a tenth of the stack's CPU under load, for nothing the handlers can observe.
A botocore `before-send` hook (as moto answers the AWS calls) hands a post addressed to
the gateway straight to `Gateway.post` on the event loop and gives botocore its answer.
The signed request is still built and the client still parses the reply, so the
handlers' code and its errors (410 Gone, 413) are exactly those of an HTTP post. Other
@connections calls (GET, DELETE) and anyone outside the process still use HTTP.
"""

from __future__ import annotations

import asyncio
import re
from io import BytesIO
from typing import Any
from urllib.parse import unquote

from botocore.awsrequest import AWSResponse

from local import botocore_hooks
from local.gateway import Gateway

POST_TIMEOUT_SECONDS = 30.0


class _Body(BytesIO):
    """A response body as botocore reads one from urllib3."""

    def stream(self, **_: Any) -> Any:
        yield self.read()


class InProcessPosts:
    def __init__(self, gateway: Gateway, url: str, loop: asyncio.AbstractEventLoop) -> None:
        self._gateway = gateway
        self._loop = loop
        self._pattern = re.compile(re.escape(url.rstrip("/")) + r"/@connections/([^/?]+)$")

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        match = self._pattern.match(request.url)
        if match is None or request.method != "POST":
            return None  # not ours: botocore sends it
        body = request.body or b""
        data = body if isinstance(body, bytes) else body.read()
        post = self._gateway.post(unquote(match.group(1)), data)
        future = asyncio.run_coroutine_threadsafe(post, self._loop)
        status, headers, payload = future.result(POST_TIMEOUT_SECONDS)
        return AWSResponse(request.url, status, headers, _Body(payload))

    def install(self) -> None:
        """For the handlers' clients built from now on."""
        botocore_hooks.add("before-send", self)

    def uninstall(self) -> None:
        botocore_hooks.remove("before-send", self)
