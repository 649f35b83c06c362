"""template.yaml: the structure cfn-lint does not check (see FACTS.md), and cfn-lint itself."""

from __future__ import annotations

import ast
import fnmatch
import json
import pathlib
import re
from typing import Any

import pytest
from cfnlint.api import lint_file  # type: ignore[import-untyped, unused-ignore]

from local.template import TEMPLATE_PATH, load_template

ROOT = TEMPLATE_PATH.parent
TEMPLATE = load_template(TEMPLATE_PATH)
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]

ROUTE_FUNCTIONS = {
    "$connect": "ConnectFunction",
    "$disconnect": "DisconnectFunction",
    "$default": "DefaultFunction",
    "send": "SendFunction",
    "ack": "AckFunction",
    "read": "ReadFunction",
    "sync": "SyncFunction",
    "recall": "RecallFunction",
    "edit": "EditFunction",
    "mute": "MuteFunction",
    "receipts": "ReceiptsFunction",
    "typing": "TypingFunction",
    "presence": "PresenceFunction",
}
# SQS workers: their queue, its dead-letter queue, and the event source settings.
WORKERS: dict[str, dict[str, Any]] = {
    "RetryWorkerFunction": {
        "queue": "RetryQueue",
        "dlq": "RetryDeadLetterQueue",
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 0,
    },
    "FanoutWorkerFunction": {
        "queue": "FanoutQueue",
        "dlq": "FanoutDeadLetterQueue",
        "BatchSize": 5,
        # FIFO event sources take no batching window (AWS rejects one).
    },
    "NotifierFunction": {
        "queue": "NotifyQueue",
        "dlq": "NotifyDeadLetterQueue",
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 5,
    },
}
FUNCTION_DIRS = {
    "AuthorizerFunction": "authorizer",
    "ConnectFunction": "connect",
    "DisconnectFunction": "disconnect",
    "DefaultFunction": "default",
    "SendFunction": "send",
    "AckFunction": "ack",
    "ReadFunction": "read",
    "SyncFunction": "sync",
    "RecallFunction": "recall",
    "EditFunction": "edit",
    "MuteFunction": "mute",
    "ReceiptsFunction": "receipts",
    "TypingFunction": "typing",
    "PresenceFunction": "presence",
    "AdminFunction": "admin",
    "DeliveryWorkerFunction": "delivery_worker",
    "RetryWorkerFunction": "retry_worker",
    "FanoutWorkerFunction": "fanout_worker",
    "NotifierFunction": "notifier",
}
TWO_WAY_ROUTES = {
    "$default",
    "send",
    "read",
    "sync",
    "recall",
    "edit",
    "mute",
    "receipts",
    "presence",
}
ONE_WAY_ROUTES = set(ROUTE_FUNCTIONS) - TWO_WAY_ROUTES
ENVIRONMENT_VARIABLES = {
    "COURIER_CONNECTIONS_TABLE",
    "COURIER_CHANNELS_TABLE",
    "COURIER_MESSAGES_TABLE",
    "COURIER_MEMBERSHIPS_TABLE",
    "COURIER_DEDUP_TABLE",
    "COURIER_ACKS_TABLE",
    "COURIER_RETRIES_TABLE",
    "COURIER_NOTIFICATIONS_TABLE",
    "COURIER_PRESENCE_TABLE",
    "COURIER_RETRY_QUEUE_URL",
    "COURIER_FANOUT_QUEUE_URL",
    "COURIER_NOTIFY_QUEUE_URL",
    "COURIER_NOTIFY_TOPIC_ARN",
    "COURIER_WS_ENDPOINT",
    "COURIER_JWT_SECRET_PARAM",
    "COURIER_RETENTION_DAYS",
    "COURIER_DEDUP_HOURS",
    "COURIER_RETRY_BASE_SECONDS",
    "COURIER_MAX_RETRIES",
    "COURIER_FANOUT_INLINE_LIMIT",
    "COURIER_NOTIFY_COALESCE_SECONDS",
    "COURIER_RECALL_SECONDS",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_TRACE_DISABLED",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
}
CONCURRENCY_PARAMETERS = {
    "RetryWorkerFunction": "RetryWorkerMaxConcurrency",
    "FanoutWorkerFunction": "FanoutWorkerMaxConcurrency",
    "NotifierFunction": "NotifierMaxConcurrency",
}
# What CloudWatch Logs accepts as RetentionInDays.
CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731]
CLOUDWATCH_RETENTION_DAYS += [1096, 1827, 2192, 2557, 2922, 3288, 3653]
LAMBDA_URI = re.compile(
    r"arn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}:lambda:path/2015-03-31/functions/\$\{(\w+)\.Arn\}/invocations"
)


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in RESOURCES.items()
        if resource["Type"] == kind
    }


FUNCTIONS = of_type("AWS::Serverless::Function")
ROUTES = {
    resource["Properties"]["RouteKey"]: logical_id
    for logical_id, resource in of_type("AWS::ApiGatewayV2::Route").items()
}


