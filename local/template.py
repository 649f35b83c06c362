"""Read template.yaml, the one source of truth for local and test resources.

Tables, queues and topics are created from the deployable template, never from a
hand-written copy, so a key, index, timeout or redrive policy changed there is
changed everywhere; the SQS event sources the local pollers emulate come from it too.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

import yaml

TEMPLATE_PATH = pathlib.Path(__file__).resolve().parent.parent / "template.yaml"

_TABLE_TYPE = "AWS::DynamoDB::Table"
_QUEUE_TYPE = "AWS::SQS::Queue"
_TOPIC_TYPE = "AWS::SNS::Topic"
_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
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


def _literal(value: Any, where: str, parameters: Mapping[str, Any] | None = None) -> Any:
    """Refuse values that only CloudFormation can resolve (Ref, Fn::*).

    With the template's `parameters`, `!Ref <parameter>` is its Default (what a deploy
    that keeps the defaults gets); a parameter without one is refused like the rest.
    """
    if isinstance(value, dict):
        target = value.get("Ref") if set(value) == {"Ref"} else None
        if parameters is not None and isinstance(target, str) and target in parameters:
            if "Default" not in (parameters[target] or {}):
                raise TemplateError(f"{where} refers to parameter {target}, which has no Default")
            return _literal(parameters[target]["Default"], f"{where} (!Ref {target})")
        if set(value) in ({"Ref"}, {"Condition"}) or any(
            str(key).startswith("Fn::") for key in value
        ):
            raise TemplateError(
                f"{where} uses an intrinsic function; local tables need literal values"
            )
        return {key: _literal(item, f"{where}.{key}", parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item, f"{where}[{index}]", parameters) for index, item in enumerate(value)]
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
        stream = properties.get("StreamSpecification")
        if stream:
            spec["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
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
        if resource.get("Type") in _FUNCTION_TYPES:
            found.append(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    return found


def _ref_variables(template: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(variable, logical id) for each environment variable set to `!Ref <logical id>`."""
    return [
        (variable, value["Ref"])
        for variables in _environments(template)
        for variable, value in variables.items()
        if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str)
    ]


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
    for variable, target in _ref_variables(template):
        if target in names:
            env.setdefault(variable, names[target])
            referenced.add(target)
    missing = sorted(set(names) - referenced)
    if missing:
        raise TemplateError(f"no environment variable refers to table(s) {', '.join(missing)}")
    return env


