"""Opening the DuckDB warehouse the one way the project allows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import duckdb

from pipelines.locks import warehouse_lock
from pipelines.udfs import register


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """The same DuckDB settings as dbt's profile: without a memory_limit DuckDB takes
    80% of the machine (publishing a 10M-row pool reached 20 GiB)."""
    return duckdb.connect(str(path), read_only=read_only, config={
        "memory_limit": os.environ.get("SSJ_DUCKDB_MEMORY", "8GB"),
        "preserve_insertion_order": False,
    })


@contextmanager
def open_warehouse(warehouse: Path, *, read_only: bool = True, lock: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to ``<warehouse>/ssj.duckdb``, holding the writer lock unless told not to."""
    path = Path(warehouse) / "ssj.duckdb"
    if read_only and not path.exists():
        raise FileNotFoundError(f"{path} does not exist yet: run `ssj run` first")
    with warehouse_lock(warehouse) if lock else nullcontext():
        con = _connect(path, read_only)
        try:
            register(con)
            yield con
        finally:
            con.close()


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'main' and table_name = ?", [name]
        ).fetchone()[0]
    )