def props(logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = RESOURCES[logical_id].get("Properties", {})
    return properties


def function_setting(logical_id: str, key: str) -> Any:
    """A function's own property, else the Globals one."""
    return props(logical_id).get(key, TEMPLATE.get("Globals", {}).get("Function", {}).get(key))


def is_ref(value: Any, logical_id: str) -> bool:
    return isinstance(value, dict) and value == {"Ref": logical_id}


def sub_string(value: Any) -> str:
    assert isinstance(value, dict), value
    assert set(value) == {"Fn::Sub"}, value
    text = value["Fn::Sub"]
    assert isinstance(text, str), value
    return text


def integration_of(route_id: str) -> str:
    """The Integration a Route targets; the target must read `integrations/<integration id>`."""
    target = props(route_id)["Target"]
    if isinstance(target, dict) and "Fn::Join" in target:
        separator, parts = target["Fn::Join"]
        assert separator == "", target
        assert parts[:-1] == ["integrations/"], target
        assert isinstance(parts[-1], dict), target
        assert set(parts[-1]) == {"Ref"}, target
        integration: str = parts[-1]["Ref"]
        return integration
    match = re.fullmatch(r"integrations/\$\{(\w+)\}", sub_string(target))
    assert match, f"{route_id} Target {target} is not integrations/<integration>"
    return match.group(1)


def function_of_uri(uri: Any) -> str:
    match = LAMBDA_URI.fullmatch(sub_string(uri))
    assert match, f"{uri} is not a Lambda invocation URI"
    return match.group(1)


def statements(function_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in props(function_id).get("Policies", []):
        found.extend(policy["Statement"])
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(function_id: str, action: str) -> list[Any]:
    """Resources on which a function's Allow statements grant `action` (wildcards honoured)."""
    return [
        resource
        for statement in statements(function_id)
        if statement.get("Effect") == "Allow"
        and any(fnmatch.fnmatch(action.lower(), granted.lower()) for granted in actions(statement))
        for resource in as_list(statement["Resource"])
    ]


def table_arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def get_att(value: Any, attribute: str) -> str | None:
    """`X` when `value` is `!GetAtt X.<attribute>`, else None."""
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        resource, name = value["Fn::GetAtt"]
        if name == attribute:
            return str(resource)
    return None


def resource_name(resource: Any) -> str:
    """A granted resource, readably: `Table`, `Table/index/Name`, `Queue`, `Topic`,
    `@connections` (POST), `GET @connections`, `ssm:<parameter>`."""
    if get_att(resource, "Arn"):
        return str(get_att(resource, "Arn"))
    if get_att(resource, "StreamArn"):
        return f"{get_att(resource, 'StreamArn')}/stream"
    if isinstance(resource, dict) and set(resource) == {"Ref"}:
        return str(resource["Ref"])
    text = sub_string(resource)
    if match := re.search(r":\$\{WebSocketApi\}/\$\{StageName\}/(POST|GET)/@connections/\*$", text):
        return "@connections" if match.group(1) == "POST" else "GET @connections"
    if text.endswith(":parameter${JwtSecretParameterName}"):
        return "ssm:JwtSecretParameterName"
    match = re.fullmatch(r"\$\{(\w+)\.Arn\}(/index/\w+)", text)
    assert match, resource
    return match.group(1) + match.group(2)


def granted(function_id: str) -> set[tuple[str, str]]:
    """Every (action, resource) a function's statements allow."""
    return {
        (action, resource_name(resource))
        for statement in statements(function_id)
        if statement.get("Effect") == "Allow"
        for action in actions(statement)
        for resource in as_list(statement["Resource"])
    }


def sqs_events(function_id: str) -> list[dict[str, Any]]:
    return [
        event["Properties"]
        for event in (props(function_id).get("Events") or {}).values()
        if event["Type"] == "SQS"
    ]


def stream_events(function_id: str) -> list[dict[str, Any]]:
    return [
        event["Properties"]
        for event in (props(function_id).get("Events") or {}).values()
        if event["Type"] == "DynamoDB"
    ]


QUEUES = of_type("AWS::SQS::Queue")
STREAM_WORKERS = {f for f in FUNCTIONS if stream_events(f)}
# Dead-letter queues: of a work queue (its redrive policy), or a stream event source's
# on-failure destination.
DEAD_LETTER_QUEUES = {
    str(get_att(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"], "Arn"))
    for queue in QUEUES.values()
    if "RedrivePolicy" in queue["Properties"]
} | {
    str(get_att(event["DestinationConfig"]["OnFailure"]["Destination"], "Arn"))
    for function_id in STREAM_WORKERS
    for event in stream_events(function_id)
}
WORK_QUEUES = set(QUEUES) - DEAD_LETTER_QUEUES


# ------------------------------------------------------------ WebSocket API


def test_websocket_api_is_a_websocket_api_routed_by_action() -> None:
    [api] = of_type("AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"


def test_websocket_api_has_exactly_the_protocol_routes() -> None:
    assert set(ROUTES) == set(ROUTE_FUNCTIONS)
    assert len(of_type("AWS::ApiGatewayV2::Route")) == len(ROUTE_FUNCTIONS)
    for route_id in ROUTES.values():
        assert is_ref(props(route_id)["ApiId"], "WebSocketApi")


@pytest.mark.parametrize("route_key", sorted(ROUTE_FUNCTIONS))
def test_route_targets_an_existing_lambda_proxy_integration_of_its_function(route_key: str) -> None:
    integration_id = integration_of(ROUTES[route_key])

    assert RESOURCES.get(integration_id, {}).get("Type") == "AWS::ApiGatewayV2::Integration"
    integration = props(integration_id)
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert function_of_uri(integration["IntegrationUri"]) == ROUTE_FUNCTIONS[route_key]


def test_every_integration_invokes_an_existing_function() -> None:
    for integration_id, integration in of_type("AWS::ApiGatewayV2::Integration").items():
        assert integration["Properties"]["IntegrationType"] == "AWS_PROXY", integration_id
        assert function_of_uri(integration["Properties"]["IntegrationUri"]) in FUNCTIONS, (
            integration_id
        )


@pytest.mark.parametrize("route_key", sorted(TWO_WAY_ROUTES))
def test_two_way_route_returns_the_handler_reply(route_key: str) -> None:
    route_id = ROUTES[route_key]
    responses = [
        response["Properties"]
        for response in of_type("AWS::ApiGatewayV2::RouteResponse").values()
        if is_ref(response["Properties"]["RouteId"], route_id)
    ]

    assert props(route_id).get("RouteResponseSelectionExpression") == "$default"
    assert [response["RouteResponseKey"] for response in responses] == ["$default"]


@pytest.mark.parametrize("route_key", sorted(ONE_WAY_ROUTES))
def test_one_way_route_sends_no_reply(route_key: str) -> None:
    route_id = ROUTES[route_key]

    assert "RouteResponseSelectionExpression" not in props(route_id)
    assert not [
        response
        for response in of_type("AWS::ApiGatewayV2::RouteResponse").values()
        if is_ref(response["Properties"]["RouteId"], route_id)
    ]


def test_connect_is_guarded_by_the_request_authorizer_reading_the_token_query_parameter() -> None:
    connect = props(ROUTES["$connect"])
    assert connect["AuthorizationType"] == "CUSTOM"
    authorizer_id = connect["AuthorizerId"]["Ref"]

    authorizer = props(authorizer_id)
    assert RESOURCES[authorizer_id]["Type"] == "AWS::ApiGatewayV2::Authorizer"
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["IdentitySource"] == ["route.request.querystring.token"]
    assert function_of_uri(authorizer["AuthorizerUri"]) == "AuthorizerFunction"


def test_only_connect_is_authorized_because_authorizers_run_on_connect_only() -> None:
    for route_key, route_id in ROUTES.items():
        if route_key != "$connect":
            assert props(route_id).get("AuthorizationType", "NONE") == "NONE", route_key
            assert "AuthorizerId" not in props(route_id), route_key


@pytest.mark.parametrize("route_key", sorted(ROUTE_FUNCTIONS))
def test_api_gateway_may_invoke_each_route_function_from_that_route_only(route_key: str) -> None:
    function_id = ROUTE_FUNCTIONS[route_key]
    source_arns = [
        sub_string(permission["Properties"]["SourceArn"])
        for permission in of_type("AWS::Lambda::Permission").values()
        if is_ref(permission["Properties"]["FunctionName"], function_id)
        and permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]

    assert source_arns == [
        f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{WebSocketApi}}/*/{route_key}"
    ]


def test_api_gateway_may_invoke_the_authorizer_as_that_authorizer_only() -> None:
    [permission] = [
        p["Properties"]
        for p in of_type("AWS::Lambda::Permission").values()
        if is_ref(p["Properties"]["FunctionName"], "AuthorizerFunction")
    ]

    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert sub_string(permission["SourceArn"]).endswith(
        ":${WebSocketApi}/authorizers/${ConnectAuthorizer}"
    )


def test_stage_auto_deploys_every_change_after_all_routes_exist_and_is_throttled() -> None:
    # A Deployment resource is a snapshot CloudFormation never refreshes (stale after an
    # integration or authorizer change); AutoDeploy redeploys on every change.
    assert of_type("AWS::ApiGatewayV2::Deployment") == {}
    [stage] = of_type("AWS::ApiGatewayV2::Stage").values()

    route_responses = set(of_type("AWS::ApiGatewayV2::RouteResponse"))
    assert set(ROUTES.values()) | route_responses <= set(as_list(stage["DependsOn"]))
    assert "DeploymentId" not in stage["Properties"]
    assert is_ref(stage["Properties"]["StageName"], "StageName")
    assert stage["Properties"]["AutoDeploy"] is True
    assert stage["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }


# --------------------------------------------------------------- functions


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_code_folder_exists_with_an_app_handler(function_id: str) -> None:
    assert props(function_id)["CodeUri"] == f"functions/{FUNCTION_DIRS[function_id]}/"
    assert function_setting(function_id, "Handler") == "app.handler"
    app = ROOT / props(function_id)["CodeUri"] / "app.py"
    if not app.exists():
        pytest.skip(f"{app.relative_to(ROOT)} not written yet")

    tree = ast.parse(app.read_text(encoding="utf-8"), filename=str(app))
    defined = {
        node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    defined |= {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert "handler" in defined, f"{app.relative_to(ROOT)} defines no module-level handler"


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_runs_python312_on_arm64_with_the_courier_layer(function_id: str) -> None:
    assert function_setting(function_id, "Runtime") == "python3.12"
    assert function_setting(function_id, "Architectures") == ["arm64"]
    assert {"Ref": "CourierLayer"} in function_setting(function_id, "Layers")


def test_every_route_function_the_admin_function_and_the_sqs_workers_exist() -> None:
    assert (
        set(FUNCTIONS)
        == set(ROUTE_FUNCTIONS.values())
        | {
            "AuthorizerFunction",
            "AdminFunction",
        }
        | set(WORKERS)
        | STREAM_WORKERS
    )
    assert {"DeliveryWorkerFunction"} == STREAM_WORKERS
    assert set(FUNCTION_DIRS) == set(FUNCTIONS)


def test_layer_is_built_by_sam_for_python312_arm64() -> None:
    layer = RESOURCES["CourierLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/courier/"
    assert (ROOT / "layers/courier/requirements.txt").is_file()


def test_functions_see_exactly_the_documented_environment_variables() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert set(variables) == ENVIRONMENT_VARIABLES
    for function_id in FUNCTIONS:
        assert "Environment" not in props(function_id), (
            f"{function_id} overrides the shared environment"
        )


def test_resource_variables_refer_to_the_resources_and_settings_to_the_parameters() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert {
        name: value["Ref"]
        for name, value in variables.items()
        if isinstance(value, dict) and set(value) == {"Ref"}
    } == {
        "COURIER_CONNECTIONS_TABLE": "ConnectionsTable",
        "COURIER_CHANNELS_TABLE": "ChannelsTable",
        "COURIER_MESSAGES_TABLE": "MessagesTable",
        "COURIER_MEMBERSHIPS_TABLE": "MembershipsTable",
        "COURIER_DEDUP_TABLE": "DedupTable",
        "COURIER_ACKS_TABLE": "AcksTable",
        "COURIER_RETRIES_TABLE": "RetriesTable",
        "COURIER_NOTIFICATIONS_TABLE": "NotificationsTable",
        "COURIER_PRESENCE_TABLE": "PresenceTable",
        "COURIER_RETRY_QUEUE_URL": "RetryQueue",
        "COURIER_FANOUT_QUEUE_URL": "FanoutQueue",
        "COURIER_NOTIFY_QUEUE_URL": "NotifyQueue",
        "COURIER_NOTIFY_TOPIC_ARN": "NotificationsTopic",
        "COURIER_JWT_SECRET_PARAM": "JwtSecretParameterName",
        "COURIER_RETENTION_DAYS": "RetentionDays",
        "COURIER_DEDUP_HOURS": "DedupWindowHours",
        "COURIER_RETRY_BASE_SECONDS": "RetryBaseSeconds",
        "COURIER_MAX_RETRIES": "MaxRetries",
        "COURIER_FANOUT_INLINE_LIMIT": "FanoutInlineLimit",
        "COURIER_NOTIFY_COALESCE_SECONDS": "NotifyCoalesceSeconds",
        "COURIER_RECALL_SECONDS": "RecallSeconds",
        "POWERTOOLS_LOG_LEVEL": "LogLevel",
    }


def test_fanout_and_notification_parameters_have_their_defaults_and_bounds() -> None:
    parameters = TEMPLATE["Parameters"]
    assert parameters["FanoutInlineLimit"] | {"Description": ""} == {
        "Type": "Number",
        "Default": 100,
        "MinValue": 1,
        "Description": "",
    }
    # 900 s is SQS's DelaySeconds ceiling: the coalescing delay is a message delay.
    assert parameters["NotifyCoalesceSeconds"] | {"Description": ""} == {
        "Type": "Number",
        "Default": 30,
        "MinValue": 0,
        "MaxValue": 900,
        "Description": "",
    }


def test_alarm_email_is_optional_and_subscribed_only_when_given() -> None:
    email = TEMPLATE["Parameters"]["AlarmEmail"]
    assert email["Type"] == "String"
    assert email["Default"] == ""
    pattern = re.compile(email["AllowedPattern"])
    assert pattern.fullmatch("")
    assert pattern.fullmatch("ops@example.com")
    assert not pattern.fullmatch("not an address")
    assert TEMPLATE["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    [(subscription_id, subscription)] = of_type("AWS::SNS::Subscription").items()
    assert subscription["Condition"] == "HasAlarmEmail", subscription_id
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_management_endpoint_is_the_stage_url_of_the_websocket_api() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert sub_string(variables["COURIER_WS_ENDPOINT"]) == (
        "https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"
    )


def test_admin_api_is_iam_authorized_and_serves_the_admin_calls() -> None:
    assert props("AdminApi")["Auth"] == {
        "DefaultAuthorizer": "AWS_IAM",
        "EnableIamAuthorizer": True,
    }
    events = props("AdminFunction")["Events"].values()
    assert all(
        event["Type"] == "HttpApi" and is_ref(event["Properties"]["ApiId"], "AdminApi")
        for event in events
    )
    assert {(event["Properties"]["Method"], event["Properties"]["Path"]) for event in events} == {
        ("POST", "/admin/tokens"),
        ("PUT", "/admin/groups/{group}"),
        ("GET", "/admin/users/{user}/unread"),
        ("DELETE", "/admin/channels/{channel}/messages/{seq}"),
    }


# ------------------------------------------------------------------ tables


def test_ttl_expires_only_connections_messages_dedup_retry_and_notification_records() -> None:
    with_ttl = {
        logical_id: table["Properties"]["TimeToLiveSpecification"]
        for logical_id, table in of_type("AWS::DynamoDB::Table").items()
        if table["Properties"].get("TimeToLiveSpecification", {}).get("Enabled")
    }
    assert set(with_ttl) == {
        "ConnectionsTable",
        "MessagesTable",
        "DedupTable",
        "RetriesTable",
        "NotificationsTable",
    }
    assert {spec["AttributeName"] for spec in with_ttl.values()} == {"expiresAt"}


def test_message_data_tables_have_point_in_time_recovery_and_survive_stack_deletion() -> None:
    protected = {"ChannelsTable", "MessagesTable", "MembershipsTable", "AcksTable"}
    for logical_id, table in of_type("AWS::DynamoDB::Table").items():
        pitr = (
            table["Properties"]
            .get("PointInTimeRecoverySpecification", {})
            .get("PointInTimeRecoveryEnabled", False)
        )
        assert pitr is (logical_id in protected), logical_id
        if logical_id in protected:
            assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", logical_id


@pytest.mark.parametrize(
    ("logical_id", "hash_key"),
    [("RetriesTable", "deviceKey"), ("NotificationsTable", "userId")],
)
def test_delivery_state_tables_are_keyed_per_channel_and_go_with_the_stack(
    logical_id: str, hash_key: str
) -> None:
    table = RESOURCES[logical_id]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["Properties"]["KeySchema"] == [
        {"AttributeName": hash_key, "KeyType": "HASH"},
        {"AttributeName": "channel", "KeyType": "RANGE"},
    ]
    assert table["Properties"]["AttributeDefinitions"] == [
        {"AttributeName": hash_key, "AttributeType": "S"},
        {"AttributeName": "channel", "AttributeType": "S"},
    ]
    assert "GlobalSecondaryIndexes" not in table["Properties"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Delete"


def test_tables_are_on_demand_encrypted_and_named_by_cloudformation() -> None:
    for logical_id, table in of_type("AWS::DynamoDB::Table").items():
        assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}, logical_id
        assert "TableName" not in table["Properties"], logical_id


# ---------------------------------------------------------------- policies


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_policies_are_explicit_statements_not_sam_templates(function_id: str) -> None:
    for policy in props(function_id).get("Policies", []):
        assert isinstance(policy, dict), policy
        assert set(policy) <= {"Version", "Statement"}, policy


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_no_function_may_scan_or_use_wildcard_actions(function_id: str) -> None:
    assert grants(function_id, "dynamodb:Scan") == []
    wildcards = [
        action
        for statement in statements(function_id)
        for action in actions(statement)
        if "*" in action
    ]
    assert wildcards == []


def connection_methods(function_id: str) -> set[str]:
    """The @connections methods a function may call (POST, GET, DELETE)."""
    found = set()
    for resource in grants(function_id, "execute-api:ManageConnections"):
        match = re.fullmatch(
            r".*:\$\{WebSocketApi\}/\$\{StageName\}/(\w+)/@connections/\*", sub_string(resource)
        )
        assert match is not None, resource
        found.add(match.group(1))
    return found


def test_only_presence_may_ask_whether_a_connection_is_alive() -> None:
    asking = {function_id for function_id in FUNCTIONS if connection_methods(function_id)}
    assert {f: connection_methods(f) for f in asking if "POST" not in connection_methods(f)} == {
        "PresenceFunction": {"GET"}
    }


def test_only_the_client_routes_and_the_delivery_workers_may_post_to_connections() -> None:
    posting = {
        function_id for function_id in FUNCTIONS if "POST" in connection_methods(function_id)
    }
    assert posting == {
        "SendFunction",
        "AckFunction",
        "ReadFunction",
        "RecallFunction",
        "EditFunction",
        "MuteFunction",
        "TypingFunction",
        "AdminFunction",  # a recall tells the members
        "RetryWorkerFunction",
        "FanoutWorkerFunction",
    }
    for function_id in posting:
        assert connection_methods(function_id) == {"POST"}, function_id


def test_send_grants_each_transaction_item_its_own_action_and_no_condition_checks() -> None:
    # IAM authorizes TransactWriteItems item by item: Put dedup and message, Update
    # counter and cursor. No item is a ConditionCheck, so nobody gets ConditionCheckItem.
    assert {
        (action, table)
        for action, table in granted("SendFunction")
        if action in ("dynamodb:PutItem", "dynamodb:UpdateItem")
    } == {
        ("dynamodb:PutItem", "DedupTable"),
        ("dynamodb:PutItem", "MessagesTable"),
        ("dynamodb:UpdateItem", "ChannelsTable"),
        ("dynamodb:UpdateItem", "MembershipsTable"),
        ("dynamodb:UpdateItem", "PresenceTable"),  # not in it: a gone connection's lastSeen
    }
    for function_id in FUNCTIONS:
        assert grants(function_id, "dynamodb:ConditionCheckItem") == [], function_id


def test_index_grants_name_indexes_that_exist() -> None:
    indexes = {
        (logical_id, index["IndexName"])
        for logical_id, table in of_type("AWS::DynamoDB::Table").items()
        for index in table["Properties"].get("GlobalSecondaryIndexes", [])
    }
    for function_id in FUNCTIONS:
        for resource in grants(function_id, "dynamodb:Query"):
            if isinstance(resource, dict) and "Fn::Sub" in resource:
                match = re.fullmatch(r"\$\{(\w+)\.Arn\}/index/(\w+)", sub_string(resource))
                assert match, (function_id, resource)
                assert (match.group(1), match.group(2)) in indexes, (function_id, resource)


def test_jwt_secret_is_readable_by_the_authorizer_and_admin_only() -> None:
    parameter_arn = {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
        ":parameter${JwtSecretParameterName}"
    }
    readers = {function_id for function_id in FUNCTIONS if grants(function_id, "ssm:GetParameter")}
    assert readers == {"AuthorizerFunction", "AdminFunction"}
    for function_id in readers:
        assert grants(function_id, "ssm:GetParameter") == [parameter_arn]


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_no_function_gets_sqs_or_sns_wildcards(function_id: str) -> None:
    for statement in statements(function_id):
        messaging = [a for a in actions(statement) if a.lower().startswith(("sqs:", "sns:"))]
        assert not [a for a in messaging if "*" in a], statement
        if messaging:
            assert "*" not in as_list(statement["Resource"]), statement
            assert all(resource_name(r) for r in as_list(statement["Resource"]))


def test_only_the_delivery_workers_may_enqueue_and_only_to_their_queues() -> None:
    """And recall, edit and the admin API (its recall), only to the fan-out queue: a
    large channel's recall and edit frames go through fan-out jobs."""
    senders = {
        function_id: {resource_name(r) for r in grants(function_id, "sqs:SendMessage")}
        for function_id in FUNCTIONS
        if grants(function_id, "sqs:SendMessage")
    }
    assert senders == {
        "DeliveryWorkerFunction": {
            "RetryQueue",
            "FanoutQueue",
            "NotifyQueue",
            "DeliveryDeadLetterQueue",
        },
        "RetryWorkerFunction": {"RetryQueue"},
        "FanoutWorkerFunction": {"RetryQueue", "NotifyQueue", "FanoutQueue"},
        "RecallFunction": {"FanoutQueue"},
        "EditFunction": {"FanoutQueue"},
        "AdminFunction": {"FanoutQueue"},
    }


def test_only_the_notifier_may_publish_and_only_to_the_notifications_topic() -> None:
    publishers = {
        function_id: [resource_name(r) for r in grants(function_id, "sns:Publish")]
        for function_id in FUNCTIONS
        if grants(function_id, "sns:Publish")
    }
    assert publishers == {"NotifierFunction": ["NotificationsTopic"]}


def test_send_may_find_members_but_queues_nothing_the_durable_path_queues_it() -> None:
    assert ("dynamodb:Query", "MembershipsTable/index/ByChannel") in granted("SendFunction")
    assert {r for a, r in granted("SendFunction") if a.startswith("sqs:")} == set()


@pytest.mark.parametrize(
    ("function_id", "expected"),
    [
        (
            "RetryWorkerFunction",
            {
                ("dynamodb:GetItem", "AcksTable"),
                ("dynamodb:GetItem", "RetriesTable"),
                ("dynamodb:UpdateItem", "RetriesTable"),
                ("dynamodb:Query", "MessagesTable"),
                ("dynamodb:Query", "ConnectionsTable"),
                ("dynamodb:DeleteItem", "ConnectionsTable"),
                ("dynamodb:UpdateItem", "PresenceTable"),
                ("execute-api:ManageConnections", "@connections"),
                ("sqs:SendMessage", "RetryQueue"),
            },
        ),
        (
            "FanoutWorkerFunction",
            {
                ("dynamodb:Query", "ConnectionsTable"),
                ("dynamodb:DeleteItem", "ConnectionsTable"),
                ("dynamodb:UpdateItem", "PresenceTable"),
                ("execute-api:ManageConnections", "@connections"),
                ("dynamodb:Query", "MembershipsTable/index/ByChannel"),
                ("sqs:SendMessage", "RetryQueue"),
                ("sqs:SendMessage", "NotifyQueue"),
                ("sqs:SendMessage", "FanoutQueue"),
                ("dynamodb:GetItem", "MessagesTable"),  # a chunk reads its message again
                ("dynamodb:GetItem", "ChannelsTable"),  # a recall's frames carry unread
                ("dynamodb:BatchGetItem", "MembershipsTable"),
            },
        ),
        (
            "NotifierFunction",
            {
                ("dynamodb:UpdateItem", "NotificationsTable"),
                ("dynamodb:BatchGetItem", "ChannelsTable"),
                ("dynamodb:BatchGetItem", "MembershipsTable"),
                ("dynamodb:Query", "MembershipsTable"),
                ("dynamodb:BatchGetItem", "MessagesTable"),
                ("sns:Publish", "NotificationsTopic"),
            },
        ),
    ],
)
def test_sqs_worker_gets_exactly_what_its_job_needs(
    function_id: str, expected: set[tuple[str, str]]
) -> None:
    assert granted(function_id) == expected


def test_delivery_state_tables_are_reachable_by_their_workers_only() -> None:
    for table, owners in (
        ("RetriesTable", {"RetryWorkerFunction"}),
        ("NotificationsTable", {"NotifierFunction"}),
    ):
        users = {
            function_id
            for function_id in FUNCTIONS
            if any(resource.startswith(table) for _, resource in granted(function_id))
        }
        assert users == owners, table


# ------------------------------------------------------------ queues, topics


def test_every_queue_is_a_work_queue_or_a_dead_letter_queue() -> None:
    assert {spec["queue"] for spec in WORKERS.values()} == WORK_QUEUES
    assert {spec["dlq"] for spec in WORKERS.values()} | {
        "DeliveryDeadLetterQueue"  # the stream's on-failure destination
    } == DEAD_LETTER_QUEUES
    assert not WORK_QUEUES & DEAD_LETTER_QUEUES


@pytest.mark.parametrize("queue_id", sorted(QUEUES))
def test_queue_is_encrypted_and_named_by_cloudformation(queue_id: str) -> None:
    assert props(queue_id)["SqsManagedSseEnabled"] is True
    assert "QueueName" not in props(queue_id)
    # Only fan-out deduplicates its jobs (FIFO); retry and notify jobs need DelaySeconds,
    # which FIFO queues do not take per message. A FIFO queue's DLQ must be FIFO too.
    assert props(queue_id).get("FifoQueue", False) is queue_id.startswith("Fanout")


@pytest.mark.parametrize("function_id", sorted(WORKERS))
def test_work_queue_moves_a_job_to_its_own_dlq_after_five_receives(function_id: str) -> None:
    queue, dlq = WORKERS[function_id]["queue"], WORKERS[function_id]["dlq"]
    policy = props(queue)["RedrivePolicy"]

    assert policy == {"deadLetterTargetArn": table_arn(dlq), "maxReceiveCount": 5}
    assert [
        other
        for other in QUEUES
        if get_att(props(other).get("RedrivePolicy", {}).get("deadLetterTargetArn"), "Arn") == dlq
    ] == [queue]


@pytest.mark.parametrize("dlq", sorted(DEAD_LETTER_QUEUES))
def test_dead_letter_queue_keeps_jobs_longest_and_has_no_dlq_of_its_own(dlq: str) -> None:
    # A standard queue keeps a message's original enqueue time when it moves to the
    # DLQ, so the DLQ must keep messages longer than its source (SQS default 4 days).
    assert props(dlq)["MessageRetentionPeriod"] == 1209600
    assert "RedrivePolicy" not in props(dlq)
    assert "VisibilityTimeout" not in props(dlq)
    assert not [
        function_id
        for function_id in FUNCTIONS
        for event in sqs_events(function_id)
        if get_att(event["Queue"], "Arn") == dlq
    ], f"{dlq} must not be consumed automatically"
    for queue in WORK_QUEUES:
        assert props(queue).get("MessageRetentionPeriod", 345600) < 1209600, queue


@pytest.mark.parametrize("dlq", sorted(DEAD_LETTER_QUEUES))
def test_dead_letter_queue_alarms_on_its_first_message(dlq: str) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Dimensions")
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]
    ]
    assert len(alarms) == 1, dlq
    [alarm] = alarms
    assert {key: value for key, value in alarm.items() if key != "AlarmDescription"} == {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}],
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlarmTopic"}],
    }


def test_every_alarm_has_a_known_purpose_and_notifies_the_alarm_topic() -> None:
    alarms = of_type("AWS::CloudWatch::Alarm")
    expected = (
        len(DEAD_LETTER_QUEUES)
        + 2 * len(FUNCTIONS)  # Errors and Throttles
        + 3  # WebSocket ExecutionError and IntegrationError, admin API 5xx
        + len(of_type("AWS::DynamoDB::Table"))
        + len(WORK_QUEUES)
        + len(STREAM_WORKERS)  # IteratorAge: the stream falling behind
    )
    assert len(alarms) == expected
    for alarm_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], alarm_id
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching", alarm_id


@pytest.mark.parametrize("function_id", sorted(WORKERS))
def test_worker_consumes_its_queue_with_partial_batch_responses(function_id: str) -> None:
    expected = WORKERS[function_id]
    [event] = sqs_events(function_id)

    window = (
        {"MaximumBatchingWindowInSeconds": expected["MaximumBatchingWindowInSeconds"]}
        if "MaximumBatchingWindowInSeconds" in expected
        else {}
    )
    assert event == {
        "Queue": {"Fn::GetAtt": [expected["queue"], "Arn"]},
        "BatchSize": expected["BatchSize"],
        **window,
        "ScalingConfig": {"MaximumConcurrency": {"Ref": CONCURRENCY_PARAMETERS[function_id]}},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }


def test_every_sqs_event_source_reports_batch_item_failures() -> None:
    events = [(f, event) for f in FUNCTIONS for event in sqs_events(f)]
    assert {f for f, _ in events} == set(WORKERS)
    for function_id, event in events:
        assert event.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], function_id


@pytest.mark.parametrize("queue_id", sorted(WORK_QUEUES))
def test_queue_is_consumed_by_one_function_and_hides_jobs_for_six_of_its_timeouts(
    queue_id: str,
) -> None:
    consumers = [
        function_id
        for function_id in FUNCTIONS
        for event in sqs_events(function_id)
        if get_att(event["Queue"], "Arn") == queue_id
    ]
    assert len(consumers) == 1, consumers
    [consumer] = consumers

    timeout = function_setting(consumer, "Timeout")
    assert props(queue_id)["VisibilityTimeout"] >= 6 * timeout, (queue_id, consumer, timeout)


def test_worker_timeouts_and_memory() -> None:
    assert {f: function_setting(f, "Timeout") for f in WORKERS} == {
        "RetryWorkerFunction": 20,
        "FanoutWorkerFunction": 60,
        "NotifierFunction": 20,
    }
    assert function_setting("FanoutWorkerFunction", "MemorySize") == 512


def test_notifications_topic_is_encrypted_and_the_alarm_topic_is_usable_by_cloudwatch() -> None:
    assert set(of_type("AWS::SNS::Topic")) == {"NotificationsTopic", "AlarmTopic"}
    assert props("NotificationsTopic")["KmsMasterKeyId"] == "alias/aws/sns"
    # CloudWatch cannot publish to a topic under the AWS managed key (a customer
    # managed key with a CloudWatch grant would be needed).
    assert props("AlarmTopic").get("KmsMasterKeyId") != "alias/aws/sns"
    for topic in ("NotificationsTopic", "AlarmTopic"):
        assert "TopicName" not in props(topic)


# ------------------------------------------------------------------ outputs


def test_outputs_name_the_queues_dead_letter_queues_topic_and_new_tables() -> None:
    outputs = {name: output["Value"] for name, output in TEMPLATE["Outputs"].items()}
    for queue in QUEUES:
        assert outputs[f"{queue}Url"] == {"Ref": queue}
    for dlq in DEAD_LETTER_QUEUES:
        assert outputs[f"{dlq}Arn"] == {"Fn::GetAtt": [dlq, "Arn"]}
    for table in of_type("AWS::DynamoDB::Table"):
        assert outputs[f"{table}Name"] == {"Ref": table}
    assert outputs["NotificationsTopicArn"] == {"Ref": "NotificationsTopic"}
    assert outputs["AlarmTopicArn"] == {"Ref": "AlarmTopic"}


# ----------------------------------------------------------------- cfn-lint


def test_cfn_lint_reports_nothing() -> None:
    matches = lint_file(TEMPLATE_PATH)
    assert [str(match) for match in matches] == []


def test_cfn_lint_check_catches_a_broken_template(tmp_path: pathlib.Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text(
        TEMPLATE_PATH.read_text(encoding="utf-8").replace(
            "${SendIntegration}", "${MissingIntegration}"
        ),
        encoding="utf-8",
    )
    assert lint_file(broken)


# ---------------------------------------------------------------- hardening


def walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every scalar of a parsed template fragment, with a readable path to it."""
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in walk(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [pair for index, item in enumerate(value) for pair in walk(item, f"{path}[{index}]")]
    return [(path, value)]


def test_tracing_is_a_parameter_that_defaults_to_off_and_powertools_follows_it() -> None:
    parameter = TEMPLATE["Parameters"]["Tracing"]
    assert parameter["AllowedValues"] == ["Active", "PassThrough"]
    assert parameter["Default"] == "PassThrough"
    assert TEMPLATE["Conditions"]["TracingOn"] == {"Fn::Equals": [{"Ref": "Tracing"}, "Active"]}
    assert TEMPLATE["Globals"]["Function"]["Tracing"] == {"Ref": "Tracing"}
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACE_DISABLED"] == {"Fn::If": ["TracingOn", "false", "true"]}
    for function_id in FUNCTIONS:
        assert "Tracing" not in props(function_id), function_id


def test_tracer_never_captures_handler_responses_into_traces() -> None:
    # Responses carry issued tokens (admin), message bodies (sync) and sendacks.
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert "POWERTOOLS_TRACER_CAPTURE_ERROR" not in variables


def test_log_retention_is_a_parameter_of_the_values_cloudwatch_accepts_30_days_by_default() -> None:
    parameter = TEMPLATE["Parameters"]["LogRetentionDays"]
    assert parameter["Default"] == 30
    assert parameter["AllowedValues"] == CLOUDWATCH_RETENTION_DAYS


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_logs_to_its_own_group_created_first_kept_30_days_deleted_with_the_stack(
    function_id: str,
) -> None:
    # LoggingConfig refers to the group, so the function depends on it: CloudFormation
    # creates the group before Lambda could create /aws/lambda/<name> on an invocation.
    logging = props(function_id)["LoggingConfig"]
    assert set(logging) == {"LogGroup"}
    group_id = logging["LogGroup"]["Ref"]
    group = RESOURCES[group_id]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Delete"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert sub_string(group["Properties"]["LogGroupName"]) == (
        f"/aws/lambda/${{AWS::StackName}}/{function_id}"
    )


def test_every_log_group_has_the_retention_parameter_and_goes_with_the_stack() -> None:
    groups = of_type("AWS::Logs::LogGroup")
    assert len(groups) == len(FUNCTIONS) + 2  # and the two APIs' access logs
    for group_id, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, group_id
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Delete", group_id


@pytest.mark.parametrize("function_id", sorted(WORKERS))
def test_sqs_worker_is_capped_by_a_parameter_of_at_least_two_leaving_room_for_routes(
    function_id: str,
) -> None:
    [event] = sqs_events(function_id)
    parameter_id = CONCURRENCY_PARAMETERS[function_id]
    assert event["ScalingConfig"] == {"MaximumConcurrency": {"Ref": parameter_id}}
    parameter = TEMPLATE["Parameters"][parameter_id]
    # SQS event sources accept 2..1000; a cap reserves nothing from the account pool.
    assert parameter["MinValue"] == 2
    assert parameter["MaxValue"] == 1000
    assert 2 <= parameter["Default"] <= 10
    assert "ReservedConcurrentExecutions" not in props(function_id)
    total = sum(TEMPLATE["Parameters"][p]["Default"] for p in CONCURRENCY_PARAMETERS.values())
    assert total <= 50  # of the default 1,000 per account and region


def test_fifo_event_sources_have_no_batching_window() -> None:
    for function_id in WORKERS:
        for event in sqs_events(function_id):
            queue = get_att(event["Queue"], "Arn")
            if props(str(queue)).get("FifoQueue"):
                assert "MaximumBatchingWindowInSeconds" not in event, function_id


def alarm_of(namespace: str, metric: str, dimensions: list[dict[str, Any]]) -> dict[str, Any]:
    found = [
        alarm["Properties"]
        for alarm in of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == namespace
        and alarm["Properties"].get("MetricName") == metric
        and alarm["Properties"].get("Dimensions") == dimensions
    ]
    assert len(found) == 1, (namespace, metric, dimensions)
    return found[0]


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_function_alarms_on_its_first_error_and_throttle(function_id: str, metric: str) -> None:
    alarm = alarm_of(
        "AWS/Lambda", metric, [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    )
    assert alarm["Statistic"] == "Sum"
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


@pytest.mark.parametrize("metric", ["ExecutionError", "IntegrationError"])
def test_websocket_api_alarms_on_integration_and_execution_errors(metric: str) -> None:
    # WebSocket APIs have no 5XX metric: these two are their server-side errors.
    alarm = alarm_of(
        "AWS/ApiGateway",
        metric,
        [
            {"Name": "ApiId", "Value": {"Ref": "WebSocketApi"}},
            {"Name": "Stage", "Value": {"Ref": "StageName"}},
        ],
    )
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1)


def test_admin_api_alarms_on_5xx() -> None:
    alarm = alarm_of("AWS/ApiGateway", "5xx", [{"Name": "ApiId", "Value": {"Ref": "AdminApi"}}])
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1)


@pytest.mark.parametrize("table_id", sorted(of_type("AWS::DynamoDB::Table")))
def test_table_alarms_on_read_and_write_throttling_including_its_indexes(table_id: str) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in of_type("AWS::CloudWatch::Alarm").values()
        if any(
            d.get("Value") == {"Ref": table_id}
            for m in alarm["Properties"].get("Metrics", [])
            for d in m.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
        )
    ]
    assert len(alarms) == 1, table_id
    [alarm] = alarms
    watched = {
        (
            m["MetricStat"]["Metric"]["MetricName"],
            next(
                (
                    d["Value"]
                    for d in m["MetricStat"]["Metric"]["Dimensions"]
                    if d["Name"] == "GlobalSecondaryIndexName"
                ),
                None,
            ),
        )
        for m in alarm["Metrics"]
        if "MetricStat" in m
    }
    indexes = [index["IndexName"] for index in props(table_id).get("GlobalSecondaryIndexes", [])]
    assert watched == {
        (metric, index)
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents")
        for index in [None, *indexes]
    }
    [expression] = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "SUM(METRICS())"
    assert expression["ReturnData"] is True
    assert alarm["Threshold"] == 1


@pytest.mark.parametrize("queue_id", sorted(WORK_QUEUES))
def test_work_queue_alarms_when_its_oldest_job_outlives_the_longest_delay(queue_id: str) -> None:
    alarm = alarm_of(
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
    )
    assert alarm["Statistic"] == "Maximum"
    # Retry and notification jobs may be delayed up to 900 s; fan-out jobs never are.
    longest_delay = 0 if props(queue_id).get("FifoQueue") else 900
    assert alarm["Threshold"] > longest_delay
    assert alarm["Threshold"] <= longest_delay + 600


ACCESS_LOG_SECRETS = ("$context.authorizer.", "body", "token", "$input", "header", "querystring")


def test_websocket_stage_writes_json_access_logs_without_bodies_or_tokens() -> None:
    [stage] = of_type("AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["WebSocketAccessLogGroup", "Arn"]}
    fields = json.loads(settings["Format"])
    assert {"requestId", "routeKey", "status", "connectionId", "ip", "error"} <= set(fields)
    allowed_authorizer = {"$context.authorizer.status", "$context.authorizer.error"}
    for name, variable in fields.items():
        if variable in allowed_authorizer:
            continue
        assert not any(secret in variable.lower() for secret in ACCESS_LOG_SECRETS), name


def test_admin_api_writes_json_access_logs_without_bodies_or_tokens() -> None:
    settings = props("AdminApi")["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["AdminApiAccessLogGroup", "Arn"]}
    fields = json.loads(settings["Format"])
    assert {"requestId", "routeKey", "status", "ip", "error"} <= set(fields)
    for name, variable in fields.items():
        assert not any(secret in variable.lower() for secret in ACCESS_LOG_SECRETS), name


def test_websocket_logging_has_the_account_cloudwatch_role_unless_told_one_exists() -> None:
    # REST and WebSocket APIs log through the account's API Gateway CloudWatch role
    # (HTTP APIs do not): without one, the stage with access logs fails to deploy.
    parameter = TEMPLATE["Parameters"]["ApiGatewayCloudWatchRole"]
    assert parameter["AllowedValues"] == ["Create", "Existing"]
    assert parameter["Default"] == "Create"
    account = RESOURCES["ApiGatewayAccount"]
    role = RESOURCES["ApiGatewayLogsRole"]
    for resource in (account, role):
        assert resource["Condition"] == "CreateApiGatewayLogsRole"
        # Kept on stack deletion: the account setting serves every API of the account.
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    assert account["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]
    }
    [stage] = of_type("AWS::ApiGatewayV2::Stage").values()
    # The stage names the account setting, so it is created after it.
    condition, with_role, _ = stage["Properties"]["Description"]["Fn::If"]
    assert condition == "CreateApiGatewayLogsRole"
    assert "${ApiGatewayAccount}" in sub_string(with_role)


def test_no_endpoint_hard_codes_amazonaws_com() -> None:
    # Endpoints use ${AWS::URLSuffix} (amazonaws.com.cn in China). Service principals stay
    # literal: apigateway.amazonaws.com is the principal in every partition, and
    # apigateway.amazonaws.com.cn is refused by Lambda AddPermission in China.
    literal = [
        (path, value)
        for path, value in walk(TEMPLATE)
        if isinstance(value, str) and "amazonaws.com" in value
    ]
    assert literal, "expected the service principals"
    for path, value in literal:
        assert path.endswith((".Principal", ".Principal.Service")), (path, value)
        assert value == "apigateway.amazonaws.com", (path, value)
    outputs = {
        name: sub_string(o["Value"])
        for name, o in TEMPLATE["Outputs"].items()
        if isinstance(o["Value"], dict) and "Fn::Sub" in o["Value"]
    }
    for name in ("WebSocketUrl", "ManagementEndpoint", "AdminApiUrl"):
        assert ".execute-api.${AWS::Region}.${AWS::URLSuffix}" in outputs[name], name