def resource_env(
    tables: Mapping[str, str],
    queues: Mapping[str, str],
    topics: Mapping[str, str],
    template: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Handler environment for every variable set to `!Ref` a table, queue or topic.

    The values are what CloudFormation's Ref gives: a table's name, a queue's URL, a
    topic's ARN; pass what `create_tables`, `create_queues` and `create_topics` returned.
    A variable that refers to a template table, queue or topic missing from those maps
    is an error: the handlers would start without it. (Dead-letter queues and the alarm
    topic have no variable; that is fine.)
    """
    if template is None:
        template = load_template()
    created = {**tables, **queues, **topics}
    resources = template["Resources"]
    env: dict[str, str] = {}
    missing: list[str] = []
    for variable, target in _ref_variables(template):
        if target in created:
            env.setdefault(variable, created[target])
        elif resources.get(target, {}).get("Type") in (_TABLE_TYPE, _QUEUE_TYPE, _TOPIC_TYPE):
            missing.append(f"{variable} (!Ref {target})")
    if missing:
        raise TemplateError(f"not created, yet the functions need: {', '.join(missing)}")
    return env


def parameter_env(template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Variable → the parameter's Default, for each variable set to `!Ref <parameter>`.

    These are the deployed defaults (e.g. COURIER_MAX_RETRIES). Pick what suits a local
    run: COURIER_JWT_SECRET_PARAM, for one, names an SSM parameter that does not exist there.
    """
    if template is None:
        template = load_template()
    parameters = template.get("Parameters", {})
    env: dict[str, str] = {}
    for variable, target in _ref_variables(template):
        default = parameters.get(target, {}).get("Default")
        if default is not None:
            env.setdefault(variable, str(default))
    return env


# ----------------------------------------------------------------- queues

# CloudFormation property → SQS attribute of the same name, given as a string.
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
)
# Properties that change nothing a local run can observe (names come from `name_for`).
_LOCALLY_IGNORED_QUEUE_PROPERTIES = frozenset(
    {"QueueName", "Tags", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds"}
)
_DEFAULT_VISIBILITY_TIMEOUT = 30  # SQS's
_DEFAULT_SQS_BATCH_SIZE = 10  # Lambda's, for an SQS event source
_DEFAULT_FUNCTION_TIMEOUT = 3  # Lambda's


def _queues(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == _QUEUE_TYPE
    }


def _redrive_policy(logical_id: str, properties: Mapping[str, Any]) -> Mapping[str, Any] | None:
    policy = properties.get("RedrivePolicy")
    if policy is None:
        return None
    if isinstance(policy, str):
        policy = json.loads(policy)
    if not isinstance(policy, dict) or "deadLetterTargetArn" not in policy:
        raise TemplateError(f"queue {logical_id}: RedrivePolicy needs a deadLetterTargetArn")
    if "maxReceiveCount" not in policy:
        raise TemplateError(f"queue {logical_id}: RedrivePolicy needs a maxReceiveCount")
    return policy


def dead_letter_queue(template: Mapping[str, Any], logical_id: str) -> str | None:
    """The logical id of the template queue that is `logical_id`'s DLQ, if it has one."""
    policy = _redrive_policy(logical_id, _queues(template)[logical_id])
    if policy is None:
        return None
    target = policy["deadLetterTargetArn"]
    if isinstance(target, str):
        return None  # a literal ARN: a queue outside this template
    dead_letter = _arn_of(target)
    if dead_letter not in _queues(template):
        raise TemplateError(
            f"queue {logical_id}: deadLetterTargetArn must be !GetAtt <queue>.Arn, got {target}"
        )
    return dead_letter


def _arn_of(value: Any) -> str | None:
    """`X` when `value` is `!GetAtt X.Arn` (either long form), else None."""
    get_att = value.get("Fn::GetAtt") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(get_att, str):
        get_att = get_att.split(".", 1)
    if isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == "Arn":
        resource = get_att[0]
        return resource if isinstance(resource, str) else None
    return None


def _queue_order(template: Mapping[str, Any]) -> list[str]:
    """Every queue after its dead-letter queue (the order they can be created in)."""
    order: list[str] = []
    visiting: list[str] = []

    def visit(logical_id: str) -> None:
        if logical_id in order:
            return
        if logical_id in visiting:
            cycle = " -> ".join([*visiting[visiting.index(logical_id) :], logical_id])
            raise TemplateError(f"dead-letter queues form a cycle: {cycle}")
        visiting.append(logical_id)
        target = dead_letter_queue(template, logical_id)
        if target is not None:
            visit(target)
        visiting.pop()
        order.append(logical_id)

    for logical_id in _queues(template):
        visit(logical_id)
    return order


def _queue_spec(
    template: Mapping[str, Any],
    logical_id: str,
    name: str,
    queue_arns: Mapping[str, str],
) -> dict[str, Any]:
    properties = _queues(template)[logical_id]
    handled = {*_QUEUE_ATTRIBUTES, *_LOCALLY_IGNORED_QUEUE_PROPERTIES}
    handled |= {"RedrivePolicy", "SqsManagedSseEnabled", "FifoQueue"}
    unsupported = sorted(set(properties) - handled)
    if unsupported:
        raise TemplateError(
            f"queue {logical_id}: the local stack does not support {', '.join(unsupported)}"
        )
    attributes: dict[str, str] = {}
    if _literal(properties.get("FifoQueue", False), f"{logical_id}.FifoQueue") in (True, "true"):
        attributes["FifoQueue"] = "true"  # and, as CloudFormation's names do, end in .fifo
        name = name if name.endswith(".fifo") else f"{name}.fifo"
    for key in _QUEUE_ATTRIBUTES:
        if key in properties:
            attributes[key] = str(int(_literal(properties[key], f"{logical_id}.{key}")))
    if "SqsManagedSseEnabled" in properties:
        enabled = _literal(properties["SqsManagedSseEnabled"], f"{logical_id}.SqsManagedSseEnabled")
        attributes["SqsManagedSseEnabled"] = "true" if enabled in (True, "true") else "false"
    policy = _redrive_policy(logical_id, properties)
    if policy is not None:
        target = dead_letter_queue(template, logical_id)
        if target is None:
            arn = policy["deadLetterTargetArn"]
        elif target in queue_arns:
            arn = queue_arns[target]
        else:
            raise TemplateError(
                f"queue {logical_id}: the ARN of its dead-letter queue {target} is not known;"
                " create that queue first (create_queues does)"
            )
        max_receive_count = int(
            _literal(policy["maxReceiveCount"], f"{logical_id}.RedrivePolicy.maxReceiveCount")
        )
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count},
            separators=(",", ":"),
        )
    return {"QueueName": name, "Attributes": attributes}


