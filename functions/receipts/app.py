"""The `receipts` route: who of a channel's members has read up to a message."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from courier import actions, observability
from courier.runtime import services
from courier.websocket import answer, route_response

logger = Logger()
metrics = Metrics()
tracer = observability.tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return route_response(answer(event, actions.receipts, lambda: services(metrics), metrics))
