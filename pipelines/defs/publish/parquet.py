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


def publish_parquet(con: duckdb.DuckDBPyConnection, table: str, out_dir: Path) -> int:
    """Write ``table`` sorted on every column (byte-identical for identical rows); return its row count."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{table}.parquet"
    fd, tmp = tempfile.mkstemp(prefix=f".{table}.", suffix=".parquet.tmp", dir=out_dir)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        con.execute(
            f"copy (select * from main.{table} order by all) to '{tmp_path}' "
            "(format parquet, compression zstd, row_group_size 1000000)"
        )
        replace_atomically(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return con.execute(f"select count(*) from main.{table}").fetchone()[0]
