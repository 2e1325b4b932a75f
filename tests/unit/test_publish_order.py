"""Published Parquet is sorted on each mart's unique key alone (pipelines/defs/publish/parquet.py):
that is a total order only while dbt tests the same columns unique. Keep the two in step."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.defs.publish import parquet as publish
from pipelines.defs.publish.parquet import UNIQUE_KEYS
from pipelines.defs.publish.tables import published_tables
from tests.support import DBT_DIR, spy_in_order


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
                if isinstance(test, dict) and "column_rules" in test:
                    for key in test["column_rules"]["arguments"].get("unique", []):
                        found.append([key] if isinstance(key, str) else list(key))
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


@pytest.mark.slow
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


def test_a_first_key_column_of_few_values_cuts_the_table_one_value_at_a_time():
    con = duckdb.connect()
    con.execute("create table tags (tag varchar, id varchar, v varchar)")
    con.execute("insert into tags values ('carrier', 'b', 'x'), ('carrier', 'a', 'y'), "
                "('category', 'a', 'food'), ('category', 'a', 'drug'), ('category', 'b', 'food')")
    old = publish.RANGE_CELLS
    publish.RANGE_CELLS = 6  # two rows of three columns a range
    try:
        ranges = publish._ranges(con, "tags", ["tag", "id", "v"], rows=5, columns=3)
    finally:
        publish.RANGE_CELLS = old
    # one value of tag at a time, category's three rows cut again on id (at its median, 'a':
    # nothing below it); within a value the rest of the key is the order; a value's row count
    # is known when it is one range (IN_ORDER_FROM needs it)
    assert [(r.params[0], r.order, r.rows) for r in ranges] == [
        ("carrier", ["id", "v"], 2), ("category", ["id", "v"], None), ("category", ["id", "v"], None)]


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.one_of(st.none(), st.sampled_from("abcd")), st.one_of(st.none(), st.integers(0, 2))),
                     max_size=40),
       cuts=st.lists(st.integers(0, 40), max_size=6))
def test_ties_on_the_first_column_are_put_in_the_whole_order_across_batches(rows, cuts):
    """_Ties gets rows sorted on their first column only, in batches cut anywhere; what it hands
    on, in order, is the rows sorted on both columns, NULLs last — as DuckDB's ORDER BY."""
    con = duckdb.connect()
    con.execute("create table r (f varchar, g integer)")
    if rows:
        con.executemany("insert into r values (?, ?)", rows)
    by_first = con.sql("select * from r order by f").to_arrow_table()
    ties, out = publish._Ties(["f", "g"]), []
    edges = sorted({0, len(rows), *[c for c in cuts if c <= len(rows)]})
    for lo, hi in zip(edges, edges[1:]):
        for batch in by_first.slice(lo, hi - lo).to_batches():
            out.extend(ties.settle(batch).to_pylist())
    rest = ties.rest()
    out.extend(rest.to_pylist() if rest is not None else [])
    assert out == con.sql("select * from r order by f, g").to_arrow_table().to_pylist()


def test_a_first_sort_value_of_many_rows_is_sorted_by_duckdb_on_the_whole_order(tmp_path, monkeypatch):
    """Rather than hold a long run of one first value in memory, the table is written again
    with DuckDB sorting on the whole key: the same bytes as when no run is too long."""
    con = duckdb.connect()
    # 150 first values of one row each (few ties, by the sketch), and one of 50 rows, read
    # in batches of 7 rows (ROW_GROUP)
    monkeypatch.setattr(publish, "ROW_GROUP", 7)
    con.execute("create table t as select case when i < 50 then 'z' else 'k' || i end as k, "
                "(i * 7919) % 200 as n, 'x' || i as s from range(200) r(i)")
    written = []
    real = publish._write_sorted
    monkeypatch.setattr(publish, "_write_sorted", lambda *a, **k: written.append(k["ties"]) or real(*a, **k))
    publish.publish_parquet(con, "t", tmp_path / "short")
    monkeypatch.setattr(publish, "LONG_RUN", 10)
    publish.publish_parquet(con, "t", tmp_path / "long")
    assert written == [True, True, False]
    assert (tmp_path / "short" / "t.parquet").read_bytes() == (tmp_path / "long" / "t.parquet").read_bytes()
    assert pq.read_table(tmp_path / "long" / "t.parquet").to_pylist() == \
        con.sql("select * from t order by k, n, s").to_arrow_table().to_pylist()


def test_ties_are_left_to_duckdb_for_types_arrow_orders_differently():
    con = duckdb.connect()
    con.execute("create type mood as enum ('sad', 'happy')")  # DuckDB orders an enum by position
    con.execute("create table t (a varchar, b integer, c timestamp with time zone, d decimal(18, 3), h date, "
                "e mood, f varchar[], g interval)")
    types = publish._column_types(con, "t")
    assert publish._sortable_in_arrow(types, ["a", "b", "c", "d", "h"])
    for column in ("e", "f", "g"):
        assert not publish._sortable_in_arrow(types, ["a", column])


