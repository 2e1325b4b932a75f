"""The project's generic dbt tests (dbt_project/macros/generic_tests.sql), run as dbt would run them.

A ``{% test %}`` block is plain Jinja inside; this renders the very block dbt
compiles (no copy of the SQL) and runs it in DuckDB: a dbt test fails when its
query returns rows.
"""

from __future__ import annotations

import re

import duckdb
import jinja2
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import DBT_DIR


class _Adapter:
    @staticmethod
    def quote(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'


def render_test(name: str, **kwargs) -> str:
    text = (DBT_DIR / "macros" / "generic_tests.sql").read_text(encoding="utf-8")
    body = re.search(r"{%\s*test\s+" + name + r"\(.*?\)\s*%}(.*?){%\s*endtest\s*%}", text, re.S).group(1)
    return jinja2.Environment().from_string(body).render(adapter=_Adapter, **kwargs)


COLUMNS = ["a", "b c", "d"]  # a quoted name too


def table_t(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    """A connection holding table t (a, "b c", d) with ``rows``."""
    con = duckdb.connect()
    con.execute('create table t (a integer, "b c" integer, d integer)')
    if rows:
        con.executemany("insert into t values (?, ?, ?)", rows)
    return con
cell = st.one_of(st.none(), st.integers(0, 9))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(cell, cell, cell), max_size=20))
def test_not_null_columns_fails_exactly_on_the_columns_holding_nulls(rows):
    con = table_t(rows)
    failures = dict(con.execute(render_test("not_null_columns", model="t", columns=COLUMNS)).fetchall())
    expected = {c: sum(r[i] is None for r in rows) for i, c in enumerate(COLUMNS)}
    assert failures == {c: n for c, n in expected.items() if n > 0}


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(cell, cell, cell), max_size=20))
def test_unique_combination_fails_exactly_on_the_repeated_combinations(rows):
    con = table_t(rows)
    columns = ["a", '"b c"']  # NULLs count as equal, as in GROUP BY
    failures = {(a, b): n for a, b, n in con.execute(render_test("unique_combination", model="t", columns=columns)).fetchall()}
    counts: dict = {}
    for a, b, _ in rows:
        counts[(a, b)] = counts.get((a, b), 0) + 1
    assert failures == {k: n for k, n in counts.items() if n > 1}
