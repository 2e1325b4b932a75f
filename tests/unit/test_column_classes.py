"""Column classes of the published tables (marts' YAML → tables.py → Dagster column schema, `ssj export --public`)."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.defs.publish.metadata import table_metadata
from pipelines.defs.publish.parquet import UNIQUE_KEYS
from pipelines.defs.publish.snapshots import CHANGE_TABLES
from pipelines.defs.publish.tables import CLASSES, _marts, column_class, lineage_columns, published_tables


@pytest.mark.parametrize("table", published_tables())
def test_every_published_table_classifies_every_column(table):
    default = (_marts()[table].get("config") or {}).get("meta", {}).get("column_class")
    assert default in CLASSES, f"{table}: set config.meta.column_class"
    for column in _marts()[table].get("columns") or {}:
        assert column_class(table, column) in CLASSES
    assert column_class(table, "a column the YAML does not list") == default


def test_what_the_contract_says_is_personal_or_internal():
    assert column_class("inspector_pool", "name") == column_class("inspector_pool", "id_no_masked") == "personal"
    assert column_class("inspector_pool", "inspector_id") == "public"
    assert column_class("enterprise_pool", "credit_grade") == "internal"
    assert column_class("enterprise_pool", "name") == "public"
    assert column_class("enterprise_credit_grades", "grade") == "internal"
    for column in ("match_method", "source_file"):
        assert column_class("draw_entries", column) == "internal"
    assert column_class("quarantine", "raw") == "personal"
    assert column_class("changes", "key") == "public"


def test_lineage_columns_never_include_a_key_and_name_the_source_files():
    for table in CHANGE_TABLES:
        assert UNIQUE_KEYS[table][0] not in lineage_columns(table)
    assert {"source_file", "source_row", "updated_at"} <= set(lineage_columns("enterprise_pool"))
    assert {"source_file", "source_row", "updated_at"} <= set(lineage_columns("inspector_pool"))
    assert "name" not in lineage_columns("enterprise_pool")


def test_the_dagster_column_schema_carries_each_columns_class():
    con = duckdb.connect()
    con.execute("create table inspector_pool as select 'x:1' as inspector_id, '张三' as name, true as is_eligible, "
                "null::varchar as ineligible_reason")
    schema = table_metadata(con, "inspector_pool")["dagster/column_schema"]
    assert {c.name: c.tags["ssj/class"] for c in schema.columns} == {
        "inspector_id": "public", "name": "personal", "is_eligible": "internal", "ineligible_reason": "internal"}
    assert schema.columns[1].description == "personal column"


def test_the_mart_assets_show_the_classes_of_their_documented_columns():
    import dagster as dg

    from pipelines.definitions import defs

    columns = defs().resolve_asset_graph().get(dg.AssetKey("inspector_pool")).metadata["dagster/column_schema"].columns
    by_name = {c.name: c for c in columns}
    assert by_name["name"].tags == {"ssj/class": "personal"}
    assert by_name["inspector_id"].description.startswith("public column: ")
