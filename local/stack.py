"""Bootstrap of the local stack: moto, resources from template.yaml, the handlers'
environment.

The handlers reach moto in-process (`mock_aws`: their boto3 calls to AWS's own URLs are
answered without a socket), as a deployed function reaches AWS without a hop through
anything of ours. moto's server runs beside it on the same state, for the AWS CLI,
admin tools and anything outside the process. COURIER_WS_ENDPOINT points the
@connections calls at the local gateway; moto lets those through, as they are not AWS's
URLs.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from local.environment import LOCAL_JWT_SECRET, apply_local_environment
from local.handlers import LAYER_DIR
from local.moto_patches import (
    AtomicDynamoDB,
    DynamoDBCostPatches,
    FifoDeduplicationWindow,
    ForgetUsedShardIterators,
    Patch,
    ResponseMethodCache,
    SqsCostPatches,
    UpdateExpressionCache,
)
from local.signing import UnsignedInProcessCalls
from local.template import (
    create_queues,
    create_tables,
    create_topics,
    load_template,
    parameter_env,
    resource_env,
)

HOST = "127.0.0.1"
_werkzeug = logging.getLogger("werkzeug")
# Names of the deployed stack that mean nothing locally (the secret is a literal here).
_NOT_LOCAL = frozenset({"COURIER_JWT_SECRET_PARAM", "COURIER_WS_ENDPOINT"})


def _reset_handler_services() -> None:
    """Forget services and boto3 clients the handlers built against another endpoint."""
    if str(LAYER_DIR) not in sys.path:
        sys.path.insert(0, str(LAYER_DIR))
    from courier import runtime  # noqa: PLC0415 - the layer is on sys.path from here

    runtime.reset_services(clients=True)


def _moto_patches() -> list[Patch]:
    """moto as AWS behaves (atomic requests, FIFO deduplication), at the cost of what a
    request touches (local/moto_patches.py)."""
    return [
        AtomicDynamoDB(),
        FifoDeduplicationWindow(),
        DynamoDBCostPatches(),
        SqsCostPatches(),
        ResponseMethodCache(),
        UpdateExpressionCache(),
        ForgetUsedShardIterators(),
    ]


# botocore 1.44 sends DynamoDB Streams calls to an account endpoint
# (<account>.streams-ddb.<region>.amazonaws.com), which moto 5.2 does not route: its clients
# are given the regional endpoint moto knows.
_MOTO_ROUTED_ENDPOINTS = {"dynamodbstreams": "https://streams.dynamodb.us-east-1.amazonaws.com"}


@dataclass
class LocalStack:
    """moto server + the template's tables, queues and topics + the handlers' environment."""

    moto_port: int = 0
    template: dict[str, Any] = field(default_factory=load_template)
    endpoint: str = ""
    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    _server: Any = None
    _mock: Any = None
    _saved_environ: dict[str, str] | None = None
    _werkzeug_level: int = logging.NOTSET
    _moto_patches: list[Patch] = field(default_factory=_moto_patches)
    _unsigned: UnsignedInProcessCalls = field(default_factory=UnsignedInProcessCalls)

    def start(self) -> None:
        import boto3  # noqa: PLC0415 - after the environment is set
        from moto import mock_aws  # noqa: PLC0415
        from moto.server import ThreadedMotoServer  # noqa: PLC0415

        self._saved_environ = dict(os.environ)
        # moto's server logs every request; keep the handlers' own output readable.
        self._werkzeug_level = _werkzeug.level
        _werkzeug.setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=HOST, port=self.moto_port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        for patch in self._moto_patches:
            patch.install()
        # In-process: no endpoint override may send the handlers' calls elsewhere.
        for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
            del os.environ[name]
        self._mock = mock_aws()
        self._mock.start(reset=False)  # moto's server and this share one state
        self._unsigned.install()  # before any client is built
        os.environ.setdefault("COURIER_JWT_SECRET", LOCAL_JWT_SECRET)
        apply_local_environment({})
        # A local run makes its own credentials; never sign with a real profile's keys.
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ["AWS_ACCESS_KEY_ID"] = "local"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"
        self.tables = create_tables(boto3.client("dynamodb"), self.template)
        self.queues = create_queues(boto3.client("sqs"), self.template)
        self.topics = create_topics(boto3.client("sns"), self.template)
        settings = {
            name: value
            for name, value in parameter_env(self.template).items()
            if name not in _NOT_LOCAL
        }
        self.environment = apply_local_environment(
            {**settings, **resource_env(self.tables, self.queues, self.topics, self.template)}
        )
        _reset_handler_services()

    def set_ws_endpoint(self, url: str) -> None:
        """Where the handlers' PostToConnection calls go: the local gateway."""
        os.environ["COURIER_WS_ENDPOINT"] = url
        self.environment["COURIER_WS_ENDPOINT"] = url
        _reset_handler_services()

    def client(self, service: str) -> Any:
        """An in-process client of the stack's moto (as the handlers' are)."""
        import boto3  # noqa: PLC0415

        return boto3.client(
            service, region_name="us-east-1", endpoint_url=_MOTO_ROUTED_ENDPOINTS.get(service)
        )

    def stop(self) -> None:
        self._unsigned.uninstall()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._server is not None:
            self._server.stop()
            wsgi = getattr(self._server, "_server", None)
            if wsgi is not None:
                wsgi.server_close()  # stop() leaves the listening socket open
            self._server = None
        for patch in reversed(self._moto_patches):
            patch.uninstall()
        _werkzeug.setLevel(self._werkzeug_level)
        if self._saved_environ is not None:
            os.environ.clear()
            os.environ.update(self._saved_environ)
            self._saved_environ = None
        _reset_handler_services()
