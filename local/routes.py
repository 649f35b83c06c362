"""The WebSocket API as template.yaml declares it: routes, their functions, the authorizer.

Read from the AWS::ApiGatewayV2 resources, so the local gateway routes exactly what
the deployed API routes: Route → Target `integrations/${X}` → Integration X →
IntegrationUri `${SomeFunction.Arn}` → that function's CodeUri folder.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local.template import TemplateError

_API = "AWS::ApiGatewayV2::Api"
_ROUTE = "AWS::ApiGatewayV2::Route"
_ROUTE_RESPONSE = "AWS::ApiGatewayV2::RouteResponse"
_INTEGRATION = "AWS::ApiGatewayV2::Integration"
_AUTHORIZER = "AWS::ApiGatewayV2::Authorizer"
_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}")
_BODY_SELECTION = re.compile(r"^\$request\.body\.([A-Za-z0-9_]+)$")
_QUERY_SOURCE = "route.request.querystring."
_HEADER_SOURCE = "route.request.header."


@dataclass(frozen=True)
class Route:
    key: str
    function: str  # folder under functions/
    two_way: bool  # has a RouteResponse: the handler's `body` is sent back


@dataclass(frozen=True)
class Authorizer:
    function: str
    query_sources: tuple[str, ...] = ()  # query parameters that must be present
    header_sources: tuple[str, ...] = ()  # headers that must be present


@dataclass(frozen=True)
class WebSocketApi:
    selection_field: str  # `action` for `$request.body.action`
    routes: Mapping[str, Route] = field(default_factory=dict)
    authorizer: Authorizer | None = None

    def select(self, frame: Any) -> Route | None:
        """The route a parsed frame goes to (`$default` when nothing matches), if any."""
        key = frame.get(self.selection_field) if isinstance(frame, dict) else None
        if isinstance(key, str) and key in self.routes and not key.startswith("$"):
            return self.routes[key]
        return self.routes.get("$default")


def _sub_references(value: Any) -> list[str]:
    """The logical ids a `!Sub` string (or a bare `!Ref`) points at."""
    if isinstance(value, dict) and "Ref" in value:
        return [str(value["Ref"])]
    text = value.get("Fn::Sub") if isinstance(value, dict) else value
    if isinstance(text, list):
        text = text[0]
    return _SUB_REFERENCE.findall(text) if isinstance(text, str) else []


def _function_folder(resources: Mapping[str, Any], uri: Any, where: str) -> str:
    for logical_id in _sub_references(uri):
        resource = resources.get(logical_id, {})
        if resource.get("Type") == "AWS::Serverless::Function":
            code_uri = resource.get("Properties", {}).get("CodeUri")
            if isinstance(code_uri, str):
                return pathlib.PurePosixPath(code_uri).name
    raise TemplateError(f"{where}: cannot tell which function it invokes")


def load_websocket_api(template: Mapping[str, Any]) -> WebSocketApi:
    """The (single) WebSocket API of the template."""
    resources: Mapping[str, Any] = template["Resources"]
    apis = [
        (logical_id, resource.get("Properties", {}))
        for logical_id, resource in resources.items()
        if resource.get("Type") == _API
        and resource.get("Properties", {}).get("ProtocolType") == "WEBSOCKET"
    ]
    if len(apis) != 1:
        raise TemplateError("the template needs exactly one WebSocket API")
    api_id, api = apis[0]
    match = _BODY_SELECTION.match(str(api.get("RouteSelectionExpression", "")))
    if match is None:
        raise TemplateError("RouteSelectionExpression must be $request.body.<field>")

    def of_api(kind: str) -> dict[str, Mapping[str, Any]]:
        return {
            logical_id: resource.get("Properties", {})
            for logical_id, resource in resources.items()
            if resource.get("Type") == kind
            and resource.get("Properties", {}).get("ApiId") == {"Ref": api_id}
        }

    two_way = {
        ref
        for props in of_api(_ROUTE_RESPONSE).values()
        for ref in _sub_references(props["RouteId"])
    }
    integrations = of_api(_INTEGRATION)
    routes: dict[str, Route] = {}
    authorizer: Authorizer | None = None
    for logical_id, props in of_api(_ROUTE).items():
        targets = [ref for ref in _sub_references(props.get("Target")) if ref in integrations]
        if len(targets) != 1:
            raise TemplateError(f"route {logical_id}: Target must be integrations/${{<id>}}")
        uri = integrations[targets[0]].get("IntegrationUri")
        key = str(props["RouteKey"])
        routes[key] = Route(
            key, _function_folder(resources, uri, targets[0]), logical_id in two_way
        )
        if props.get("AuthorizationType") == "CUSTOM":
            authorizer = _authorizer(resources, props.get("AuthorizerId"))
    return WebSocketApi(match.group(1), routes, authorizer)


def _authorizer(resources: Mapping[str, Any], reference: Any) -> Authorizer:
    [logical_id] = _sub_references(reference)
    props = resources[logical_id].get("Properties", {})
    sources = [str(source) for source in props.get("IdentitySource", [])]
    return Authorizer(
        function=_function_folder(resources, props.get("AuthorizerUri"), logical_id),
        query_sources=tuple(
            s.removeprefix(_QUERY_SOURCE) for s in sources if s.startswith(_QUERY_SOURCE)
        ),
        header_sources=tuple(
            s.removeprefix(_HEADER_SOURCE) for s in sources if s.startswith(_HEADER_SOURCE)
        ),
    )


@dataclass(frozen=True)
class HttpRoute:
    """One `HttpApi` event of a function: `METHOD /path/{param}`."""

    method: str
    path: str
    function: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route takes the request, else None."""
        if self.method not in ("ANY", method.upper()):
            return None
        wanted, given = self.path.strip("/").split("/"), path.strip("/").split("/")
        if len(wanted) != len(given):
            return None
        parameters: dict[str, str] = {}
        for pattern, segment in zip(wanted, given, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not segment:
                    return None
                parameters[pattern[1:-1]] = segment
            elif pattern != segment:
                return None
        return parameters


def load_http_routes(template: Mapping[str, Any]) -> list[HttpRoute]:
    """Every HttpApi event of every function of the template."""
    routes: list[HttpRoute] = []
    for function_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        for event in (properties.get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            settings = event.get("Properties", {})
            code_uri = properties.get("CodeUri")
            if not isinstance(code_uri, str):
                raise TemplateError(f"{function_id}: CodeUri must be a local folder")
            routes.append(
                HttpRoute(
                    str(settings.get("Method", "ANY")).upper(),
                    str(settings.get("Path", "/")),
                    pathlib.PurePosixPath(code_uri).name,
                )
            )
    return routes
