"""A LambdaContext stand-in for invoking handlers in-process."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FakeLambdaContext:
    function_name: str = "courier-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:courier-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/courier-test"
    log_stream_name: str = "2026/11/26/[$LATEST]0000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000
