"""The `typing` route (one-way): tell the other members the user types; errors are posted."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from courier import actions, observability
from courier.runtime import services
from courier.websocket import answer, post_reply

logger = Logger()
metrics = Metrics()
tracer = observability.tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services(metrics)
    return post_reply(svc, event, answer(event, actions.typing, lambda: svc, metrics))
