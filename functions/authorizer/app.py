"""The $connect REQUEST authorizer: allow a valid token's user and device, deny the rest."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from courier import observability
from courier.authorizer import authorize
from courier.settings import get_settings
from courier.tokens import jwt_secret

logger = Logger()
metrics = Metrics()
tracer = observability.tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    decision = authorize(event, jwt_secret(get_settings()))
    effect = decision["policyDocument"]["Statement"][0]["Effect"]
    metrics.add_metric(name=f"Connect{effect}", unit=MetricUnit.Count, value=1)
    return decision
