"""Fixtures: an in-process Courier over moto, fresh for every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from courier import runtime
from courier.runtime import reset_services
from tests.harness import BASE_ENV, Courier, atomic_dynamodb, partitioned_moto


@pytest.fixture
def courier(monkeypatch: pytest.MonkeyPatch) -> Iterator[Courier]:
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    atomic_dynamodb(monkeypatch)
    partitioned_moto(monkeypatch)
    with mock_aws():
        reset_services()
        yield Courier(monkeypatch)
    reset_services()


@pytest.fixture
def alice_bob(courier: Courier) -> Any:
    return courier, courier.connect("alice"), courier.connect("bob")


@pytest.fixture
def clock(courier: Courier, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A controllable server clock (ms): tests move it on (activity order, windows)."""
    now = [1_800_000_000_000]
    monkeypatch.setattr(runtime, "wall_clock_ms", lambda: now[0])
    return now
