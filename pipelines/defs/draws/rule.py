"""Running the draw rule (draw.sql, its one definition) on a DuckDB connection.

The caller binds ``draw_plans``, ``draw_pool`` and ``draw_scope`` (tables or views,
see draw.sql); the rule leaves ``drawn_scope``, ``drawn_strata``, ``drawn`` and
``drawn_records`` as temporary tables. The same SQL serves `ssj draw` and the
statistical tests, which bind a synthetic pool and many seeds at once.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

ALGORITHM = "ssj-prn-v1"
STRATA = ("A", "B", "C", "D", "none")
"""The strata, by credit grade; ``none`` = no grade."""


@cache
def draw_sql() -> str:
    return (Path(__file__).with_name("draw.sql")).read_text(encoding="utf-8")


def run_rule(con: duckdb.DuckDBPyConnection) -> None:
    """Draw every plan of ``draw_plans`` against ``draw_pool`` and ``draw_scope`` (one set-based pass)."""
    con.execute(draw_sql())
