"""The dbt-duckdb plugin (``dbt_project/profiles.yml``) that gives every dbt connection the
project's functions (``pipelines/udfs.py``)."""

from __future__ import annotations

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines.udfs import SEARCH_PATH, _macros, create_macros, register, run_variables_sql, set_run_variables


class Plugin(BasePlugin):
    """Registers the functions once per dbt command (its database instance); every node's
    cursor then needs one statement: the search path to the shared macros and the run's
    variables (settings and variables are per connection, as temporary macros would be)."""

    _cursor_sql: str | None = None

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        shared = register(conn)
        self._cursor_sql = (SEARCH_PATH + "; " if shared else "") + run_variables_sql(conn)
        self._temporary_macros = not shared

    def configure_cursor(self, cursor) -> None:
        if self._cursor_sql is None:  # not configured through this plugin's connection
            create_macros(cursor)
            set_run_variables(cursor)
            return
        if self._temporary_macros:
            for sql in _macros(None):
                cursor.execute(sql)
        cursor.execute(self._cursor_sql)
