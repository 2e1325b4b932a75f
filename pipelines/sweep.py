"""Reference implementation of the joint-inspection grouping sweep (docs/contract.md §3).

This is the *readable* definition. The warehouse runs the same rule set-based in
DuckDB (dbt macro ``sweep_groups`` in ``dbt_project/macros/sweep.sql``);
``tests/unit/test_sweep.py`` property-tests that SQL against this module.

Rule, per enterprise (``enterprise_id`` is the group key: a resolved entry's enterprise,
or the drawn USCC of an unresolved entry that carries a valid one — docs/contract.md §9;
unresolved entries without a USCC take no part):

* sort the entries by ``(window_start, window_end, agency, task_id)``;
* the first entry opens a group whose common window is its own window;
* the next entry joins the open group when its ``window_start`` is on or before
  the group's common-window end (the minimum ``window_end`` so far). Because
  entries come in start order, its start is the group's maximum start, so the
  common window ``[max start, min end]`` stays at least one day long (windows
  are inclusive dates);
* otherwise the open group is closed and the entry opens a new one.

Groups of two or more entries are joint inspections; a group of one entry is an
unmerged entry. Windows ending 03-31 and starting 04-01 do not merge (no common
day); two windows sharing a single day do.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Iterable


@dataclass(frozen=True)
class Entry:
    enterprise_id: str
    agency: str
    task_id: str
    window_start: date
    window_end: date

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.enterprise_id, self.agency, self.task_id)

    @property
    def sort_key(self) -> tuple:
        return (self.window_start, self.window_end, self.agency, self.task_id)


@dataclass(frozen=True)
class Group:
    enterprise_id: str
    group_no: int  # 1-based, in sweep order within the enterprise
    entries: tuple[Entry, ...]
    window_start: date  # common window: max start
    window_end: date  # common window: min end


def sweep(entries: Iterable[Entry]) -> list[Group]:
    """All groups (including single-entry ones), ordered by enterprise then group_no.

    Entries are identified by (enterprise_id, agency, task_id); that key must be unique.
    """
    by_enterprise: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        if e.window_end < e.window_start:
            raise ValueError(f"window_end before window_start: {e}")
        by_enterprise[e.enterprise_id].append(e)
    groups: list[Group] = []
    for enterprise_id in sorted(by_enterprise):
        ordered = sorted(by_enterprise[enterprise_id], key=lambda e: e.sort_key)
        current: list[Entry] = []
        common_start = common_end = None
        for e in ordered:
            if current and e.window_start <= common_end:
                current.append(e)
                common_start = max(common_start, e.window_start)
                common_end = min(common_end, e.window_end)
                continue
            if current:
                groups.append(Group(enterprise_id, len([g for g in groups if g.enterprise_id == enterprise_id]) + 1,
                                    tuple(current), common_start, common_end))
            current, common_start, common_end = [e], e.window_start, e.window_end
        if current:
            groups.append(Group(enterprise_id, len([g for g in groups if g.enterprise_id == enterprise_id]) + 1,
                                tuple(current), common_start, common_end))
    return groups


def joint_groups(entries: Iterable[Entry]) -> list[Group]:
    """Only the groups that become joint inspections (two or more entries)."""
    return [g for g in sweep(entries) if len(g.entries) >= 2]
