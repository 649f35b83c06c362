"""Each function's IAM policy grants exactly the AWS calls its handler makes: nothing
missing (it would fail when deployed), nothing extra (least privilege).

The calls are not listed by hand: every handler runs the flows the unit suite runs (all
of events/ and the scenarios below) against moto, each botocore call is recorded against
the function making it, and turned into the IAM (action, resource) pairs it needs. The
policy side is read from template.yaml's explicit statements.
"""

from __future__ import annotations

import copy
import functools
import json
import pathlib
import re
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.client import BaseClient
from moto import mock_aws

from courier.runtime import reset_services
from local import handlers
from local.samples import load_event
from local.template import TEMPLATE_PATH, load_template
from tests import harness
from tests.harness import BASE_ENV, JWT_SECRET, Conn, Courier, atomic_dynamodb, partitioned_moto

TEMPLATE = load_template(TEMPLATE_PATH)
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = {
    pathlib.PurePosixPath(resource["Properties"]["CodeUri"]).name: logical_id
    for logical_id, resource in RESOURCES.items()
    if resource["Type"] == "AWS::Serverless::Function"
}
SECRET_PARAMETER = "/courier/jwt-secret"
EVENTS_DIR = TEMPLATE_PATH.parent / "events"

Grant = tuple[str, str]  # (IAM action, resource as the template names it)


# ------------------------------------------------------------------ policies


def _resource_name(resource: Any) -> str:
    """A policy resource, named as `_grants_for` names what a call touches."""
    if isinstance(resource, dict) and set(resource) == {"Fn::GetAtt"}:
        logical_id, attribute = resource["Fn::GetAtt"]
        assert attribute in ("Arn", "StreamArn"), resource
        return f"{logical_id}/stream" if attribute == "StreamArn" else str(logical_id)
    if isinstance(resource, dict) and set(resource) == {"Ref"}:
        return str(resource["Ref"])  # a topic's Ref is its ARN
    assert isinstance(resource, dict) and set(resource) == {"Fn::Sub"}, resource
    text = resource["Fn::Sub"]
    if match := re.fullmatch(r"\$\{(\w+)\.Arn\}/index/(\w+)", text):
        return f"{match.group(1)}/index/{match.group(2)}"
    if match := re.search(r":\$\{WebSocketApi\}/\$\{StageName\}/(\w+)/@connections/\*$", text):
        return f"@connections {match.group(1)}"
    if text.endswith(":parameter${JwtSecretParameterName}"):
        return "JwtSecretParameterName"
    raise AssertionError(f"unknown resource {resource}")


def policy_grants(function_id: str, resources: dict[str, Any] = RESOURCES) -> set[Grant]:
    """Every (action, resource) the function's own statements allow (SAM policy templates
    would hide theirs: the template has none, a template test says so)."""
    found: set[Grant] = set()
    for policy in resources[function_id]["Properties"].get("Policies", []):
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow", statement
            actions = statement["Action"]
            resources = statement["Resource"]
            for action in [actions] if isinstance(actions, str) else actions:
                for resource in resources if isinstance(resources, list) else [resources]:
                    found.add((action, _resource_name(resource)))
    return found


# --------------------------------------------------------------------- calls

_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
_CONNECTION_METHODS = {"PostToConnection": "POST", "DeleteConnection": "DELETE"}
_CONNECTION_METHODS["GetConnection"] = "GET"


def _dynamodb(operation: str, params: dict[str, Any], names: dict[str, str]) -> set[Grant]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return {(f"dynamodb:{operation}", names[table]) for table in params["RequestItems"]}
    if operation == "TransactWriteItems":
        return {
            (_TRANSACT_ACTIONS[kind], names[body["TableName"]])
            for item in params["TransactItems"]
            for kind, body in item.items()
        }
    if operation == "TransactGetItems":
        return {("dynamodb:GetItem", names[i["Get"]["TableName"]]) for i in params["TransactItems"]}
    single = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "DescribeTable")
    assert operation in single, f"no IAM mapping for dynamodb.{operation}: add one"
    table = names[params["TableName"]]
    if "IndexName" in params:
        table = f"{table}/index/{params['IndexName']}"
    return {(f"dynamodb:{operation}", table)}


def _messaging(operation: str, params: dict[str, Any], names: dict[str, str]) -> set[Grant]:
    if operation in ("SendMessage", "SendMessageBatch"):
        return {("sqs:SendMessage", names[params["QueueUrl"]])}
    assert operation == "Publish", operation
    return {("sns:Publish", names[params["TopicArn"]])}


