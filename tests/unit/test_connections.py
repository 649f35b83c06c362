"""$connect / $disconnect and the token path from the admin API to the authorizer."""

from __future__ import annotations

from local.handlers import load_handler
from local.samples import load_event, websocket_event
from tests.harness import Courier


def test_admin_token_opens_a_connection_through_the_authorizer(courier: Courier) -> None:
    status, issued = courier.admin("admin-create-token", body={"user": "erin", "device": "watch"})
    assert status == 200 and set(issued) == {"token", "expiresAt"}
    event = load_event("authorizer-allow")
    event["queryStringParameters"] = {"token": issued["token"]}

    decision = load_handler("authorizer")(event, courier.context)

    assert decision["principalId"] == "erin"
    assert decision["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert decision["policyDocument"]["Statement"][0]["Resource"] == event["methodArn"]
    assert decision["context"] == {"userId": "erin", "deviceId": "watch"}


def test_token_device_defaults_to_default(courier: Courier) -> None:
    _, issued = courier.admin("admin-create-token", body={"user": "erin"})
    event = load_event("authorizer-allow")
    event["queryStringParameters"] = {"token": issued["token"]}
    assert load_handler("authorizer")(event, courier.context)["context"]["deviceId"] == "default"


def test_connect_stores_user_device_connected_at_and_ttl(courier: Courier) -> None:
    event = websocket_event("connect", connection_id="c-1", user="erin", device="watch")
    assert load_handler("connect")(event, courier.context) == {"statusCode": 200}

    item = courier.dynamodb.get_item(
        TableName=courier.tables["ConnectionsTable"],
        Key={"userId": {"S": "erin"}, "connectionId": {"S": "c-1"}},
    )["Item"]
    connected_at = event["requestContext"]["connectedAt"]
    assert item["userId"] == {"S": "erin"} and item["deviceId"] == {"S": "watch"}
    assert int(item["connectedAt"]["N"]) == connected_at
    assert int(item["expiresAt"]["N"]) == connected_at // 1000 + 3 * 3600


def test_connect_without_authorizer_context_is_refused(courier: Courier) -> None:
    event = websocket_event("connect", connection_id="c-2")
    event["requestContext"].pop("authorizer")
    assert load_handler("connect")(event, courier.context) == {"statusCode": 403}
    assert courier.dynamodb.scan(TableName=courier.tables["ConnectionsTable"])["Items"] == []


def test_disconnect_forgets_the_connection(courier: Courier) -> None:
    conn = courier.connect("erin")
    courier.disconnect(conn)
    courier.disconnect(conn)  # a repeated $disconnect is harmless
    assert courier.dynamodb.scan(TableName=courier.tables["ConnectionsTable"])["Items"] == []
