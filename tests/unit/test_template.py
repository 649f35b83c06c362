"""template.yaml: the structure cfn-lint does not check (see FACTS.md), and cfn-lint itself."""

from __future__ import annotations

import ast
import fnmatch
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
}
TWO_WAY_ROUTES = {"$default", "send", "read", "sync"}
ONE_WAY_ROUTES = set(ROUTE_FUNCTIONS) - TWO_WAY_ROUTES
ENVIRONMENT_VARIABLES = {
    "COURIER_CONNECTIONS_TABLE",
    "COURIER_CHANNELS_TABLE",
    "COURIER_MESSAGES_TABLE",
    "COURIER_MEMBERSHIPS_TABLE",
    "COURIER_DEDUP_TABLE",
    "COURIER_ACKS_TABLE",
    "COURIER_WS_ENDPOINT",
    "COURIER_JWT_SECRET_PARAM",
    "COURIER_RETENTION_DAYS",
    "COURIER_DEDUP_HOURS",
    "COURIER_RETRY_BASE_SECONDS",
    "COURIER_MAX_RETRIES",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}
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


# ------------------------------------------------------------ WebSocket API


def test_websocket_api_is_a_websocket_api_routed_by_action() -> None:
    [api] = of_type("AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"


def test_websocket_api_has_exactly_the_seven_protocol_routes() -> None:
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


def test_deployment_waits_for_every_route_and_feeds_the_throttled_stage() -> None:
    [(deployment_id, deployment)] = of_type("AWS::ApiGatewayV2::Deployment").items()
    [stage] = of_type("AWS::ApiGatewayV2::Stage").values()

    assert set(ROUTES.values()) <= set(as_list(deployment["DependsOn"]))
    assert is_ref(stage["Properties"]["DeploymentId"], deployment_id)
    assert is_ref(stage["Properties"]["StageName"], "StageName")
    assert "AutoDeploy" not in stage["Properties"]
    assert stage["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }


# --------------------------------------------------------------- functions


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_code_folder_exists_with_an_app_handler(function_id: str) -> None:
    folder = ROOT / props(function_id)["CodeUri"]
    assert folder.is_dir(), f"{function_id}: CodeUri {folder} does not exist"
    assert function_setting(function_id, "Handler") == "app.handler"
    app = folder / "app.py"
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


def test_every_route_function_and_the_admin_function_exist() -> None:
    assert set(FUNCTIONS) == set(ROUTE_FUNCTIONS.values()) | {"AuthorizerFunction", "AdminFunction"}


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


def test_management_endpoint_is_the_stage_url_of_the_websocket_api() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert sub_string(variables["COURIER_WS_ENDPOINT"]) == (
        "https://${WebSocketApi}.execute-api.${AWS::Region}.amazonaws.com/${StageName}"
    )


def test_admin_api_is_iam_authorized_and_serves_the_three_admin_calls() -> None:
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
    }


# ------------------------------------------------------------------ tables


def test_ttl_expires_only_connections_messages_and_dedup_records() -> None:
    with_ttl = {
        logical_id: table["Properties"]["TimeToLiveSpecification"]
        for logical_id, table in of_type("AWS::DynamoDB::Table").items()
        if table["Properties"].get("TimeToLiveSpecification", {}).get("Enabled")
    }
    assert set(with_ttl) == {"ConnectionsTable", "MessagesTable", "DedupTable"}
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


def test_only_send_ack_and_read_may_post_to_connections() -> None:
    posting = {
        function_id
        for function_id in FUNCTIONS
        if grants(function_id, "execute-api:ManageConnections")
    }
    assert posting == {"SendFunction", "AckFunction", "ReadFunction"}
    for function_id in posting:
        [resource] = grants(function_id, "execute-api:ManageConnections")
        assert sub_string(resource).endswith(":${WebSocketApi}/${StageName}/POST/@connections/*")


def test_send_can_write_every_table_of_its_transaction() -> None:
    for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"):
        granted = grants("SendFunction", action)
        for table in ("ChannelsTable", "MessagesTable", "DedupTable", "MembershipsTable"):
            assert table_arn(table) in granted, (action, table)


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
