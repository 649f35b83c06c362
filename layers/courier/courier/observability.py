"""The handlers' Tracer, which loads the X-Ray SDK only when tracing is on.

Powertools' Tracer imports `aws_xray_sdk.core` even when it is disabled (it builds the
X-Ray recorder as its default provider, and the recorder builds a botocore session for
its sampling rules): about 110 ms of every cold start, for nothing when the template
turns tracing off (`POWERTOOLS_TRACE_DISABLED=true`). With tracing off, the Tracer gets a
provider that does nothing instead; its decorators keep working and record nothing.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools.tracing import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

# What tracing on patches: every AWS call goes through a botocore client (PynamoDB's too).
# Powertools' default, patch_all, also imports and patches sqlite3, requests, httpx...
PATCHED_MODULES = ("botocore",)


class _NoSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class NoTracing(BaseProvider):
    """A Tracer provider that records nothing and imports nothing."""

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _NoSegment()

    @asynccontextmanager
    async def in_subsegment_async(
        self, name: Any = None, **kwargs: Any
    ) -> AsyncGenerator[BaseSegment, None]:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


class _Untraced(Tracer):
    """Powertools' Tracer, disabled, on a provider that records nothing."""

    @staticmethod
    def _disable_tracer_provider() -> None:
        """Powertools turns the X-Ray SDK off here, which imports it: nothing to turn off."""


def tracing_on() -> bool:
    """Powertools' own rule (POWERTOOLS_TRACE_DISABLED, or not in Lambda, or SAM local)."""
    return not Tracer._is_tracer_disabled()


def tracer() -> Tracer:
    """The Tracer for a handler module: the X-Ray SDK's when tracing is on, else one that
    does nothing and never imports the SDK."""
    if tracing_on():
        return Tracer(patch_modules=PATCHED_MODULES)
    return _Untraced(disabled=True, auto_patch=False, provider=NoTracing())
