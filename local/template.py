"""Read template.yaml, the one source of truth for local and test tables.

Tables are created from the deployable template, never from a hand-written
copy, so a key or index changed there is changed everywhere.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import yaml

TEMPLATE_PATH = pathlib.Path(__file__).resolve().parent.parent / "template.yaml"

_TABLE_TYPE = "AWS::DynamoDB::Table"
# create_table accepts these keys inside a secondary index; CloudFormation
# allows more (e.g. ContributorInsightsSpecification).
_INDEX_KEYS = frozenset(
    {"IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput"}
)


class TemplateError(ValueError):
    """The template does not have the shape this module needs."""


class _CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    """SafeLoader that reads CloudFormation short-form tags and keeps dates as strings.

    (The ignore is for mypy without types-PyYAML, where SafeLoader is Any.)
    """


# CloudFormation reads 2010-09-09 as a string; plain YAML would make it a date.
_CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _long_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    """Turn `!Name value` into `{"Fn::Name": value}` (`Ref` and `Condition` stay bare)."""
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise TemplateError(f"cannot read !{suffix} at {node.start_mark}")
    if suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {key: value}


_CloudFormationLoader.add_multi_constructor("!", _long_form)


def load_template(path: pathlib.Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a (SAM) CloudFormation template, short-form tags turned into their long form."""
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources mapping)")
    return document


def _tables(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == _TABLE_TYPE
    }


def _literal(value: Any, where: str) -> Any:
    """Refuse values that only CloudFormation can resolve (Ref, Fn::*)."""
    if isinstance(value, dict):
        if set(value) in ({"Ref"}, {"Condition"}) or any(
            str(key).startswith("Fn::") for key in value
        ):
            raise TemplateError(
                f"{where} uses an intrinsic function; local tables need literal values"
            )
        return {key: _literal(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def _index_kwargs(indexes: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in index.items() if key in _INDEX_KEYS} for index in indexes]


def table_specs(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The `create_table` keyword arguments of every table, keyed by logical id (no TableName)."""
    specs: dict[str, dict[str, Any]] = {}
    for logical_id, properties in _tables(template).items():
        if "KeySchema" not in properties or "AttributeDefinitions" not in properties:
            raise TemplateError(f"table {logical_id} needs KeySchema and AttributeDefinitions")
        spec: dict[str, Any] = {
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "BillingMode": properties.get("BillingMode", "PROVISIONED"),
        }
        if "ProvisionedThroughput" in properties:
            spec["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
        for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if properties.get(kind):
                spec[kind] = _index_kwargs(properties[kind])
        specs[logical_id] = _literal(spec, logical_id)
    return specs


def ttl_attributes(template: Mapping[str, Any]) -> dict[str, str]:
    """Logical id → TTL attribute, for each table whose TimeToLiveSpecification is enabled."""
    attributes: dict[str, str] = {}
    for logical_id, properties in _tables(template).items():
        ttl = properties.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled") is True:
            attributes[logical_id] = _literal(
                ttl["AttributeName"], f"{logical_id}.TimeToLiveSpecification"
            )
    return attributes


def create_tables(
    client: Any,
    template: Mapping[str, Any],
    name_for: Callable[[str], str] = lambda logical_id: logical_id,
) -> dict[str, str]:
    """Create the template's tables with a boto3 DynamoDB `client`; return logical id → name.

    TTL is switched on as the template says (moto records it but never expires items).
    """
    ttl = ttl_attributes(template)
    names: dict[str, str] = {}
    for logical_id, spec in table_specs(template).items():
        name = name_for(logical_id)
        client.create_table(TableName=name, **spec)
        client.get_waiter("table_exists").wait(TableName=name)
        if logical_id in ttl:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl[logical_id]},
            )
        names[logical_id] = name
    return names


def _environments(template: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Environment variable maps: the Globals one first, then each function's own."""
    found = [
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    ]
    for resource in template["Resources"].values():
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            found.append(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    return found


def table_env(
    names: Mapping[str, str], template: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Handler environment: each table's variable (the one set to `!Ref <logical id>`) → its name.

    `names` is what `create_tables` returned; `template` defaults to the repository's
    template.yaml.
    """
    if template is None:
        template = load_template()
    env: dict[str, str] = {}
    referenced: set[str] = set()
    for variables in _environments(template):
        for variable, value in variables.items():
            if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in names:
                env.setdefault(variable, names[value["Ref"]])
                referenced.add(value["Ref"])
    missing = sorted(set(names) - referenced)
    if missing:
        raise TemplateError(f"no environment variable refers to table(s) {', '.join(missing)}")
    return env
