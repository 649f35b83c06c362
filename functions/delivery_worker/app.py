"""The durable delivery path: the messages table's stream, one record per committed
message, schedules its retry probes, notifications or fan-out (see courier.fanout)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from courier import observability
from courier.runtime import services
from courier.workers import process_stream

logger = Logger()
metrics = Metrics()
tracer = observability.tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_stream(event, context, lambda: services(metrics))
