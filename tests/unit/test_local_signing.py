"""local/signing.py: calls moto answers in-process go unsigned; every other call is signed."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from local.signing import UnsignedInProcessCalls


@pytest.fixture
def unsigned() -> Iterator[None]:
    patch = UnsignedInProcessCalls()
    patch.install()
    try:
        yield
    finally:
        patch.uninstall()


class _Body(BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


def authorization_of(client: Any, answer: bool) -> list[str | None]:
    """The Authorization header of each request the client sends (answered here if asked)."""
    seen: list[str | None] = []

    def record(request: Any, **_: Any) -> Any:
        header = request.headers.get("Authorization")
        seen.append(header.decode() if isinstance(header, bytes) else header)
        if answer:
            return AWSResponse(request.url, 200, {}, _Body(b'{"TableNames": []}'))
        return None

    client.meta.events.register_first("before-send", record)
    return seen


def test_a_call_moto_answers_in_process_goes_unsigned_and_works(unsigned: None) -> None:
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        seen = authorization_of(db, answer=False)
        assert db.list_tables()["TableNames"] == []
    assert seen == [None]


def test_a_call_to_another_endpoint_is_signed(unsigned: None) -> None:
    db = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    seen = authorization_of(db, answer=True)
    db.list_tables()
    assert len(seen) == 1 and str(seen[0]).startswith("AWS4-HMAC-SHA256 Credential=local/")


def test_without_the_patch_every_call_is_signed() -> None:
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        seen = authorization_of(db, answer=False)
        db.list_tables()
    assert str(seen[0]).startswith("AWS4-HMAC-SHA256")
