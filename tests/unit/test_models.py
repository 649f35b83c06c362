"""The PynamoDB models are the tables of template.yaml: keys, types, indexes and TTL.

Each check reads the template's own resource, so a change on either side that the other
does not follow fails here, not in a deployed account.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.indexes import GlobalSecondaryIndex

from courier.models import MODELS, CourierModel, ExpiresAt
from courier.settings import load_settings
from courier.tables import bind_tables, table_name, unbind_tables
from local.handlers import LAYER_DIR
from local.template import load_template
from tests.unit.test_settings import TABLES

TEMPLATE_TABLES = {
    logical_id: resource["Properties"]
    for logical_id, resource in load_template()["Resources"].items()
    if resource["Type"] == "AWS::DynamoDB::Table"
}


def _resource(model: type[CourierModel]) -> dict[str, Any]:
    return TEMPLATE_TABLES[f"{model.__name__}Table"]


def _key_schema(attributes: dict[str, Attribute[Any]]) -> list[tuple[str, str]]:
    """[(wire name, HASH|RANGE)] in DynamoDB's order: hash first."""
    keys = [(a.attr_name, "HASH") for a in attributes.values() if a.is_hash_key]
    return keys + [(a.attr_name, "RANGE") for a in attributes.values() if a.is_range_key]


def _template_keys(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in spec["KeySchema"]]


def _indexes(model: type[CourierModel]) -> dict[str, GlobalSecondaryIndex[Any]]:
    return {
        index.Meta.index_name: index
        for index in vars(model).values()
        if isinstance(index, GlobalSecondaryIndex)
    }


def test_every_table_of_the_template_has_a_model_named_after_it() -> None:
    assert sorted(f"{m.__name__}Table" for m in MODELS) == sorted(TEMPLATE_TABLES)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_model_keys_match_the_templates_key_schema(model: type[CourierModel]) -> None:
    assert _key_schema(model.get_attributes()) == _template_keys(_resource(model))


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_model_key_types_match_the_templates_attribute_definitions(
    model: type[CourierModel],
) -> None:
    declared = {
        d["AttributeName"]: d["AttributeType"] for d in _resource(model)["AttributeDefinitions"]
    }
    by_wire_name = {a.attr_name: a for a in model.get_attributes().values()}
    assert set(declared) <= set(by_wire_name), "a defined attribute the model does not have"
    for name, attribute_type in declared.items():
        assert by_wire_name[name].attr_type == attribute_type, name


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_model_indexes_match_the_templates_global_secondary_indexes(
    model: type[CourierModel],
) -> None:
    declared = {i["IndexName"]: i for i in _resource(model).get("GlobalSecondaryIndexes", [])}
    indexes = _indexes(model)
    assert sorted(indexes) == sorted(declared)
    for name, index in indexes.items():
        assert _key_schema(index.Meta.attributes) == _template_keys(declared[name])
        projection = declared[name]["Projection"]["ProjectionType"]
        assert index.Meta.projection.projection_type == projection


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_model_ttl_attribute_matches_the_templates_time_to_live(
    model: type[CourierModel],
) -> None:
    ttl = [a for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    spec = _resource(model).get("TimeToLiveSpecification")
    if spec is None:
        assert ttl == [], "the model expires items the table never deletes"
        return
    assert spec["Enabled"] is True
    assert [a.attr_name for a in ttl] == [spec["AttributeName"]]
    assert all(isinstance(a, ExpiresAt) for a in ttl)


def test_ttl_attribute_stores_epoch_seconds_beyond_datetimes_range() -> None:
    attribute = ExpiresAt(attr_name="expiresAt")
    for seconds in (0, 1_827_230_400, 10**12):
        assert attribute.deserialize(attribute.serialize(seconds)) == seconds


def test_table_names_come_from_the_settings_when_tables_are_bound() -> None:
    unbind_tables()
    try:
        with pytest.raises(RuntimeError, match="not bound"):
            table_name(MODELS[0])
        names = {name: f"{value}-x" for name, value in TABLES.items()}
        bind_tables(load_settings({**names, "COURIER_JWT_SECRET": "s"}))
        bound = sorted(table_name(m) for m in MODELS)
        assert bound == sorted(v for k, v in names.items() if k.endswith("_TABLE"))
    finally:
        unbind_tables()


def test_importing_the_models_reads_no_table_name_from_the_environment() -> None:
    code = (
        "import os; os.environ['COURIER_MESSAGES_TABLE'] = 'from-env'\n"
        "from courier.models import MODELS\n"
        "assert all(m.Meta.table_name is None for m in MODELS), 'bound at import'\n"
    )
    subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(LAYER_DIR)}, timeout=60
    )
