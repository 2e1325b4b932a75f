"""The "latest version wins" rule (docs/contract.md §2) in its two forms (dbt_project/macros/
staging_helpers.sql): the window's ORDER BY and the aggregate's arg_max value pick
the same row of every key, whatever the dates, file times, names and rows."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

import duckdb
import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import DBT_DIR


@cache
def macros():
    return jinja2.Environment().from_string((DBT_DIR / "macros" / "staging_helpers.sql").read_text("utf-8")).module


version = st.tuples(
    st.integers(0, 3),                                                                        # key
    st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2020, 1, 4))),                      # updated_at
    st.one_of(st.none(), st.datetimes(datetime(2020, 1, 1), datetime(2020, 1, 1, 0, 0, 3))),  # file_mtime
    st.sampled_from(["a.csv", "b.csv", "登记.csv"]),                                            # source_file
    st.integers(1, 4),                                                                        # source_row
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.lists(version, max_size=40, unique_by=lambda v: (v[3], v[4])))
def test_the_window_and_the_aggregate_pick_the_same_latest_row(rows):
    con = duckdb.connect()
    con.execute("create table v (k integer, updated_at date, file_mtime timestamp, source_file varchar, "
                "source_row integer)")
    if rows:
        con.executemany("insert into v values (?, ?, ?, ?, ?)", rows)
    by_window = con.execute(f"""
        select k, source_file, source_row from (
            select *, row_number() over (partition by k order by {macros().latest_first('updated_at')}) as n from v)
        where n = 1 order by k""").fetchall()
    by_aggregate = con.execute(f"""
        select k, latest.source_file, latest.source_row from (
            select k, arg_max({{'source_file': source_file, 'source_row': source_row}},
                              {macros().latest_version('updated_at')}) as latest
            from v group by k)
        order by k""").fetchall()
    assert by_aggregate == by_window
