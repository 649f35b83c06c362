"""local.template: tables, queues, topics and event sources read from template.yaml itself,
so tests, the local stack and the deployed stack cannot drift."""

from __future__ import annotations

import json
import pathlib
import textwrap
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.template import (
    TEMPLATE_PATH,
    TemplateError,
    create_queues,
    create_tables,
    create_topics,
    dead_letter_queue,
    event_source_mappings,
    load_template,
    parameter_env,
    queue_specs,
    resource_env,
    table_env,
    table_specs,
)

TABLE_VARIABLES = {
    "ConnectionsTable": "COURIER_CONNECTIONS_TABLE",
    "ChannelsTable": "COURIER_CHANNELS_TABLE",
    "MessagesTable": "COURIER_MESSAGES_TABLE",
    "MembershipsTable": "COURIER_MEMBERSHIPS_TABLE",
    "DedupTable": "COURIER_DEDUP_TABLE",
    "AcksTable": "COURIER_ACKS_TABLE",
    "RetriesTable": "COURIER_RETRIES_TABLE",
    "NotificationsTable": "COURIER_NOTIFICATIONS_TABLE",
    "PresenceTable": "COURIER_PRESENCE_TABLE",
}
QUEUE_VARIABLES = {
    "RetryQueue": "COURIER_RETRY_QUEUE_URL",
    "FanoutQueue": "COURIER_FANOUT_QUEUE_URL",
    "NotifyQueue": "COURIER_NOTIFY_QUEUE_URL",
}
DEAD_LETTER_QUEUES = {
    "RetryQueue": "RetryDeadLetterQueue",
    "FanoutQueue": "FanoutDeadLetterQueue",
    "NotifyQueue": "NotifyDeadLetterQueue",
}
TOPIC_VARIABLES = {"NotificationsTopic": "COURIER_NOTIFY_TOPIC_ARN"}
TOPICS = {"NotificationsTopic", "AlarmTopic"}


