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


SORT_FIRST = {
    "enterprise_pool": ["enterprise_id"],
    "enterprise_tags": ["enterprise_id"],
    "enterprise_credit_grades": ["enterprise_id"],
    "inspector_pool": ["inspector_id"],
    "joint_inspections": ["joint_group_id"],
    "draw_entries": ["agency", "task_id", "source_row"],
    "quarantine": ["feed", "file_sha256", "source_row"],
    "ingest_log": ["path", "sha256"],
}
"""Columns that (nearly) identify a row: sorted on first, so the sort rarely has to
compare the wide columns behind them (`order by all` on a 10M-row pool is most of
publishing's time)."""


def order_by(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Every column, the table's identifying ones first: a total order, fast to sort."""
    columns = [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'main' and table_name = ? "
        "order by ordinal_position", [table]).fetchall()]
    first = [c for c in SORT_FIRST.get(table, []) if c in columns]
    return ", ".join(f'"{c}"' for c in first + [c for c in columns if c not in first])


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
