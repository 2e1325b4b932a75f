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


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.tuples(cell, cell, cell), max_size=20))
def test_column_rules_fails_exactly_on_the_broken_rules(rows):
    # each rule as dbt's own test would find it: not_null, unique (NULLs ignored for one
    # column, equal for several, as GROUP BY does), accepted_values (NULL passes)
    con = table_t(rows)
    sql = render_test("column_rules", model="t", not_null=["a", "b c"], unique=["a", ["b c", "d"]],
                      accepted_values={"d": [0, 1, 2], "b c": ["3", "4"]})
    failures = {(rule, column): n for rule, column, n in con.execute(sql).fetchall()}

    def repeated(keys: list) -> int:
        counts: dict = {}
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
        return sum(n for n in counts.values() if n > 1)

    expected = {
        ("not_null", "a"): sum(r[0] is None for r in rows),
        ("not_null", "b c"): sum(r[1] is None for r in rows),
        ("unique", "a"): repeated([r[0] for r in rows if r[0] is not None]),
        ("unique", "b c, d"): repeated([(r[1], r[2]) for r in rows]),
        ("accepted_values", "d"): sum(r[2] is not None and r[2] not in (0, 1, 2) for r in rows),
        ("accepted_values", "b c"): sum(r[1] is not None and r[1] not in (3, 4) for r in rows),
    }
    assert failures == {k: n for k, n in expected.items() if n > 0}


def test_column_rules_with_no_rules_passes():
    con = table_t([(None, None, None)])
    assert con.execute(render_test("column_rules", model="t")).fetchall() == []
