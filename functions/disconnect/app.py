"""The $disconnect route: forget the connection."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from courier import observability
from courier.lifecycle import on_disconnect
from courier.runtime import services

logger = Logger()
metrics = Metrics()
tracer = observability.tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Disconnects", unit=MetricUnit.Count, value=1)
    return on_disconnect(services(metrics), event)