def _ssm(operation: str, params: dict[str, Any], names: dict[str, str]) -> set[Grant]:
    assert operation in ("GetParameter", "GetParameters"), operation
    wanted = [params["Name"]] if "Name" in params else params["Names"]
    return {(f"ssm:{operation}", names[name]) for name in wanted}


def _connections(operation: str, params: dict[str, Any], names: dict[str, str]) -> set[Grant]:
    return {("execute-api:ManageConnections", f"@connections {_CONNECTION_METHODS[operation]}")}


_BY_SERVICE = {
    "dynamodb": _dynamodb,
    "sqs": _messaging,
    "sns": _messaging,
    "ssm": _ssm,
    "apigatewaymanagementapi": _connections,
}


def grants_for(
    service: str, operation: str, params: dict[str, Any], names: dict[str, str]
) -> set[Grant]:
    """The IAM (action, resource) pairs one API call needs. `names` maps physical names
    (table names, queue URLs, topic ARNs, parameter names) to logical ids.

    IAM has no TransactWriteItems action: each item needs its own action on its table.
    SendMessageBatch is authorized by sqs:SendMessage; a GSI query by the index's ARN;
    PostToConnection by execute-api:ManageConnections on POST/@connections.
    """
    if service not in _BY_SERVICE:
        raise AssertionError(f"no IAM mapping for {service}.{operation}: add one")
    return _BY_SERVICE[service](operation, params, names)


