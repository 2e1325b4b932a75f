"""The staging models' JSON columns on Spark, exactly as DuckDB writes them.

``raw`` (the original values of a rejected row, keyed by column, then the columns
outside the contract) and ``extra`` (those columns alone) are JSON text with the
personal data masked (macros/staging_helpers.sql: raw_json, extra_json; value_rules.sql:
mask_personal_json). The quarantine publishes them, so the two engines must write
the same bytes: key order, escapes, number forms. Rather than a second formulation of
DuckDB's JSON functions in Spark SQL, Spark calls these Arrow UDFs, which run the very
macros — rendered with plain Jinja, as the value rules' unit tests render them — in an
in-memory DuckDB over each batch (pipelines/engine.py registers them; the twins are in
macros/spark_staging_helpers.sql).
"""

from __future__ import annotations

from functools import cache

import pyarrow as pa

from pipelines import DBT_PROJECT_DIR


@cache
def _macros():
    import jinja2

    macros = DBT_PROJECT_DIR / "macros"
    text = "".join((macros / name).read_text("utf-8") for name in ("value_rules.sql", "staging_helpers.sql"))
    return jinja2.Environment().from_string(text).module


@cache
def _duckdb():
    import duckdb

    from pipelines.udfs import register

    con = duckdb.connect()
    register(con)
    return con


def _feed(feeds: pa.Array) -> str:
    found = {f for f in feeds.to_pylist() if f is not None}
    if len(found) != 1:
        raise ValueError(f"one feed per call expected, got {sorted(found)}")
    return found.pop()


def _run(expression: str, batch: pa.Table) -> pa.Array:
    con = _duckdb()
    con.register("_ssj_batch", batch)
    try:
        result = con.sql(f"select cast({expression} as varchar) from _ssj_batch").to_arrow_table()
    finally:
        con.unregister("_ssj_batch")
    return result.column(0).combine_chunks().cast(pa.string())


def raw_json(rows: pa.StructArray, extras: pa.Array, feeds: pa.Array) -> pa.Array:
    """raw_json(columns, feed) of each row: ``rows`` holds the feed's columns as read, in order."""
    rows = rows.combine_chunks() if isinstance(rows, pa.ChunkedArray) else rows
    if len(rows) == 0:
        return pa.array([], pa.string())
    columns = [field.name for field in rows.type]
    batch = pa.table({"_row": rows, "_extra": extras})
    expression = _macros().raw_json(columns, _feed(feeds), relation="_row")
    # raw_json reads `<relation>._extra`: the row's struct does not hold it, the batch does
    return _run(expression.replace("_row._extra", "_extra"), batch)


def json_text(values: pa.Array) -> pa.Array:
    """Each JSON text in DuckDB's form of it (``json(…)``: compact, keys in their order,
    numbers as DuckDB writes them) — what DuckDB's JSON columns read from a file hold (the
    ledger's ``headers``); Spark reads a JSON value into a string as it is written."""
    if len(values) == 0:
        return pa.array([], pa.string())
    return _run("json(_v)", pa.table({"_v": values}))


def extra_json(extras: pa.Array, feeds: pa.Array) -> pa.Array:
    """extra_json(feed) of each row's columns outside the contract (JSON text)."""
    if len(extras) == 0:
        return pa.array([], pa.string())
    batch = pa.table({"_extra": extras})
    return _run(_macros().extra_json(_feed(feeds), relation="_ssj_batch"), batch)
