"""The edge between API Gateway WebSocket events and Courier's actions.

Turns an event into (caller, frame), runs one action, and turns its outcome (a reply,
a ProtocolError, or any other exception) into the frame the client gets back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException

from courier.dynamo import error_code, is_throttling
from courier.errors import FORBIDDEN, INTERNAL, THROTTLED, ProtocolError
from courier.frames import check_request_id, decode_frame, dumps, encode, error_frame, request_id
from courier.ids import is_name

if TYPE_CHECKING:
    from courier.delivery import MetricSink
    from courier.runtime import Services

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """Who sent a frame: the authorizer's user and device, and their connection."""

    user: str
    device: str
    connection_id: str


def caller_of(event: dict[str, Any]) -> Caller:
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    user = authorizer.get("userId") or authorizer.get("principalId")
    device = authorizer.get("deviceId") or "default"
    connection_id = context.get("connectionId")
    if not is_name(user) or not is_name(device) or not isinstance(connection_id, str):
        raise ProtocolError(FORBIDDEN, "this connection is not authenticated")
    return Caller(user=user, device=device, connection_id=connection_id)


Action = Callable[["Services", Caller, dict[str, Any]], "dict[str, Any] | None"]


def answer(
    event: dict[str, Any], action: Action, services: Callable[[], Services], metrics: MetricSink
) -> dict[str, Any] | None:
    """Run `action` on the event's frame; the direct reply, or the error frame."""
    frame: dict[str, Any] | None = None
    try:
        frame = decode_frame(event.get("body"), base64_encoded=bool(event.get("isBase64Encoded")))
        check_request_id(frame)
        caller = caller_of(event)
        reply = action(services(), caller, frame)
    except ProtocolError as exc:
        metrics.add_metric(name=f"Error_{exc.code}", unit=MetricUnit.Count, value=1)
        logger.info("frame refused", extra={"code": exc.code, "reason": exc.message})
        return error_frame(exc.code, exc.message, frame)
    except (ClientError, PynamoDBException) as exc:
        code = THROTTLED if is_throttling(exc) else INTERNAL
        metrics.add_metric(name=f"Error_{code}", unit=MetricUnit.Count, value=1)
        logger.exception("AWS call failed", extra={"aws_error": error_code(exc)})
        return error_frame(code, "the service is busy or failing; send the frame again", frame)
    except Exception:
        metrics.add_metric(name=f"Error_{INTERNAL}", unit=MetricUnit.Count, value=1)
        logger.exception("frame failed")
        return error_frame(INTERNAL, "internal error; the frame was not carried out", frame)
    metrics.add_metric(name="Frames", unit=MetricUnit.Count, value=1)
    if reply is not None and frame is not None and (rid := request_id(frame)) is not None:
        reply = {**reply, "requestId": rid}
    return reply


def route_response(reply: dict[str, Any] | None) -> dict[str, Any]:
    """A Lambda proxy result: a two-way route sends `body` back on the same connection."""
    if reply is None:
        return {"statusCode": 200}
    return {"statusCode": 200, "body": dumps(reply)}


def post_reply(
    svc: Services, event: dict[str, Any], reply: dict[str, Any] | None
) -> dict[str, Any]:
    """For one-way routes (ack): a reply, if any, is posted to the asking connection."""
    connection_id = (event.get("requestContext") or {}).get("connectionId")
    if reply is not None and isinstance(connection_id, str):
        try:
            svc.poster.post(connection_id, encode(reply))
        except Exception:
            logger.exception("could not post the reply")
    return {"statusCode": 200}
