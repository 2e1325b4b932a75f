"""Opening the DuckDB warehouse the one way the project allows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.locks import warehouse_lock
from pipelines.udfs import register


@contextmanager
def open_warehouse(warehouse: Path, *, read_only: bool = True, lock: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to ``<warehouse>/ssj.duckdb``, holding the writer lock unless told not to."""
    path = Path(warehouse) / "ssj.duckdb"
    if read_only and not path.exists():
        raise FileNotFoundError(f"{path} does not exist yet: run `ssj run` first")
    if lock:
        with warehouse_lock(warehouse):
            con = duckdb.connect(str(path), read_only=read_only)
            try:
                register(con)
                yield con
            finally:
                con.close()
    else:
        con = duckdb.connect(str(path), read_only=read_only)
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