def test_statistics_are_written_for_the_sort_key_only(tmp_path, monkeypatch):
    """Min/max prune row groups only on the columns the file is sorted on; on the rest
    (bases, addresses) they cost the writer time and prune nothing."""
    monkeypatch.setitem(publish.UNIQUE_KEYS, "t", ["k", "n"])
    monkeypatch.setattr(publish, "ROW_GROUP", 50)
    con = duckdb.connect()
    con.execute("create table t as select 'k' || lpad(cast(i // 3 as varchar), 3, '0') as k, i % 3 as n, "
                "'basis ' || i as basis from range(200) r(i)")
    publish.publish_parquet(con, "t", tmp_path)
    meta = pq.read_metadata(tmp_path / "t.parquet")
    assert meta.num_row_groups == 4
    for group in range(meta.num_row_groups):
        stats = {meta.row_group(group).column(i).path_in_schema: meta.row_group(group).column(i).is_stats_set
                 for i in range(meta.num_columns)}
        assert stats == {"k": True, "n": True, "basis": False}
    first = meta.row_group(1).column(0).statistics
    assert (first.min, first.max) == ("k016", "k033")


# ------------------------------------------- ranges read in order from a mart published before (IN_ORDER_FROM)

def _tags_over_a_pool(monkeypatch) -> duckdb.DuckDBPyConnection:
    """A 'tags' view whose tags a and b are rows of 'pool' (through a macro, as enterprise_tags'
    pool tags are) and whose tag o is its own; a tag a range (RANGE_CELLS), 7-row batches."""
    con = duckdb.connect()
    con.execute("create table pool as select 'e' || lpad(cast((i * 17) % 40 as varchar), 2, '0') as id, "
                "i % 3 as n from range(40) r(i)")  # stored out of id order
    con.execute("create table other as select 'e' || lpad(cast(i as varchar), 2, '0') as id, 'o' as tag, "
                "cast(i as varchar) as value from range(0, 40, 3) r(i)")

    def macro(pool: str) -> str:
        return (f"select id, 'a' as tag, cast(n as varchar) as value from {pool} "
                f"union all select id, 'b', cast(n * 2 as varchar) from {pool}")

    con.execute(f"create view tags as {macro('pool')} union all select id, tag, value from other")
    monkeypatch.setitem(publish.UNIQUE_KEYS, "pool", ["id"])
    monkeypatch.setitem(publish.UNIQUE_KEYS, "tags", ["tag", "id", "value"])
    monkeypatch.setitem(publish.IN_ORDER_FROM, "tags", ("pool", "the_macro"))
    monkeypatch.setattr(publish, "_macro", lambda name: macro)
    monkeypatch.setattr(publish, "RANGE_CELLS", 150)  # 50 rows a range: 94 rows, a tag a range
    monkeypatch.setattr(publish, "ROW_GROUP", 7)
    return con


def test_ranges_of_a_published_mart_are_read_in_its_order_not_sorted_again(tmp_path, monkeypatch):
    con = _tags_over_a_pool(monkeypatch)
    publish.publish_parquet(con, "pool", tmp_path)  # sorted on id
    read = spy_in_order(monkeypatch)
    publish.publish_parquet(con, "tags", tmp_path / "in_order", {"pool": tmp_path / "pool.parquet"})
    assert sum(read) == 80  # tags a and b, from the pool's file; o sorted by DuckDB
    publish.publish_parquet(con, "tags", tmp_path / "sorted")
    assert (tmp_path / "in_order" / "tags.parquet").read_bytes() == (tmp_path / "sorted" / "tags.parquet").read_bytes()
    assert pq.read_table(tmp_path / "in_order" / "tags.parquet").to_pylist() == \
        con.sql("select * from tags order by tag, id, value").to_arrow_table().to_pylist()


@pytest.mark.parametrize("published", [
    "copy (select * from pool order by id desc) to '{file}' (format parquet)",  # not in id order
    "copy (select * from pool union all select 'e99', 1) to '{file}' (format parquet)",  # not the pool's rows
])
def test_a_published_mart_not_in_order_or_not_the_same_rows_is_not_trusted(tmp_path, monkeypatch, caplog, published):
    con = _tags_over_a_pool(monkeypatch)
    file = tmp_path / "pool.parquet"
    con.execute(published.format(file=file))
    publish.publish_parquet(con, "tags", tmp_path / "in_order", {"pool": file})
    assert "written again, sorted" in caplog.text
    publish.publish_parquet(con, "tags", tmp_path / "sorted")
    assert (tmp_path / "in_order" / "tags.parquet").read_bytes() == (tmp_path / "sorted" / "tags.parquet").read_bytes()


def test_the_view_reads_its_pool_tags_through_the_macro_publishing_renders():
    """enterprise_tags and publishing share one definition of the pool's tag rows."""
    model = (DBT_DIR / "models" / "marts" / "enterprise_tags.sql").read_text(encoding="utf-8")
    for table, (source, macro) in publish.IN_ORDER_FROM.items():
        assert table == "enterprise_tags" and f"{{{{ {macro}(ref('{source}')) }}}}" in model
        assert "from pool" in publish._macro(macro)("pool")
