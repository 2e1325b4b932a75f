"""DuckDB functions the dbt models need that SQL alone cannot express well.

Registered on every dbt connection through the dbt-duckdb plugin below, and by
any other code that runs the models' SQL (tests, publish) via ``register``.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from dbt.adapters.duckdb.plugins import BasePlugin


def nfkc(values: pa.Array) -> pa.Array:
    """Unicode NFKC: full-width letters, digits and brackets become half-width."""
    return pc.utf8_normalize(values, "NFKC")


def register(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the project's functions on ``conn`` (idempotent)."""
    try:
        conn.remove_function("nfkc")
    except Exception:  # noqa: BLE001 - not registered yet
        pass
    conn.create_function("nfkc", nfkc, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")


class Plugin(BasePlugin):
    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        register(conn)
