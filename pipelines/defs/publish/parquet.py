"""Publish tables as Parquet, replaced atomically: a reader never sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

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


def order_by(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The table's unique key, or every column for a table without one: a total order."""
    columns = UNIQUE_KEYS.get(table) or [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'main' and table_name = ? "
        "order by ordinal_position", [table]).fetchall()]
    return ", ".join(f'"{c}"' for c in columns)


def publish_parquet(con: duckdb.DuckDBPyConnection, table: str, out_dir: Path) -> int:
    """Write ``table`` in a total order (byte-identical for identical rows); return its row count."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{table}.parquet"
    fd, tmp = tempfile.mkstemp(prefix=f".{table}.", suffix=".parquet.tmp", dir=out_dir)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        con.execute(
            f"copy (select * from main.{table} order by {order_by(con, table)}) to '{tmp_path}' "
            "(format parquet, compression zstd, row_group_size 1000000)"
        )
        replace_atomically(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return con.execute(f"select count(*) from main.{table}").fetchone()[0]