def write_template(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every service; fake credentials so nothing can reach AWS."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_SNS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def sns(aws: None) -> Any:
    return boto3.client("sns", region_name="us-east-1")


# ---------------------------------------------------------------- parsing


def test_short_form_tags_are_read_as_their_long_form(tmp_path: pathlib.Path) -> None:
    path = write_template(
        tmp_path,
        """
        AWSTemplateFormatVersion: 2010-09-09
        Conditions:
          IsProd: !Equals [!Ref Stage, prod]
        Resources:
          Thing:
            Type: AWS::SNS::Topic
            Properties:
              A: !Ref Other
              B: !Sub "arn:${AWS::Partition}:x"
              C: !GetAtt Other.Arn
              D: !GetAtt [Other, Arn]
              E: !If [IsProd, 1, 2]
              F: !Select [0, !GetAZs ""]
              G: !Join ["", ["a", !Ref Other]]
              H: !Sub ["${X}", {X: !ImportValue Shared}]
              I: !Condition IsProd
              J: !FindInMap [Map, !Ref "AWS::Region", Key]
        """,
    )

    document = load_template(path)

    assert document["AWSTemplateFormatVersion"] == "2010-09-09"
    assert document["Conditions"] == {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}
    assert document["Resources"]["Thing"]["Properties"] == {
        "A": {"Ref": "Other"},
        "B": {"Fn::Sub": "arn:${AWS::Partition}:x"},
        "C": {"Fn::GetAtt": ["Other", "Arn"]},
        "D": {"Fn::GetAtt": ["Other", "Arn"]},
        "E": {"Fn::If": ["IsProd", 1, 2]},
        "F": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "G": {"Fn::Join": ["", ["a", {"Ref": "Other"}]]},
        "H": {"Fn::Sub": ["${X}", {"X": {"Fn::ImportValue": "Shared"}}]},
        "I": {"Condition": "IsProd"},
        "J": {"Fn::FindInMap": ["Map", {"Ref": "AWS::Region"}, "Key"]},
    }


def test_get_att_keeps_dotted_attribute_names_whole(tmp_path: pathlib.Path) -> None:
    path = write_template(
        tmp_path, "Resources: {X: {Type: T, Properties: {A: !GetAtt Db.Endpoint.Address}}}\n"
    )

    assert load_template(path)["Resources"]["X"]["Properties"]["A"] == {
        "Fn::GetAtt": ["Db", "Endpoint.Address"]
    }


def test_a_file_without_resources_is_not_accepted_as_a_template(tmp_path: pathlib.Path) -> None:
    with pytest.raises(TemplateError, match="no Resources"):
        load_template(write_template(tmp_path, "just: yaml\n"))


def test_the_repository_template_loads(template: dict[str, Any]) -> None:
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert set(TABLE_VARIABLES) <= set(template["Resources"])


# ------------------------------------------------------------ table specs


def test_table_specs_cover_every_table_of_the_template(template: dict[str, Any]) -> None:
    assert set(table_specs(template)) == set(TABLE_VARIABLES)


def test_table_specs_copy_keys_and_indexes_from_the_template(template: dict[str, Any]) -> None:
    specs = table_specs(template)

    assert specs["MessagesTable"]["KeySchema"] == [
        {"AttributeName": "channel", "KeyType": "HASH"},
        {"AttributeName": "seq", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "seq", "AttributeType": "N"} in specs["MessagesTable"][
        "AttributeDefinitions"
    ]
    assert all(spec["BillingMode"] == "PAY_PER_REQUEST" for spec in specs.values())
    assert specs["ConnectionsTable"]["KeySchema"] == [
        {"AttributeName": "userId", "KeyType": "HASH"},
        {"AttributeName": "connectionId", "KeyType": "RANGE"},
    ]
    assert "GlobalSecondaryIndexes" not in specs["ConnectionsTable"]
    [by_channel] = specs["MembershipsTable"]["GlobalSecondaryIndexes"]
    assert by_channel == {
        "IndexName": "ByChannel",
        "KeySchema": [
            {"AttributeName": "channel", "KeyType": "HASH"},
            {"AttributeName": "userId", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["readSeq"]},
    }


def test_table_specs_keep_only_what_create_table_accepts(tmp_path: pathlib.Path) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          T:
            Type: AWS::DynamoDB::Table
            Properties:
              TableName: !Sub "${AWS::StackName}-t"
              BillingMode: PAY_PER_REQUEST
              SSESpecification: {SSEEnabled: true, KMSMasterKeyId: !Ref Key}
              PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
              AttributeDefinitions: [{AttributeName: k, AttributeType: S}]
              KeySchema: [{AttributeName: k, KeyType: HASH}]
              GlobalSecondaryIndexes:
                - IndexName: ByK
                  KeySchema: [{AttributeName: k, KeyType: HASH}]
                  Projection: {ProjectionType: ALL}
                  ContributorInsightsSpecification: {Enabled: true}
        """,
    )

    assert table_specs(load_template(path)) == {
        "T": {
            "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "ByK",
                    "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        }
    }


def test_table_specs_refuse_keys_only_cloudformation_could_resolve(tmp_path: pathlib.Path) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          T:
            Type: AWS::DynamoDB::Table
            Properties:
              AttributeDefinitions: [{AttributeName: !Ref KeyName, AttributeType: S}]
              KeySchema: [{AttributeName: !Ref KeyName, KeyType: HASH}]
        """,
    )

    with pytest.raises(TemplateError, match="intrinsic"):
        table_specs(load_template(path))


# ---------------------------------------------------------- create_tables


def test_create_tables_builds_every_template_table_in_moto(
    dynamodb: Any, template: dict[str, Any]
) -> None:
    names = create_tables(
        dynamodb, template, name_for=lambda logical_id: f"courier-test-{logical_id}"
    )

    assert names == {logical_id: f"courier-test-{logical_id}" for logical_id in TABLE_VARIABLES}
    assert sorted(dynamodb.list_tables()["TableNames"]) == sorted(names.values())
    memberships = dynamodb.describe_table(TableName=names["MembershipsTable"])["Table"]
    assert memberships["KeySchema"] == [
        {"AttributeName": "userId", "KeyType": "HASH"},
        {"AttributeName": "channel", "KeyType": "RANGE"},
    ]
    assert [index["IndexName"] for index in memberships["GlobalSecondaryIndexes"]] == ["ByChannel"]


def test_create_tables_enables_ttl_where_the_template_does(
    dynamodb: Any, template: dict[str, Any]
) -> None:
    names = create_tables(dynamodb, template)

    ttl = {
        logical_id: dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        for logical_id, name in names.items()
    }
    enabled = {
        logical_id
        for logical_id, description in ttl.items()
        if description["TimeToLiveStatus"] == "ENABLED"
    }
    assert enabled == {
        "ConnectionsTable",
        "MessagesTable",
        "DedupTable",
        "RetriesTable",
        "NotificationsTable",
    }
    assert {ttl[logical_id]["AttributeName"] for logical_id in enabled} == {"expiresAt"}


def test_tables_from_the_template_answer_by_user_queries(
    dynamodb: Any, template: dict[str, Any]
) -> None:
    names = create_tables(dynamodb, template)
    for connection_id in ("c2", "c1"):
        dynamodb.put_item(
            TableName=names["ConnectionsTable"],
            Item={"connectionId": {"S": connection_id}, "userId": {"S": "alice"}},
        )

    found = dynamodb.query(
        TableName=names["ConnectionsTable"],
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": "alice"}},
    )["Items"]

    assert [item["connectionId"]["S"] for item in found] == ["c1", "c2"]


# -------------------------------------------------------------- table_env


def test_table_env_names_each_table_by_the_variable_the_functions_read(
    template: dict[str, Any],
) -> None:
    names = {logical_id: f"local-{logical_id}" for logical_id in TABLE_VARIABLES}

    assert table_env(names, template) == {
        variable: f"local-{logical_id}" for logical_id, variable in TABLE_VARIABLES.items()
    }


def test_table_env_reads_the_repository_template_by_default() -> None:
    assert table_env({"DedupTable": "d"}) == {"COURIER_DEDUP_TABLE": "d"}


def test_table_env_fails_for_a_table_no_function_can_find(tmp_path: pathlib.Path) -> None:
    path = write_template(
        tmp_path,
        """
        Globals: {Function: {Environment: {Variables: {A_TABLE: !Ref A}}}}
        Resources:
          A: {Type: AWS::DynamoDB::Table}
          B: {Type: AWS::DynamoDB::Table}
        """,
    )

    with pytest.raises(TemplateError, match="B"):
        table_env({"A": "a", "B": "b"}, load_template(path))


# ------------------------------------------------------------ queue specs

DLQ_ARNS = {dlq: f"arn:aws:sqs:us-east-1:123456789012:{dlq}" for dlq in DEAD_LETTER_QUEUES.values()}


def test_queue_specs_list_each_dead_letter_queue_before_its_source(
    template: dict[str, Any],
) -> None:
    order = list(queue_specs(template, queue_arns=DLQ_ARNS))

    assert set(order) == set(DEAD_LETTER_QUEUES) | set(DEAD_LETTER_QUEUES.values()) | {
        "DeliveryDeadLetterQueue"  # a stream's on-failure destination, no source queue
    }
    for queue, dlq in DEAD_LETTER_QUEUES.items():
        assert order.index(dlq) < order.index(queue)


def test_queue_specs_give_string_attributes_and_a_resolved_redrive_policy(
    template: dict[str, Any],
) -> None:
    specs = queue_specs(template, name_for=lambda lid: f"t-{lid}", queue_arns=DLQ_ARNS)

    assert specs["RetryQueue"] == {
        "QueueName": "t-RetryQueue",
        "Attributes": {
            "VisibilityTimeout": "120",
            "SqsManagedSseEnabled": "true",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": DLQ_ARNS["RetryDeadLetterQueue"], "maxReceiveCount": 5},
                separators=(",", ":"),
            ),
        },
    }
    assert specs["FanoutQueue"]["Attributes"]["VisibilityTimeout"] == "360"
    assert specs["NotifyQueue"]["Attributes"]["VisibilityTimeout"] == "120"
    assert specs["FanoutQueue"]["QueueName"] == "t-FanoutQueue.fifo"
    assert specs["FanoutQueue"]["Attributes"]["FifoQueue"] == "true"
    for dlq in DEAD_LETTER_QUEUES.values():
        fifo = dlq.startswith("Fanout")
        assert specs[dlq] == {
            "QueueName": f"t-{dlq}.fifo" if fifo else f"t-{dlq}",
            "Attributes": {
                **({"FifoQueue": "true"} if fifo else {}),
                "MessageRetentionPeriod": "1209600",
                "SqsManagedSseEnabled": "true",
            },
        }


def test_queue_specs_need_the_arn_of_each_dead_letter_queue(template: dict[str, Any]) -> None:
    with pytest.raises(TemplateError, match="RetryDeadLetterQueue"):
        queue_specs(template)


def test_queue_specs_copy_delay_and_keep_a_literal_dead_letter_arn(
    tmp_path: pathlib.Path,
) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          Q:
            Type: AWS::SQS::Queue
            Properties:
              QueueName: ignored-locally
              DelaySeconds: 15
              ReceiveMessageWaitTimeSeconds: 20
              KmsMasterKeyId: alias/aws/sqs
              RedrivePolicy:
                deadLetterTargetArn: "arn:aws:sqs:us-east-1:1:elsewhere"
                maxReceiveCount: 3
        """,
    )

    assert queue_specs(load_template(path)) == {
        "Q": {
            "QueueName": "Q",
            "Attributes": {
                "DelaySeconds": "15",
                "ReceiveMessageWaitTimeSeconds": "20",
                "RedrivePolicy": '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:elsewhere",'
                '"maxReceiveCount":3}',
            },
        }
    }


@pytest.mark.parametrize(
    ("properties", "error"),
    [
        ("{ContentBasedDeduplication: true}", "does not support ContentBasedDeduplication"),
        ("{VisibilityTimeout: !Ref Timeout}", "intrinsic"),
        ("{RedrivePolicy: {deadLetterTargetArn: !GetAtt Q.Arn}}", "maxReceiveCount"),
        ("{RedrivePolicy: {maxReceiveCount: 5}}", "deadLetterTargetArn"),
        ("{RedrivePolicy: {deadLetterTargetArn: !Ref Q, maxReceiveCount: 5}}", "GetAtt"),
        ("{RedrivePolicy: {deadLetterTargetArn: !GetAtt Q.Arn, maxReceiveCount: 5}}", "cycle"),
    ],
)
def test_queue_specs_refuse_what_the_local_stack_cannot_reproduce(
    tmp_path: pathlib.Path, properties: str, error: str
) -> None:
    path = write_template(
        tmp_path, f"Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {properties}\n"
    )

    with pytest.raises(TemplateError, match=error):
        queue_specs(load_template(path), queue_arns={"Q": "arn:aws:sqs:us-east-1:1:Q"})


def test_dead_letter_queue_names_the_template_queue_of_the_redrive_policy(
    template: dict[str, Any],
) -> None:
    for queue, dlq in DEAD_LETTER_QUEUES.items():
        assert dead_letter_queue(template, queue) == dlq
        assert dead_letter_queue(template, dlq) is None


# ---------------------------------------------------------- create_queues


def test_create_queues_builds_every_queue_with_its_redrive_policy_in_moto(
    sqs: Any, template: dict[str, Any]
) -> None:
    urls = create_queues(sqs, template, name_for=lambda lid: f"courier-test-{lid}")

    assert set(urls) == set(DEAD_LETTER_QUEUES) | set(DEAD_LETTER_QUEUES.values()) | {
        "DeliveryDeadLetterQueue"
    }
    assert sorted(sqs.list_queues()["QueueUrls"]) == sorted(urls.values())
    attributes = {
        lid: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for lid, url in urls.items()
    }
    for queue, dlq in DEAD_LETTER_QUEUES.items():
        suffix = ".fifo" if queue.startswith("Fanout") else ""
        assert urls[queue].endswith(f"/courier-test-{queue}{suffix}")
        assert json.loads(attributes[queue]["RedrivePolicy"]) == {
            "deadLetterTargetArn": attributes[dlq]["QueueArn"],
            "maxReceiveCount": 5,
        }
        assert attributes[dlq]["MessageRetentionPeriod"] == "1209600"
        assert "RedrivePolicy" not in attributes[dlq]
    assert attributes["FanoutQueue"]["VisibilityTimeout"] == "360"


def test_a_job_received_five_times_without_delete_lands_in_the_dead_letter_queue(
    sqs: Any, template: dict[str, Any]
) -> None:
    urls = create_queues(sqs, template)
    sqs.send_message(QueueUrl=urls["RetryQueue"], MessageBody='{"job": 1}')

    receives = 0
    while sqs.receive_message(QueueUrl=urls["RetryQueue"], VisibilityTimeout=0).get("Messages"):
        receives += 1
        assert receives <= 5

    assert receives == 5
    [moved] = sqs.receive_message(QueueUrl=urls["RetryDeadLetterQueue"])["Messages"]
    assert moved["Body"] == '{"job": 1}'


# ----------------------------------------------------------- create_topics


def test_create_topics_builds_every_topic_in_moto(sns: Any, template: dict[str, Any]) -> None:
    arns = create_topics(sns, template, name_for=lambda lid: f"courier-test-{lid}")

    assert set(arns) == TOPICS
    assert arns["NotificationsTopic"].endswith(":courier-test-NotificationsTopic")
    assert sorted(t["TopicArn"] for t in sns.list_topics()["Topics"]) == sorted(arns.values())


def test_create_topics_refuses_fifo_topics(sns: Any, tmp_path: pathlib.Path) -> None:
    path = write_template(
        tmp_path, "Resources: {T: {Type: AWS::SNS::Topic, Properties: {FifoTopic: true}}}\n"
    )

    with pytest.raises(TemplateError, match="FIFO"):
        create_topics(sns, load_template(path))


# ------------------------------------------------------------ resource_env


def test_resource_env_gives_names_urls_and_arns_of_everything_created(
    dynamodb: Any, sqs: Any, sns: Any, template: dict[str, Any]
) -> None:
    tables = create_tables(dynamodb, template)
    queues = create_queues(sqs, template)
    topics = create_topics(sns, template)

    env = resource_env(tables, queues, topics, template)

    assert env == {
        **{variable: tables[lid] for lid, variable in TABLE_VARIABLES.items()},
        **{variable: queues[lid] for lid, variable in QUEUE_VARIABLES.items()},
        **{variable: topics[lid] for lid, variable in TOPIC_VARIABLES.items()},
    }
    assert env["COURIER_RETRY_QUEUE_URL"].startswith("https://")
    assert env["COURIER_NOTIFY_TOPIC_ARN"].startswith("arn:aws:sns:")


def test_resource_env_reads_the_repository_template_by_default() -> None:
    tables = {lid: f"t-{lid}" for lid in TABLE_VARIABLES}
    queues = {lid: f"https://q/{lid}" for lid in QUEUE_VARIABLES}
    topics = {"NotificationsTopic": "arn:aws:sns:us-east-1:1:n"}

    assert (
        resource_env(tables, queues, topics)["COURIER_FANOUT_QUEUE_URL"] == "https://q/FanoutQueue"
    )


def test_resource_env_fails_when_a_resource_the_functions_need_was_not_created(
    template: dict[str, Any],
) -> None:
    tables = {lid: f"t-{lid}" for lid in TABLE_VARIABLES}
    queues = {lid: f"https://q/{lid}" for lid in QUEUE_VARIABLES if lid != "NotifyQueue"}

    with pytest.raises(TemplateError) as failure:
        resource_env(tables, queues, {}, template)

    assert "COURIER_NOTIFY_QUEUE_URL" in str(failure.value)
    assert "COURIER_NOTIFY_TOPIC_ARN" in str(failure.value)


def test_table_env_still_names_only_the_tables(template: dict[str, Any]) -> None:
    names = {lid: f"t-{lid}" for lid in TABLE_VARIABLES}

    assert set(table_env(names, template)) == set(TABLE_VARIABLES.values())


def test_parameter_env_gives_the_deployed_defaults(template: dict[str, Any]) -> None:
    env = parameter_env(template)

    assert env["COURIER_FANOUT_INLINE_LIMIT"] == "100"
    assert env["COURIER_NOTIFY_COALESCE_SECONDS"] == "30"
    assert env["COURIER_MAX_RETRIES"] == "5"
    assert env["COURIER_RETRY_BASE_SECONDS"] == "2"
    assert not set(env) & set(TABLE_VARIABLES.values())


# -------------------------------------------------- event source mappings


def test_event_source_mappings_of_the_repository_template(template: dict[str, Any]) -> None:
    assert sorted(event_source_mappings(template), key=lambda m: m["function"]) == [
        {
            "function": "fanout_worker",
            "function_id": "FanoutWorkerFunction",
            "event": "FanoutJobs",
            "queue": "FanoutQueue",
            "BatchSize": 5,
            "MaximumBatchingWindowInSeconds": 0,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Timeout": 60,
            "VisibilityTimeout": 360,
            "maxReceiveCount": 5,
            "dead_letter_queue": "FanoutDeadLetterQueue",
            "MaximumConcurrency": 10,
        },
        {
            "function": "notifier",
            "function_id": "NotifierFunction",
            "event": "NotifyJobs",
            "queue": "NotifyQueue",
            "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 5,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Timeout": 20,
            "VisibilityTimeout": 120,
            "maxReceiveCount": 5,
            "dead_letter_queue": "NotifyDeadLetterQueue",
            "MaximumConcurrency": 5,
        },
        {
            "function": "retry_worker",
            "function_id": "RetryWorkerFunction",
            "event": "RetryJobs",
            "queue": "RetryQueue",
            "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 0,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Timeout": 20,
            "VisibilityTimeout": 120,
            "maxReceiveCount": 5,
            "dead_letter_queue": "RetryDeadLetterQueue",
            "MaximumConcurrency": 5,
        },
    ]


def test_event_source_mappings_apply_lambda_and_sqs_defaults(tmp_path: pathlib.Path) -> None:
    path = write_template(
        tmp_path,
        """
        Globals: {Function: {Timeout: 7}}
        Resources:
          Q: {Type: AWS::SQS::Queue}
          Off: {Type: AWS::SQS::Queue}
          F:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: functions/worker
              Events:
                Jobs: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
                Paused: {Type: SQS, Properties: {Queue: !GetAtt Off.Arn, Enabled: false}}
                Api: {Type: HttpApi}
        """,
    )

    assert event_source_mappings(load_template(path)) == [
        {
            "function": "worker",
            "function_id": "F",
            "event": "Jobs",
            "queue": "Q",
            "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 0,
            "FunctionResponseTypes": [],
            "Timeout": 7,
            "VisibilityTimeout": 30,
            "maxReceiveCount": None,
            "dead_letter_queue": None,
            "MaximumConcurrency": None,
        }
    ]


def test_event_source_mappings_need_a_queue_of_the_template(tmp_path: pathlib.Path) -> None:
    path = write_template(
        tmp_path,
        """
        Resources:
          F:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: functions/worker/
              Events:
                Jobs: {Type: SQS, Properties: {Queue: "arn:aws:sqs:us-east-1:1:elsewhere"}}
        """,
    )

    with pytest.raises(TemplateError, match=r"F\.Events\.Jobs"):
        event_source_mappings(load_template(path))


def test_event_source_concurrency_is_the_lower_of_scaling_cap_and_reserved_concurrency() -> None:
    template = load_template(TEMPLATE_PATH)  # a copy of its own: it is changed below
    function = template["Resources"]["RetryWorkerFunction"]["Properties"]
    function["ReservedConcurrentExecutions"] = 4
    function["Events"]["RetryJobs"]["Properties"]["ScalingConfig"] = {"MaximumConcurrency": 3}
    retry = {m["queue"]: m for m in event_source_mappings(template)}["RetryQueue"]
    assert retry["MaximumConcurrency"] == 3
    function["ReservedConcurrentExecutions"] = 2
    retry = {m["queue"]: m for m in event_source_mappings(template)}["RetryQueue"]
    assert retry["MaximumConcurrency"] == 2


def test_event_source_settings_given_as_parameter_refs_take_the_parameter_defaults(
    tmp_path: pathlib.Path,
) -> None:
    path = write_template(
        tmp_path,
        """
        Parameters:
          Cap: {Type: Number, Default: 4, MinValue: 2}
          Batch: {Type: Number, Default: 3}
        Resources:
          Q: {Type: AWS::SQS::Queue}
          F:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: functions/worker/
              ReservedConcurrentExecutions: 9
              Events:
                Jobs:
                  Type: SQS
                  Properties:
                    Queue: !GetAtt Q.Arn
                    BatchSize: !Ref Batch
                    ScalingConfig: {MaximumConcurrency: !Ref Cap}
        """,
    )

    [mapping] = event_source_mappings(load_template(path))

    assert mapping["MaximumConcurrency"] == 4
    assert mapping["BatchSize"] == 3


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!Ref NoDefault", "no Default"),
        ("!Ref AWS::AccountId", "intrinsic"),
        ("!Ref Q", "intrinsic"),
        ('!Sub "${Cap}"', "intrinsic"),
    ],
)
def test_event_source_settings_refuse_refs_without_a_default_and_other_intrinsics(
    tmp_path: pathlib.Path, value: str, message: str
) -> None:
    path = write_template(
        tmp_path,
        f"""
        Parameters:
          Cap: {{Type: Number, Default: 4}}
          NoDefault: {{Type: Number}}
        Resources:
          Q: {{Type: AWS::SQS::Queue}}
          F:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: functions/worker/
              Events:
                Jobs:
                  Type: SQS
                  Properties:
                    Queue: !GetAtt Q.Arn
                    ScalingConfig: {{MaximumConcurrency: {value}}}
        """,
    )

    with pytest.raises(TemplateError, match=message):
        event_source_mappings(load_template(path))


def test_tables_still_refuse_parameter_refs_even_with_a_default(tmp_path: pathlib.Path) -> None:
    path = write_template(
        tmp_path,
        """
        Parameters:
          KeyName: {Type: String, Default: k}
        Resources:
          T:
            Type: AWS::DynamoDB::Table
            Properties:
              AttributeDefinitions: [{AttributeName: !Ref KeyName, AttributeType: S}]
              KeySchema: [{AttributeName: !Ref KeyName, KeyType: HASH}]
        """,
    )

    with pytest.raises(TemplateError, match="intrinsic"):
        table_specs(load_template(path))
