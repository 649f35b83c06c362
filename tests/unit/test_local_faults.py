"""The chaos harness's server faults (local/faults.py): what each one does to a function's
AWS calls, only inside an invocation, only while a plan is installed and enabled."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import faults
from local.faults import InjectedCrash, ServerFaultRates, ServerFaults

TABLE = "Items"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def installed(rates: ServerFaultRates, **options: Any) -> ServerFaults:
    plan = ServerFaults(rates, random.Random(7), **options)
    faults.install(plan)
    return plan


@pytest.fixture(autouse=True)
def _uninstall() -> Iterator[None]:
    yield
    faults.uninstall()


def client(service: str) -> Any:
    """A client built after `install`, as the handlers' clients are."""
    return boto3.client(service, region_name="us-east-1")


def put(db: Any, key: str) -> None:
    db.put_item(TableName=TABLE, Item={"k": {"S": key}})


def stored(db: Any) -> set[str]:
    return {item["k"]["S"] for item in db.scan(TableName=TABLE)["Items"]}


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_dynamodb_calls_of_a_function_are_throttled(dynamodb: Any) -> None:
    plan = installed(ServerFaultRates(throttle=1.0))
    db = client("dynamodb")
    put(db, "outside")  # not inside an invocation: untouched
    with faults.invocation("read"), pytest.raises(ClientError) as error:
        put(db, "inside")
    assert code(error) == "ProvisionedThroughputExceededException"
    assert stored(dynamodb) == {"outside"}
    assert plan.injected == {"throttle": 1}
    assert plan.where == {"throttle read PutItem": 1}


def test_a_transaction_conflict_cancels_it_with_one_reason_per_item(dynamodb: Any) -> None:
    installed(ServerFaultRates(conflict=1.0))
    items = [{"Put": {"TableName": TABLE, "Item": {"k": {"S": key}}}} for key in "abc"]
    with faults.invocation("send"), pytest.raises(ClientError) as error:
        client("dynamodb").transact_write_items(TransactItems=items)
    assert code(error) == "TransactionCanceledException"
    reasons = [r["Code"] for r in error.value.response["CancellationReasons"]]
    assert reasons == ["None", "TransactionConflict", "None"]
    assert stored(dynamodb) == set()


def test_a_crash_comes_before_or_after_a_write_that_then_is_stored(dynamodb: Any) -> None:
    plan = installed(ServerFaultRates(crash=1.0))  # every write: half before, half after
    db = client("dynamodb")
    crashed = []
    for n in range(20):
        with faults.invocation("ack"), pytest.raises(InjectedCrash) as error:
            put(db, str(n))
        crashed.append("after" in str(error.value))
    written = {str(n) for n, after in enumerate(crashed) if after}
    assert stored(dynamodb) == written
    assert 0 < len(written) < 20
    assert plan.where == {
        "crash ack PutItem (after)": len(written),
        "crash ack PutItem (before)": 20 - len(written),
    }


def test_a_gone_post_drops_the_connection_and_answers_410() -> None:
    dropped: list[str] = []
    installed(ServerFaultRates(gone=1.0), drop_connection=dropped.append)
    api = boto3.client(
        "apigatewaymanagementapi", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"
    )
    with faults.invocation("send"), pytest.raises(ClientError) as error:
        api.post_to_connection(ConnectionId="Ab3x/Yc+D=", Data=b"{}")
    assert code(error) == "GoneException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    assert dropped == ["Ab3x/Yc+D="]


def test_a_spared_connection_is_never_answered_gone_nor_dropped() -> None:
    """The chaos run spares its deaf listeners' connections, as its storms do."""
    dropped: list[str] = []
    plan = installed(ServerFaultRates(gone=1.0, limit=1.0), drop_connection=dropped.append)
    plan.spared = lambda connection_id: connection_id == "deaf"
    api = boto3.client(
        "apigatewaymanagementapi", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"
    )
    with faults.invocation("send"):
        with pytest.raises(ClientError) as spared:
            api.post_to_connection(ConnectionId="deaf", Data=b"{}")
        with pytest.raises(ClientError) as other:
            api.post_to_connection(ConnectionId="c1", Data=b"{}")
    assert (code(spared), code(other)) == ("LimitExceededException", "GoneException")
    assert dropped == ["c1"]


def test_a_post_can_be_refused_with_limit_exceeded() -> None:
    installed(ServerFaultRates(limit=1.0))
    api = boto3.client(
        "apigatewaymanagementapi", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"
    )
    with faults.invocation("retry_worker"), pytest.raises(ClientError) as error:
        api.post_to_connection(ConnectionId="c1", Data=b"{}")
    assert code(error) == "LimitExceededException"


def test_an_invocation_fails_after_its_work_but_a_failure_of_its_own_passes_through() -> None:
    installed(ServerFaultRates(invocation=1.0))
    done = []
    with pytest.raises(InjectedCrash), faults.invocation("send"):
        done.append(True)
    assert done == [True]
    with pytest.raises(KeyError), faults.invocation("send"):
        raise KeyError("its own")


def test_sqs_batches_twice_and_visibility_follow_the_plan() -> None:
    assert not faults.duplicate_delivery("RetryQueue")
    assert faults.visibility_timeout(120) == 120
    installed(ServerFaultRates(duplicate_job=1.0), visibility_seconds=5)
    assert faults.duplicate_delivery("RetryQueue")
    assert faults.visibility_timeout(120) == 5


def test_nothing_happens_while_the_plan_is_disabled_or_after_uninstall(dynamodb: Any) -> None:
    rates = ServerFaultRates(throttle=1.0, crash=1.0, invocation=1.0)
    plan = installed(rates)
    db = client("dynamodb")
    plan.enabled = False
    with faults.invocation("send"):
        put(db, "disabled")
    faults.uninstall()
    with faults.invocation("send"):
        put(db, "uninstalled")
        put(client("dynamodb"), "new client")
    assert stored(dynamodb) == {"disabled", "uninstalled", "new client"}
    assert plan.injected == {}


def test_send_dies_right_after_its_transaction_commits_and_only_then(dynamodb: Any) -> None:
    plan = installed(ServerFaultRates(crash_after_commit=1.0))
    db = client("dynamodb")
    items = [{"Put": {"TableName": TABLE, "Item": {"k": {"S": key}}}} for key in "ab"]
    with faults.invocation("read"):  # another function's transaction: untouched
        db.transact_write_items(TransactItems=items)
    with faults.invocation("send"):
        put(db, "plain write")  # not a transaction: untouched
    with faults.invocation("send"), pytest.raises(InjectedCrash) as error:
        db.transact_write_items(
            TransactItems=[{"Put": {"TableName": TABLE, "Item": {"k": {"S": "committed"}}}}]
        )
    assert "committed" in str(error.value)
    assert stored(dynamodb) == {"a", "b", "plain write", "committed"}  # it did commit
    failing = [
        {
            "Put": {
                "TableName": TABLE,
                "Item": {"k": {"S": "a"}},
                "ConditionExpression": "attribute_not_exists(k)",
            }
        }
    ]
    with faults.invocation("send"), pytest.raises(ClientError):  # cancelled: no commit, no crash
        db.transact_write_items(TransactItems=failing)
    assert plan.injected == {"crash_after_commit": 1}
    assert plan.where == {"crash_after_commit send TransactWriteItems": 1}
