"""local.template: tables built from template.yaml itself, so tests and the stack cannot drift."""

from __future__ import annotations

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
    create_tables,
    load_template,
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
}


def write_template(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto-backed DynamoDB client; fake credentials so nothing can reach AWS."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


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
    [by_user] = specs["ConnectionsTable"]["GlobalSecondaryIndexes"]
    assert by_user["IndexName"] == "ByUser"
    [by_channel] = specs["MembershipsTable"]["GlobalSecondaryIndexes"]
    assert by_channel == {
        "IndexName": "ByChannel",
        "KeySchema": [
            {"AttributeName": "channel", "KeyType": "HASH"},
            {"AttributeName": "userId", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
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
    assert enabled == {"ConnectionsTable", "MessagesTable", "DedupTable"}
    assert {ttl[logical_id]["AttributeName"] for logical_id in enabled} == {"expiresAt"}


def test_tables_from_the_template_answer_by_user_index_queries(
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
        IndexName="ByUser",
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
