"""The admin HTTP API (IAM-authorized): tokens, group membership, unread counts, recalls."""

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from courier import admin, observability
from courier.errors import ProtocolError
from courier.runtime import services

logger = Logger()
metrics = Metrics()
tracer = observability.tracer()
app = APIGatewayHttpResolver()


@app.post("/admin/tokens")
def create_token() -> dict[str, Any]:
    return admin.create_token(services(metrics), admin.json_body(app.current_event.body))


@app.put("/admin/groups/<group>")
def put_group(group: str) -> dict[str, Any]:
    return admin.put_group(services(metrics), group, admin.json_body(app.current_event.body))


@app.get("/admin/users/<user>/unread")
def user_unread(user: str) -> dict[str, Any]:
    return admin.user_unread(services(metrics), user)


@app.delete("/admin/channels/<channel>/messages/<seq>")
def recall_message(channel: str, seq: str) -> Response[dict[str, Any]]:
    reply = admin.recall_message(services(metrics), unquote(channel), seq)
    status = 200 if reply.get("recalled") else 404
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=reply)


@app.exception_handler(ProtocolError)  # type: ignore[untyped-decorator]
def refuse(exc: ProtocolError) -> Response[dict[str, str]]:
    return Response(
        status_code=400,
        content_type=content_types.APPLICATION_JSON,
        body={"error": exc.code, "message": exc.message},
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="AdminCalls", unit=MetricUnit.Count, value=1)
    return app.resolve(event, context)
