"""The official working-day calendar, written into the raw store for dbt.

Deadlines for results are counted in working days (docs/contract.md §7): the
weekend and the public holidays are not working days, and the weekend days the
State Council's annual notice makes working days (调休) are. The days come from
the maintained ``chinesecalendar`` package, never from a rule of our own; it
covers the years it has a notice for, and a date outside them has no working-day
number, so a deadline that would need it is refused (the row is quarantined with
``outside_calendar``), never guessed. Upgrading the package changes the rules
fingerprint (pipelines/defs/dbt/build_state.py): the next run rebuilds in full and
lets such rows through.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path

import chinese_calendar
import pyarrow as pa
import pyarrow.parquet as pq
from chinese_calendar import constants

from .raw_store import _temp_beside, raw_dir, replace_atomically


def covered_years() -> tuple[int, int]:
    """The first and last year the installed calendar has the State Council's notice for."""
    years = {d.year for d in constants.holidays}
    return min(years), max(years)


CALENDAR_ID = "chinesecalendar {} ({}–{})".format(version("chinesecalendar"), *covered_years())
"""Which calendar decides the deadlines: named in refusals and part of the rules fingerprint."""


def calendar_table() -> pa.Table:
    """One row per day of the covered years: ``day`` and ``is_working_day``."""
    first, last = covered_years()
    day, end = date(first, 1, 1), date(last, 12, 31)
    days: list[date] = []
    while day <= end:
        days.append(day)
        day += timedelta(days=1)
    return pa.table({"day": pa.array(days, pa.date32()),
                     "is_working_day": pa.array([chinese_calendar.is_workday(d) for d in days], pa.bool_())})


def calendar_file(warehouse: Path) -> Path:
    return raw_dir(warehouse) / "_calendar" / "working_days.parquet"


def write_calendar(warehouse: Path) -> Path:
    """Write the calendar for dbt (source ``raw.calendar``), unless the same calendar is there."""
    final = calendar_file(warehouse)
    if final.exists() and pq.read_metadata(final).metadata.get(b"calendar", b"").decode() == CALENDAR_ID:
        return final
    table = calendar_table().replace_schema_metadata({"calendar": CALENDAR_ID})
    tmp = _temp_beside(final)
    pq.write_table(table, tmp)
    replace_atomically(tmp, final)
    return final
