"""Lambda events as API Gateway and the SQS event source build them, for the local stack.

Shapes follow the samples in events/ (authorizer-allow, connect, send-dm, disconnect,
admin-create-token, retry_worker-probe).
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
API_ID = "local"
ADMIN_API_ID = "localadmin"
STAGE = "local"


def new_id() -> str:
    """An id shaped like API Gateway's connection, request and message ids ("d4NsecoByQ0CH-Q="):
    URL-safe base64, so a connection id fits an @connections path as it is."""
    return base64.urlsafe_b64encode(secrets.token_bytes(10)).decode()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _request_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as `context` (what Powertools reads from it)."""

    function_name: str
    memory_limit_in_mb: int = 256
    timeout_ms: int = 10_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self.started) * 1000))


@dataclass(frozen=True)
class Client:
    """One WebSocket connection as API Gateway knows it."""

    connection_id: str
    connected_at: int  # ms
    source_ip: str
    user_agent: str
    domain_name: str
    headers: Mapping[str, str]
    query: Mapping[str, list[str]]
    authorizer: Mapping[str, Any] = field(default_factory=dict)


def _multi(values: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {name: list(items) for name, items in values.items()}


def _single(values: Mapping[str, list[str]]) -> dict[str, str]:
    return {name: items[-1] for name, items in values.items() if items}


def _websocket_context(
    client: Client, route_key: str, event_type: str, request_id: str
) -> dict[str, Any]:
    epoch = now_ms()
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _request_time(epoch),
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": client.connected_at,
        "requestTimeEpoch": epoch,
        "identity": {"sourceIp": client.source_ip, "userAgent": client.user_agent},
        "requestId": request_id,
        "domainName": client.domain_name,
        "connectionId": client.connection_id,
        "apiId": API_ID,
    }


def _header_maps(client: Client) -> dict[str, Any]:
    headers = dict(client.headers)
    return {"headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()}}


def authorizer_event(client: Client, request_id: str) -> dict[str, Any]:
    """A REQUEST authorizer event for $connect."""
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/$connect",
        **_header_maps(client),
        "queryStringParameters": _single(client.query),
        "multiValueQueryStringParameters": _multi(client.query),
        "stageVariables": {},
        "requestContext": _websocket_context(client, "$connect", "CONNECT", request_id),
    }


def connect_event(client: Client, request_id: str) -> dict[str, Any]:
    context = _websocket_context(client, "$connect", "CONNECT", request_id)
    context["authorizer"] = dict(client.authorizer)
    event: dict[str, Any] = {**_header_maps(client), "requestContext": context}
    if client.query:
        event["queryStringParameters"] = _single(client.query)
        event["multiValueQueryStringParameters"] = _multi(client.query)
    event["isBase64Encoded"] = False
    return event


def message_event(client: Client, route_key: str, body: str, request_id: str) -> dict[str, Any]:
    context = _websocket_context(client, route_key, "MESSAGE", request_id)
    context["messageId"] = new_id()
    context["authorizer"] = dict(client.authorizer)
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_event(client: Client, status_code: int, reason: str) -> dict[str, Any]:
    context = _websocket_context(client, "$disconnect", "DISCONNECT", new_id())
    context["authorizer"] = dict(client.authorizer)
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    # The headers API Gateway puts on every $disconnect event, whatever the handshake had.
    headers = {"Host": client.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }


# Deployed, the admin API is IAM-authorized and its events name the signing caller.
_LOCAL_CALLER: dict[str, Any] = {
    "accessKey": "local",
    "accountId": ACCOUNT_ID,
    "callerId": "local",
    "cognitoIdentity": None,
    "principalOrgId": None,
    "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/local",
    "userId": "local",
}


def http_api_event(
    method: str,
    path: str,
    *,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    source_ip: str,
    route_key: str = "$default",
) -> dict[str, Any]:
    """An HTTP API payload format 2.0 event."""
    epoch = now_ms()
    lowered = {name.lower(): value for name, value in headers.items()}
    request_id = new_id()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": ADMIN_API_ID,
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": ADMIN_API_ID,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "authorizer": {"iam": _LOCAL_CALLER},
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": _request_time(epoch),
            "timeEpoch": epoch,
        },
        "isBase64Encoded": False,
    }
    if raw_query:
        from urllib.parse import parse_qsl  # noqa: PLC0415 - rarely needed

        event["queryStringParameters"] = dict(parse_qsl(raw_query, keep_blank_values=True))
    if body:
        try:
            event["body"] = body.decode()
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def _lambda_message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for name, value in attributes.items():
        binary = value.get("BinaryValue")
        converted[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
    return converted


def sqs_event(messages: list[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event an SQS event source mapping hands its function for a received batch."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": _lambda_message_attributes(
                    message.get("MessageAttributes", {})
                ),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


def dynamodb_stream_event(records: list[Mapping[str, Any]], stream_arn: str) -> dict[str, Any]:
    """The event a DynamoDB stream event source mapping hands its function for a batch:
    the stream records as GetRecords returns them, each with its stream's ARN, and the
    creation time in epoch seconds (botocore parses it into a datetime)."""
    shaped = []
    for record in records:
        dynamodb = dict(record["dynamodb"])
        created: Any = dynamodb.get("ApproximateCreationDateTime")
        if hasattr(created, "timestamp"):
            dynamodb["ApproximateCreationDateTime"] = float(int(created.timestamp()))
        shaped.append({**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn})
    return {"Records": shaped}