def queue_specs(
    template: Mapping[str, Any],
    name_for: Callable[[str], str] = lambda logical_id: logical_id,
    queue_arns: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The `create_queue` keyword arguments of every queue, keyed by logical id.

    Ordered so that each dead-letter queue comes before the queues that use it.
    `queue_arns` (logical id → ARN) supplies the created dead-letter queues' ARNs for
    the RedrivePolicy; a queue whose DLQ's ARN is not given is an error.
    """
    arns = queue_arns or {}
    return {
        logical_id: _queue_spec(template, logical_id, name_for(logical_id), arns)
        for logical_id in _queue_order(template)
    }


def create_queues(
    client: Any,
    template: Mapping[str, Any],
    name_for: Callable[[str], str] = lambda logical_id: logical_id,
) -> dict[str, str]:
    """Create the template's queues with a boto3 SQS `client`, DLQs first; logical id → URL."""
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    for logical_id in _queue_order(template):
        spec = _queue_spec(template, logical_id, name_for(logical_id), arns)
        url: str = client.create_queue(**spec)["QueueUrl"]
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arns[logical_id] = attributes["Attributes"]["QueueArn"]
        urls[logical_id] = url
    return urls


# ----------------------------------------------------------------- topics


def create_topics(
    client: Any,
    template: Mapping[str, Any],
    name_for: Callable[[str], str] = lambda logical_id: logical_id,
) -> dict[str, str]:
    """Create the template's SNS topics with a boto3 SNS `client`; logical id → topic ARN.

    Encryption, display names and subscriptions are not reproduced locally.
    """
    arns: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != _TOPIC_TYPE:
            continue
        if resource.get("Properties", {}).get("FifoTopic"):
            raise TemplateError(f"topic {logical_id}: the local stack does not support FIFO topics")
        arns[logical_id] = client.create_topic(Name=name_for(logical_id))["TopicArn"]
    return arns


# ------------------------------------------------------ SQS event sources


class EventSourceMapping(TypedDict):
    """One SQS event source of a function, as the local pollers emulate it."""

    function: str  # folder under functions/ (the name local.handlers.load_handler takes)
    function_id: str  # the function's logical id
    event: str  # the event's name in the function's Events
    queue: str  # the queue's logical id
    BatchSize: int
    MaximumBatchingWindowInSeconds: int
    FunctionResponseTypes: list[str]
    Timeout: int  # the function's timeout, seconds
    VisibilityTimeout: int  # the queue's, seconds
    maxReceiveCount: int | None  # receives before SQS moves a message to the DLQ
    dead_letter_queue: str | None  # the DLQ's logical id
    # Batches in flight at once: ScalingConfig.MaximumConcurrency or the function's
    # ReservedConcurrentExecutions, the lower; None when the template sets neither.
    MaximumConcurrency: int | None


def _function_setting(template: Mapping[str, Any], properties: Mapping[str, Any], key: str) -> Any:
    return properties.get(key, template.get("Globals", {}).get("Function", {}).get(key))


def _concurrency(
    template: Mapping[str, Any], properties: Mapping[str, Any], settings: Mapping[str, Any]
) -> int | None:
    where = "ScalingConfig.MaximumConcurrency"
    parameters = template.get("Parameters") or {}
    limits = [
        _literal(
            (settings.get("ScalingConfig") or {}).get("MaximumConcurrency"), where, parameters
        ),
        _literal(
            _function_setting(template, properties, "ReservedConcurrentExecutions"),
            "ReservedConcurrentExecutions",
            parameters,
        ),
    ]
    found = [int(limit) for limit in limits if limit is not None]
    return min(found) if found else None


def event_source_mappings(template: Mapping[str, Any]) -> list[EventSourceMapping]:
    """Every enabled SQS event of every function, with the settings of its queue.

    A setting given as `!Ref <parameter>` takes the parameter's Default.
    """
    queues = _queues(template)
    parameters = template.get("Parameters") or {}

    def literal(value: Any, where: str) -> Any:
        return _literal(value, where, parameters)

    mappings: list[EventSourceMapping] = []
    for function_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        for event_name, event in (properties.get("Events") or {}).items():
            if event.get("Type") != "SQS":
                continue
            where = f"{function_id}.Events.{event_name}"
            settings = event.get("Properties", {})
            if literal(settings.get("Enabled", True), f"{where}.Enabled") is False:
                continue
            queue = _arn_of(settings.get("Queue"))
            if queue is None or queue not in queues:
                raise TemplateError(f"{where}: Queue must be !GetAtt <queue of this template>.Arn")
            code_uri = literal(_function_setting(template, properties, "CodeUri"), where)
            if not isinstance(code_uri, str):
                raise TemplateError(f"{function_id}: CodeUri must be a local folder")
            policy = _redrive_policy(queue, queues[queue])
            mappings.append(
                {
                    "function": pathlib.PurePosixPath(code_uri).name,
                    "function_id": function_id,
                    "event": event_name,
                    "queue": queue,
                    "BatchSize": int(
                        literal(settings.get("BatchSize", _DEFAULT_SQS_BATCH_SIZE), where)
                    ),
                    "MaximumBatchingWindowInSeconds": int(
                        literal(settings.get("MaximumBatchingWindowInSeconds", 0), where)
                    ),
                    "FunctionResponseTypes": list(
                        literal(settings.get("FunctionResponseTypes", []), where)
                    ),
                    "Timeout": int(
                        literal(
                            _function_setting(template, properties, "Timeout")
                            or _DEFAULT_FUNCTION_TIMEOUT,
                            f"{function_id}.Timeout",
                        )
                    ),
                    "VisibilityTimeout": int(
                        literal(
                            queues[queue].get("VisibilityTimeout", _DEFAULT_VISIBILITY_TIMEOUT),
                            f"{queue}.VisibilityTimeout",
                        )
                    ),
                    "maxReceiveCount": None
                    if policy is None
                    else int(literal(policy["maxReceiveCount"], f"{queue}.RedrivePolicy")),
                    "dead_letter_queue": dead_letter_queue(template, queue),
                    "MaximumConcurrency": _concurrency(template, properties, settings),
                }
            )
    return mappings


# ------------------------------------------------- DynamoDB stream event sources


class StreamMapping(TypedDict):
    """One DynamoDB stream event source of a function, as the local stream poller emulates it."""

    function: str  # folder under functions/
    function_id: str
    event: str
    table: str  # the logical id of the table whose stream it reads
    StartingPosition: str  # TRIM_HORIZON or LATEST
    BatchSize: int
    MaximumBatchingWindowInSeconds: int
    BisectBatchOnFunctionError: bool
    MaximumRetryAttempts: int  # -1: until the record expires
    MaximumRecordAgeInSeconds: int  # -1: the stream's retention
    FunctionResponseTypes: list[str]
    filters: list[dict[str, Any]]  # FilterCriteria patterns, parsed
    on_failure: str | None  # the logical id of the on-failure destination queue


_DEFAULT_STREAM_BATCH_SIZE = 100  # Lambda's default for DynamoDB streams


def stream_mappings(template: Mapping[str, Any]) -> list[StreamMapping]:
    """Every enabled DynamoDB stream event of every function."""
    parameters = template.get("Parameters") or {}
    tables = _tables(template)
    queues = _queues(template)
    found: list[StreamMapping] = []
    for function_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        for event_name, event in (properties.get("Events") or {}).items():
            if event.get("Type") != "DynamoDB":
                continue
            where = f"{function_id}.Events.{event_name}"
            settings = event.get("Properties", {})
            if _literal(settings.get("Enabled", True), f"{where}.Enabled", parameters) is False:
                continue
            stream = settings.get("Stream")
            table = stream.get("Fn::GetAtt", [None])[0] if isinstance(stream, dict) else None
            if table not in tables or not tables[table].get("StreamSpecification"):
                raise TemplateError(
                    f"{where}: Stream must be !GetAtt <table with a stream>.StreamArn"
                )
            destination = ((settings.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                "Destination"
            )
            on_failure = _arn_of(destination) if destination is not None else None
            if destination is not None and on_failure not in queues:
                raise TemplateError(f"{where}: OnFailure must be !GetAtt <queue>.Arn")
            code_uri = _literal(_function_setting(template, properties, "CodeUri"), where)
            patterns = ((settings.get("FilterCriteria") or {}).get("Filters")) or []

            def number(key: str, default: Any, where: str = where, settings: Any = settings) -> Any:
                return _literal(settings.get(key, default), f"{where}.{key}", parameters)

            found.append(
                {
                    "function": pathlib.PurePosixPath(str(code_uri)).name,
                    "function_id": function_id,
                    "event": event_name,
                    "table": str(table),
                    "StartingPosition": str(number("StartingPosition", "LATEST")),
                    "BatchSize": int(number("BatchSize", _DEFAULT_STREAM_BATCH_SIZE)),
                    "MaximumBatchingWindowInSeconds": int(
                        number("MaximumBatchingWindowInSeconds", 0)
                    ),
                    "BisectBatchOnFunctionError": bool(number("BisectBatchOnFunctionError", False)),
                    "MaximumRetryAttempts": int(number("MaximumRetryAttempts", -1)),
                    "MaximumRecordAgeInSeconds": int(number("MaximumRecordAgeInSeconds", -1)),
                    "FunctionResponseTypes": list(number("FunctionResponseTypes", [])),
                    "filters": [json.loads(str(f["Pattern"])) for f in patterns],
                    "on_failure": on_failure,
                }
            )
    return found
