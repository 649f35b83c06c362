"""Fixtures: an in-process Courier over moto, fresh for every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

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