class CallRecorder:
    """Which function made which AWS call: every botocore client, threads included
    (deliveries post in parallel), attributed to the handler running at the time."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
        self.current: str | None = None
        self.invoked: set[str] = set()
        self.names: dict[str, str] = {}  # physical name -> logical id

    def wrap(self, load: Callable[[str], Any]) -> Callable[[str], Any]:
        def load_recorded(name: str) -> Any:
            handler = load(name)

            @functools.wraps(handler)
            def recorded(event: Any, context: Any) -> Any:
                # Each function is its own container: no SSM value cached by another.
                parameters.clear_caches()
                outer, self.current = self.current, name
                self.invoked.add(name)
                try:
                    return handler(event, context)
                finally:
                    self.current = outer

            return recorded

        return load_recorded

    def make_api_call(self, original: Any) -> Any:
        def recorded(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            if self.current is not None:
                service = client.meta.service_model.service_name
                self.calls[self.current].append((service, operation, dict(params)))
            return original(client, operation, params)

        return recorded


# ------------------------------------------------------------------ the flows


def _all_sample_events(courier: Courier, invoke: Callable[[str], Any]) -> None:
    """Every events/*.json through the function its name starts with."""
    for path in sorted(EVENTS_DIR.glob("*.json")):
        function = path.stem.split("-", 1)[0]
        assert function in FUNCTIONS, path.name
        invoke(function)(load_event(path.stem), courier.context)


def _v11_scenarios(courier: Courier, alice: Conn, bob: Conn) -> None:
    """v1.1: an edit, a recall, a mute and an admin recall, each telling a socket that is
    gone; then an edit, a recall and an admin recall in the group above the inline limit
    (fan-out jobs)."""
    for action in (
        {"action": "edit", "channel": "g:team", "seq": 2, "body": {"text": "t2!"}},
        {"action": "recall", "channel": "g:team", "seq": 2},
    ):
        courier.drop(courier.connect("carol", "tablet"))
        courier.frame(alice, action)
    courier.frame(alice, {"action": "edit", "channel": "g:big", "seq": 1, "body": {"text": "!"}})
    courier.frame(alice, {"action": "recall", "channel": "g:big", "seq": 1})
    assert courier.admin_recall("g:big", 1)[0] == 200
    while courier.drain("FanoutQueue"):
        pass
    courier.drop(courier.connect("bob", "laptop"))
    courier.frame(bob, {"action": "mute", "channel": "g:team", "muted": True})
    courier.drop(courier.connect("carol", "tablet"))
    assert courier.admin_recall("g:team", 1)[0] == 200
    courier.frame(bob, {"action": "receipts", "channel": "g:team", "seq": 1})
    courier.drop(courier.connect("carol", "tablet"))
    courier.frame(bob, {"action": "typing", "channel": "g:team"})
    # presence: alice by the DM, carol and erin by groups; their connections idle for 30
    # minutes are checked at the gateway: carol's is gone (410), erin's is there
    idle_since = time.time_ns() // 1_000_000 - 30 * 60_000
    courier.drop(courier.connect("carol", "watch", at_ms=idle_since))
    courier.connect("erin", "watch", at_ms=idle_since)
    courier.frame(bob, {"action": "presence", "users": ["alice", "carol", "erin"]})


def _scenarios(courier: Courier, invoke: Callable[[str], Any]) -> None:
    """What the unit suite does, function by function (see each step)."""
    # admin: a token (the secret from SSM), a group, unread counts
    status, issued = courier.admin("admin-create-token", body={"user": "alice", "device": "phone"})
    assert status == 200, issued
    # authorizer: the issued token, then a forged one
    event = load_event("authorizer-allow")
    event["queryStringParameters"] = {"token": issued["token"]}
    assert invoke("authorizer")(event, courier.context)["principalId"] == "alice"
    invoke("authorizer")(load_event("authorizer-forged"), courier.context)

    alice, bob, carol = (courier.connect(user) for user in ("alice", "bob", "carol"))
    bob_tablet = courier.connect("bob", "tablet")
    courier.group("team", ["alice", "bob", "carol"])  # delivered by send itself
    courier.group("big", ["alice", "bob", "carol", "erin", "frank"])  # by fan-out jobs
    # send: a first DM message, a duplicate (dedup), a group message, a DM to a user who
    # never connected (a notification job)
    courier.send(alice, "dm:alice:bob", "m1")
    courier.send(alice, "dm:alice:bob", "m1")
    courier.send(bob, "g:team", "t1")
    courier.send(alice, "dm:alice:dave", "d1")
    # ack, read, both kinds of sync, ping and an unknown action
    courier.ack(bob, "dm:alice:bob", 1)
    courier.read(bob, "dm:alice:bob", 1)
    courier.sync(bob)
    courier.sync(bob, channel="dm:alice:bob", afterSeq=0, limit=10)
    courier.frame(bob, {"action": "ping"})
    courier.frame(bob, {"action": "nope"})
    # refused frames: ack posts its error frame (a one-way route), the others reply
    courier.frame(carol, {"action": "ack", "channel": "dm:alice:bob", "seq": 1})
    courier.frame(carol, {"action": "read", "channel": "dm:alice:bob", "seq": 1})
    courier.frame(carol, {"action": "send", "channel": "dm:alice:bob", "clientMsgNo": "x"})
    courier.unread("bob")
    # retry worker: the probes find bob's phone acked and his tablet not (a second copy
    # and a follow-up job), two probes of one channel join one chain; then the tablet's
    # socket vanishes (410: its row is deleted)
    courier.send(alice, "dm:alice:bob", "m2")
    courier.send(alice, "dm:alice:bob", "m3")
    courier.drain("RetryQueue")
    courier.drop(bob_tablet)
    while courier.drain("RetryQueue", twice=True):
        pass
    # 410s met by send and read: the gone connections' rows are deleted
    courier.drop(carol)
    courier.send(alice, "g:team", "t2")
    bob_tablet = courier.connect("bob", "tablet")
    courier.drop(bob_tablet)
    courier.read(bob, "g:team", 2)
    # fan-out: the plan job, then the chunks; erin's socket is gone
    erin = courier.connect("erin")
    courier.drop(erin)
    courier.send(alice, "g:big", "b1")
    while courier.drain("FanoutQueue"):
        pass
    while courier.drain("RetryQueue"):
        pass
    _v11_scenarios(courier, alice, bob)
    # notifier: the offline members' jobs (dave, frank), each delivered twice
    courier.drain("NotifyQueue", twice=True)
    courier.disconnect(alice)


@pytest.fixture(scope="module")
def recorded() -> CallRecorder:
    recorder = CallRecorder()
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in BASE_ENV.items():
            monkeypatch.setenv(name, value)
        # As deployed: the signing secret comes from SSM, not the environment.
        monkeypatch.delenv("COURIER_JWT_SECRET")
        monkeypatch.setenv("COURIER_JWT_SECRET_PARAM", SECRET_PARAMETER)
        monkeypatch.setenv("COURIER_FANOUT_INLINE_LIMIT", "3")
        atomic_dynamodb(monkeypatch)
        partitioned_moto(monkeypatch)
        invoke = recorder.wrap(handlers.load_handler)
        monkeypatch.setattr(harness, "load_handler", invoke)
        monkeypatch.setattr(
            BaseClient, "_make_api_call", recorder.make_api_call(BaseClient._make_api_call)
        )
        with mock_aws():
            parameters.clear_caches()
            reset_services()
            boto3.client("ssm", region_name="us-east-1").put_parameter(
                Name=SECRET_PARAMETER, Value=JWT_SECRET, Type="SecureString"
            )
            courier = Courier(monkeypatch)
            monkeypatch.delenv("COURIER_JWT_SECRET", raising=False)
            recorder.names = {
                **{name: logical for logical, name in courier.tables.items()},
                **{url: logical for logical, url in courier.queues.items()},
                **{arn: logical for logical, arn in courier.topics.items()},
                SECRET_PARAMETER: "JwtSecretParameterName",
            }
            _scenarios(courier, invoke)
            _all_sample_events(courier, invoke)
            parameters.clear_caches()
        reset_services()
    return recorder


STREAM_READ_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)


def event_source_grants(function_id: str) -> set[Grant]:
    """What Lambda does with the function's role for its DynamoDB stream event sources:
    read the stream, and send a batch it gives up on to the on-failure destination."""
    found: set[Grant] = set()
    for event in (RESOURCES[function_id]["Properties"].get("Events") or {}).values():
        if event["Type"] != "DynamoDB":
            continue
        table, _ = event["Properties"]["Stream"]["Fn::GetAtt"]
        found |= {(action, f"{table}/stream") for action in STREAM_READ_ACTIONS}
        destination = event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
        found.add(("sqs:SendMessage", _resource_name(destination)))
    return found


def used_grants(recorder: CallRecorder, function: str) -> set[Grant]:
    """The grants of the calls the function made, and those of its event sources."""
    return event_source_grants(FUNCTIONS[function]) | {
        grant
        for service, operation, params in recorder.calls[function]
        for grant in grants_for(service, operation, params, recorder.names)
    }


def test_every_function_ran(recorded: CallRecorder) -> None:
    assert recorded.invoked == set(FUNCTIONS)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_policy_grants_exactly_the_calls_the_function_makes(
    recorded: CallRecorder, function: str
) -> None:
    function_id = FUNCTIONS[function]
    used = used_grants(recorded, function)
    granted = policy_grants(function_id)

    assert differences(used, granted) == {"missing": [], "unused": []}, json.dumps(sorted(used))


def test_transactions_need_the_item_actions_not_a_transaction_action() -> None:
    names = {"T1": "ChannelsTable", "T2": "DedupTable"}
    params = {
        "TransactItems": [
            {"Update": {"TableName": "T1"}},
            {"Put": {"TableName": "T2"}},
            {"ConditionCheck": {"TableName": "T1"}},
        ]
    }
    assert grants_for("dynamodb", "TransactWriteItems", params, names) == {
        ("dynamodb:UpdateItem", "ChannelsTable"),
        ("dynamodb:PutItem", "DedupTable"),
        ("dynamodb:ConditionCheckItem", "ChannelsTable"),
    }


def test_an_index_query_needs_the_index_arn() -> None:
    params = {"TableName": "M", "IndexName": "ByChannel"}
    assert grants_for("dynamodb", "Query", params, {"M": "MembershipsTable"}) == {
        ("dynamodb:Query", "MembershipsTable/index/ByChannel")
    }


def test_a_batch_send_needs_send_message() -> None:
    assert grants_for("sqs", "SendMessageBatch", {"QueueUrl": "u"}, {"u": "RetryQueue"}) == {
        ("sqs:SendMessage", "RetryQueue")
    }


def differences(used: set[Grant], granted: set[Grant]) -> dict[str, list[Grant]]:
    return {"missing": sorted(used - granted), "unused": sorted(granted - used)}


def test_a_grant_added_to_or_removed_from_the_template_is_caught(recorded: CallRecorder) -> None:
    """The comparison is not vacuous: one statement more, or one less, and it fails."""
    used = used_grants(recorded, "send")
    assert differences(used, policy_grants("SendFunction")) == {"missing": [], "unused": []}

    widened = copy.deepcopy(RESOURCES)
    widened["SendFunction"]["Properties"]["Policies"][0]["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "dynamodb:ConditionCheckItem",
            "Resource": {"Fn::GetAtt": ["MessagesTable", "Arn"]},
        }
    )
    assert differences(used, policy_grants("SendFunction", widened))["unused"] == [
        ("dynamodb:ConditionCheckItem", "MessagesTable")
    ]

    narrowed = copy.deepcopy(RESOURCES)
    statements = narrowed["SendFunction"]["Properties"]["Policies"][0]["Statement"]
    statements[:] = [st for st in statements if st["Action"] != "dynamodb:PutItem"]
    assert differences(used, policy_grants("SendFunction", narrowed))["missing"] == [
        ("dynamodb:PutItem", "MessagesTable")
    ]
