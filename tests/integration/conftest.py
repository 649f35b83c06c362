"""One local stack (`make run`, in-process) shared by every integration module.

Only one stack may run per process at a time, so it is package-scoped: test modules use
distinct user ids to stay out of each other's conversations.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from local import emf
from local.server import ServerThread


@pytest.fixture(scope="package")
def stack() -> Iterator[ServerThread]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
        for owner, name, value in emf.replacements(lambda line: None):  # EMF: out of the way
            env.setattr(owner, name, value, raising=False)
        env.setenv("COURIER_RETRY_BASE_SECONDS", "1")  # retries due within the tests
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        threads_before = set(threading.enumerate())
        server = ServerThread()
        try:
            server.start()
            yield server
        finally:
            server.stop()
        leftover = [
            t for t in set(threading.enumerate()) - threads_before if not t.daemon and t.is_alive()
        ]
        assert leftover == []


@pytest.fixture
def stack_url(stack: ServerThread) -> str:
    return stack.server.url
