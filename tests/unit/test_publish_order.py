"""Published Parquet is sorted on each mart's unique key alone (pipelines/defs/publish/parquet.py):
that is a total order only while dbt tests the same columns unique. Keep the two in step."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.defs.publish import parquet as publish
from pipelines.defs.publish.parquet import UNIQUE_KEYS
from pipelines.defs.publish.tables import published_tables
from tests.support import DBT_DIR


TESTED_BY_PARTS = {
    # enterprise_tags is a view: the union of these, each tested unique on the key its rows
    # take there (models/marts/_enterprise_marts.yml says why that is the view's key);
    # tests/integration/test_enterprise_pool.py checks the union on hand-made data
    "enterprise_tags": {
        "enterprise_pool": ["enterprise_id"],
        "enterprise_credit_grades": ["enterprise_id", "domain"],
        "int_enterprise__category_evidence": ["enterprise_id", "category", "source", "source_file", "source_row"],
    },
}


def unique_keys_under_test() -> dict[str, list[list[str]]]:
    keys: dict[str, list[list[str]]] = {}
    for path in sorted((DBT_DIR / "models").glob("*/*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            found = keys.setdefault(model["name"], [])
            for test in model.get("data_tests", []):
                if isinstance(test, dict) and "unique_combination" in test:
                    found.append(list(test["unique_combination"]["arguments"]["columns"]))
            for column in model.get("columns", []):
                if "unique" in (column.get("data_tests") or []):
                    found.append([column["name"]])
    return keys


def test_every_sort_key_is_a_tested_unique_key():
    tested = unique_keys_under_test()
    for table, key in UNIQUE_KEYS.items():
        for model, model_key in TESTED_BY_PARTS.get(table, {table: key}).items():
            assert model_key in tested.get(model, []), f"{model}: {model_key} is not tested unique in models/*/*.yml"


def test_sort_keys_name_published_tables():
    assert set(UNIQUE_KEYS) <= set(published_tables())


# ------------------------------------------- written in key ranges and fixed row groups, as COPY would

row = st.tuples(st.one_of(st.none(), st.sampled_from(["a", "b", "b2", "c", "甲"])), st.integers(0, 3),
                st.one_of(st.none(), st.text(alphabet="xyz", max_size=3)))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(row, min_size=0, max_size=60), cells=st.integers(3, 40), not_null=st.booleans())
def test_a_table_written_whole_or_in_key_ranges_equals_duckdbs_sorted_copy(tmp_path_factory, rows, cells, not_null):
    """The oracle is DuckDB's own ``COPY (… ORDER BY key) TO parquet``: the same rows, order and schema."""
    out = tmp_path_factory.mktemp("ranges")
    con = duckdb.connect()
    con.execute(f"create table t0 (k varchar, n integer {'not null' if not_null else ''}, s varchar)")
    if rows:
        con.executemany("insert into t0 values (?, ?, ?)", rows)
    con.execute("create table t as select *, to_json(s) as j from t0")  # j: Parquet's JSON type, as COPY writes it
    order = ", ".join(publish.sort_key(con, "t"))
    con.execute(f"copy (select * from t order by {order}) to '{out / 'copy.parquet'}' (format parquet)")
    whole = publish.publish_parquet(con, "t", out / "whole")
    old = publish.RANGE_CELLS, publish.ROW_GROUP, publish.BOUNDS_SAMPLE, publish.FEW_VALUES
    # several ranges, row groups across them, range bounds from a random sample of 5 rows;
    # k has few values: a range per value of k, cut again on n when too big
    publish.RANGE_CELLS, publish.ROW_GROUP, publish.BOUNDS_SAMPLE = cells, 7, 5
    try:
        ranged = publish.publish_parquet(con, "t", out / "ranged")
        publish.BOUNDS_SAMPLE = 1_000_000  # every row: the exact quantiles as bounds
        publish.publish_parquet(con, "t", out / "exact")
        publish.FEW_VALUES = 0  # k as if it had many values: ranges at quantiles of k
        publish.publish_parquet(con, "t", out / "quantiles")
    finally:
        publish.RANGE_CELLS, publish.ROW_GROUP, publish.BOUNDS_SAMPLE, publish.FEW_VALUES = old
    assert whole == ranged == len(rows)
    # the bounds decide how the work is split, never the bytes
    assert (out / "ranged" / "t.parquet").read_bytes() == (out / "exact" / "t.parquet").read_bytes()
    assert (out / "ranged" / "t.parquet").read_bytes() == (out / "quantiles" / "t.parquet").read_bytes()
    oracle = pq.read_table(out / "copy.parquet")
    for written in (out / "whole" / "t.parquet", out / "ranged" / "t.parquet"):
        table = pq.read_table(written)
        assert table.to_pylist() == oracle.to_pylist()
        assert table.schema == oracle.schema


def test_a_range_is_sorted_on_one_column_where_that_is_unique_in_it():
    con = duckdb.connect()
    con.execute("create table tags (tag varchar, id varchar, v varchar)")
    con.execute("insert into tags values ('carrier', 'b', 'x'), ('carrier', 'a', 'y'), "
                "('category', 'a', 'food'), ('category', 'a', 'drug'), ('category', 'b', 'food')")
    old = publish.RANGE_CELLS
    publish.RANGE_CELLS = 6  # two rows of three columns a range
    try:
        ranges = publish._ranges(con, "tags", ["tag", "id", "v"], rows=5, columns=3)
        orders = [(params[0], publish._order(con, "tags", where, params, order)) for where, params, order in ranges]
    finally:
        publish.RANGE_CELLS = old
    # one value of tag at a time, category's three rows cut again on id (at its median, 'a':
    # nothing below it); within carrier id is unique and the sort needs no more, within
    # category's rows from 'a' on it is not
    assert orders == [("carrier", ["id"]), ("category", ["id"]), ("category", ["id", "v"])]
