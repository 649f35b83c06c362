"""The environment the local stack and `make invoke` run with: the deployed names, local values."""

from __future__ import annotations

import os
from collections.abc import Mapping

LOCAL_JWT_SECRET = "courier-local-development-secret-change-me"
LOCAL_WS_ENDPOINT = "https://local.execute-api.us-east-1.amazonaws.com/local"

LOCAL_DEFAULTS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "COURIER_JWT_SECRET": LOCAL_JWT_SECRET,
    "COURIER_WS_ENDPOINT": LOCAL_WS_ENDPOINT,
    "COURIER_RETRY_BASE_SECONDS": "2",
    "COURIER_MAX_RETRIES": "5",
    "POWERTOOLS_SERVICE_NAME": "courier",
    "POWERTOOLS_METRICS_NAMESPACE": "Courier",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


def apply_local_environment(tables: Mapping[str, str]) -> dict[str, str]:
    """Set every variable the deployed stack sets, keeping values the user exported."""
    for name, value in {**LOCAL_DEFAULTS, **tables}.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in {**LOCAL_DEFAULTS, **tables}}
