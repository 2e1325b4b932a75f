"""Publish tables as Parquet, replaced atomically: a reader never sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.defs.ingest.raw_store import replace_atomically


def remove_stale_temporaries(out_dir: Path) -> list[Path]:
    """Delete what a killed publish left behind (``.<table>.*.parquet.tmp``); call it holding the writer lock."""
    stale = sorted(out_dir.glob(".*.parquet.tmp")) if out_dir.exists() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


UNIQUE_KEYS = {
    "enterprise_pool": ["enterprise_id"],
    "enterprise_tags": ["enterprise_id", "tag", "value", "source"],
    "enterprise_credit_grades": ["enterprise_id", "domain"],
    "inspector_pool": ["inspector_id"],
    "joint_inspections": ["joint_group_id"],
    "draw_entries": ["agency", "task_id", "enterprise_id", "name_normalized", "uscc"],
    "quarantine": ["feed", "file_sha256", "source_row"],
    "agency_overlap": ["agency_a", "agency_b"],
    "inspector_capacity": ["agency_name", "unit", "specialty"],
}
"""The columns each mart's dbt tests hold unique (``unique`` / ``unique_combination`` in
models/marts/*.yml; tests/unit/test_publish_order.py keeps the two in step). A table is
published in the order of its key alone — a total order, since the build stops before
publishing when a test fails. Sorting on every column instead made DuckDB build sort
keys from the wide text columns: most of publishing's time at 10M enterprises."""


RANGE_CELLS = 120_000_000
"""A table of more cells (rows × columns) is sorted and written a key range at a time.
DuckDB sorts a range within its memory limit; one sort of the whole table spills to
disk (10M enterprises, 6 GB limit, alone on the built warehouse: enterprise_tags,
72.6M rows × 6, 147 s in one sort and 94 s in four ranges; enterprise_pool, 9.8M × 44,
39 s in four ranges against 92 s in one sort in the pipeline run)."""
ROW_GROUP = 262_144
"""Rows per row group, whatever the table's size and DuckDB's batches, so the bytes
depend on the rows alone. Writing the sorted rows through Arrow with pyarrow's
writer is also faster than DuckDB's own sorted COPY, whose one-million-row groups
are written by one thread (1M enterprises, idle machine: enterprise_pool 14.6 s →
9.2 s, enterprise_tags 31 s → 21 s)."""


def sort_key(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The table's unique key, or every column for a table without one: a total order."""
    return UNIQUE_KEYS.get(table) or _columns(con, table)


def order_by(con: duckdb.DuckDBPyConnection, table: str) -> str:
    return ", ".join(_q(c) for c in sort_key(con, table))


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [name for (name,) in con.execute(
        "select column_name from information_schema.columns where table_schema = 'main' and table_name = ? "
        "order by ordinal_position", [table]).fetchall()]


def publish_parquet(con: duckdb.DuckDBPyConnection, table: str, out_dir: Path) -> int:
    """Write ``table`` in a total order (byte-identical for identical rows); return its row count."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{table}.parquet"
    # one pass for the row count and each column's NULL count (a view is computed once)
    names = _columns(con, table)
    rows, *nulls = con.execute(
        f"select count(*), {', '.join(f'count(*) - count({_q(n)})' for n in names)} from main.{table}").fetchall()[0]
    # DuckDB's COPY marks a column required when it holds no NULL; the Arrow export
    # marks none: the same rule here, so a reader sees the schema COPY would write
    nullable = {name: n > 0 for name, n in zip(names, nulls)}
    ranges = max(1, -(-rows * len(names) // RANGE_CELLS))
    fd, tmp = tempfile.mkstemp(prefix=f".{table}.", suffix=".parquet.tmp", dir=out_dir)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        _write_sorted(con, table, ranges, nullable, tmp_path)
        replace_atomically(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return rows


BOUNDS_SAMPLE = 100_000
"""Rows sampled for the range bounds. Concatenating the sorted ranges in bound order
is the sorted table whatever the bounds are, so they need not be exact (nor the same
from run to run): only the ranges' sizes depend on them. Exact quantiles of
enterprise_tags' 72.6M keys took 6.5 s; a sample's, one scan."""


def _write_sorted(con: duckdb.DuckDBPyConnection, table: str, ranges: int, nullable: dict[str, bool],
                  path: Path) -> None:
    """The table sorted on its key, as consecutive ranges of its first sort column, each sorted by DuckDB.

    The ranges' bounds are quantiles of that column (in a sample of the rows), so
    concatenating the sorted ranges in bound order is the table in its sort order
    (NULLs, which ORDER BY puts last, go with the last range); one range is the whole
    table. Row groups have ROW_GROUP rows whatever the ranges and DuckDB's batches,
    so the file's bytes depend on the rows alone."""
    key = sort_key(con, table)
    first = _q(key[0])
    bounds: list = []
    if ranges > 1:
        quantiles = ", ".join(str(i / ranges) for i in range(1, ranges))
        bounds = sorted({v for (v,) in con.execute(
            f"select unnest(quantile_disc({first}, [{quantiles}])) from "
            f"(select {first} from main.{table} using sample reservoir({BOUNDS_SAMPLE} rows))").fetchall()
            if v is not None})
    # a JSON column reaches Arrow as text; COPY writes it with Parquet's JSON type, and so does this
    json = {name for (name,) in con.execute(
        "select column_name from information_schema.columns where table_schema = 'main' and table_name = ? "
        "and data_type = 'JSON'", [table]).fetchall()}
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    pending: list[pa.RecordBatch] = []
    held = 0

    def flush(final: bool) -> None:
        nonlocal pending, held
        while held >= ROW_GROUP or (final and held):
            batch = pa.Table.from_batches(pending, schema=schema)
            size = min(held, ROW_GROUP)
            # one chunk per row group: pages are cut the same way however the rows arrived
            writer.write_table(batch.slice(0, size).combine_chunks(), row_group_size=size)
            rest = batch.slice(size)
            pending, held = rest.to_batches(), rest.num_rows

    edges = [None, *bounds, None]
    try:
        for lo, hi in zip(edges, edges[1:]):
            conds, params = [], []
            if lo is not None:
                conds.append(f"{first} >= ?")
                params.append(lo)
            if hi is not None:
                conds.append(f"{first} < ?")
                params.append(hi)
            where = " and ".join(conds) or "true"
            if hi is None and lo is not None:
                where = f"({where}) or {first} is null"
            reader = con.sql(
                f"select * from main.{table} where {where} order by {order_by(con, table)}", params=params
            ).to_arrow_reader(ROW_GROUP)
            if writer is None:
                schema = pa.schema([f.with_nullable(nullable[f.name]).with_type(pa.json_()) if f.name in json
                                    else f.with_nullable(nullable[f.name]) for f in reader.schema])
                writer = pq.ParquetWriter(path, schema, compression="zstd")
            for batch in reader:
                pending.append(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
                held += batch.num_rows
                flush(final=False)
        flush(final=True)
    finally:
        if writer is not None:
            writer.close()
