"""Inspection results (抽查检查结果) for the generated draw entries, and what they must become.

Written after the draw truth, from its current entries: one results file per agency
that drew, with results on time, late, missing (no row), corrected (a second version),
followed up on time and late, rectified and penalised, and two rows that must be
rejected (an enterprise the task did not draw, a result outside the ten categories).
Some inspections end on the days around the 2026 Spring Festival and National Day, so
the deadlines cross the holidays and their make-up working days.

The expected deadlines are counted here, in Python, day by day on
``chinese_calendar.is_workday`` — independently of the SQL that the pipeline counts
them with (macros/working_days.sql). Truth tables: ``results.parquet`` (the current
result of every entry that has one, with its deadlines, lateness and repair date) and
``missing_results.parquet``, each with the entry's window start and whether a problem was
found and followed up: what the two result figures of ``kpi`` count.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path

import chinese_calendar
import numpy as np
import pandas as pd

from .feeds import Landing, headers_for

RESULT_COLS = ["task_id", "uscc", "name", "inspected_on", "entered_on", "result", "follow_up", "follow_up_done_on",
               "follow_up_entered_on", "penalty_publicity_until", "rectified_on", "inspectors"]
DEADLINE = 20  # working days, the registry's default (config/agencies.yaml sets no other)

# code -> the ways offices write it (the policy's wording first)
WORDING = {
    "no_problem": ["未发现问题", "正常", "未发现明显问题"],
    "not_publicized": ["未按规定公示应当公示的信息", "未按规定公示"],
    "false_publicity": ["公示信息隐瞒真实情况、弄虚作假", "弄虚作假"],
    "unreachable": ["通过登记的住所（经营场所）无法联系", "无法联系"],
    "uncooperative": ["不配合检查情节严重", "不予配合"],
    "no_activity": ["未发现开展本次抽查涉及的经营活动", "未开展经营活动"],
    "ordered_to_stop": ["发现问题，依法责令停止", "责令停止"],
    "ordered_to_correct": ["发现问题，依法责令立即改正或者限期改正", "责令改正", "限期改正"],
    "pending_investigation": ["发现问题，待后续调查处理", "待后续处理"],
    "other": ["其他情况", "其他"],
}
CODES = list(WORDING)
WEIGHTS = np.array([60, 5, 2, 6, 2, 5, 3, 9, 4, 4], dtype=float)
PROBLEM = {"not_publicized", "false_publicity", "unreachable", "uncooperative", "ordered_to_stop", "ordered_to_correct",
           "pending_investigation"}
ORDERS = {"ordered_to_stop", "ordered_to_correct"}
HOLIDAY_EDGES = [date(2026, 2, 12), date(2026, 2, 13), date(2026, 2, 14), date(2026, 9, 28), date(2026, 9, 30),
                 date(2026, 10, 9)]
"""Inspection days next to the 2026 Spring Festival and National Day (a make-up Saturday among them)."""


@cache
def working_day_after(start: date, n: int) -> date | None:
    """The n-th working day after ``start``, the starting day not counted; None past the calendar's years."""
    day = start
    while n:
        day += timedelta(days=1)
        try:
            n -= chinese_calendar.is_workday(day)
        except NotImplementedError:
            return None
    return day


def _plus_months(day: date, months: int) -> date:
    """``day`` + ``months``, clamped to the month's last day (as DuckDB's date + interval)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _entries(draw_truth: pd.DataFrame) -> pd.DataFrame:
    """The current draw entries: one per (agency, task, enterprise — or the drawn USCC / name)."""
    d = draw_truth.loc[draw_truth["current"]].copy()
    d["entry"] = d["expected_enterprise_id"].fillna("uscc:" + d["uscc_drawn"].fillna("")).where(
        d["expected_enterprise_id"].notna() | d["uscc_drawn"].notna(), "name:" + d["name_drawn"].fillna(""))
    d = d.sort_values(["agency", "task_id", "entry", "source_file", "source_row"])
    return d.drop_duplicates(["agency", "task_id", "entry"]).reset_index(drop=True)


def write_results(land: Landing, draw_truth: pd.DataFrame, as_of: date, tdir: Path) -> dict:
    """Write one results file per agency with entries; the truth tables into ``tdir``; return counts."""
    rng = np.random.default_rng([int(as_of.toordinal()), 7])
    entries = _entries(draw_truth)
    truth, missing, files = [], [], {}
    for e in entries.itertuples(index=False):
        start, end = e.window_start, e.window_end
        entry_due_window, overdue_on = working_day_after(end, DEADLINE), working_day_after(end, DEADLINE + 1)
        roll = rng.random()
        if overdue_on is None:  # the deadline lies past the calendar: left without a result
            continue
        if roll < 0.08 or (overdue_on > as_of and roll < 0.5):
            if overdue_on <= as_of:  # more than DEADLINE working days after the window ended
                missing.append({"agency": e.agency, "task_id": e.task_id, "uscc": e.uscc_drawn, "name": e.name_drawn,
                                "enterprise_id": e.expected_enterprise_id, "window_start": start,
                                "entry_due_on": entry_due_window})
            continue
        span = max((min(end, as_of - timedelta(days=1)) - start).days, 0)
        inspected = start + timedelta(days=int(rng.integers(0, span + 1)))
        edges = [d for d in HOLIDAY_EDGES if start <= d <= end and d < as_of]
        if edges and rng.random() < 0.5:
            inspected = edges[int(rng.integers(0, len(edges)))]
        due = working_day_after(inspected, DEADLINE)
        late = rng.random() < 0.15
        entered = due + timedelta(days=int(rng.integers(1, 20))) if late else \
            inspected + timedelta(days=int(rng.integers(0, (due - inspected).days + 1)))
        if entered > as_of:
            entered = max(inspected, as_of)
        code = CODES[int(rng.choice(len(CODES), p=WEIGHTS / WEIGHTS.sum()))]
        row = {"task_id": e.task_id, "uscc": e.uscc_drawn, "name": None if e.uscc_drawn else e.name_drawn,
               "inspected_on": inspected, "entered_on": entered,
               "result": WORDING[code][int(rng.integers(0, len(WORDING[code])))],
               "follow_up": None, "follow_up_done_on": None, "follow_up_entered_on": None,
               "penalty_publicity_until": None, "rectified_on": None,
               "inspectors": f"闽执{int(rng.integers(10000, 99999))}、闽执{int(rng.integers(10000, 99999))}"}
        follow_due = publish_until = None
        follow_late = False
        if code in PROBLEM and rng.random() < 0.75:
            done = inspected + timedelta(days=int(rng.integers(5, 60)))
            if done < as_of:
                follow_due = working_day_after(done, DEADLINE)
                row["follow_up"] = "责令改正" if code in ORDERS else ("立案查处" if rng.random() < 0.5 else "移送")
                row["follow_up_done_on"] = done
                if rng.random() < 0.8:
                    row["follow_up_entered_on"] = done + timedelta(days=int(rng.integers(0, 40)))
                    follow_late = row["follow_up_entered_on"] > follow_due
                else:
                    follow_late = as_of > follow_due
                if row["follow_up"] == "立案查处":
                    row["penalty_publicity_until"] = done + timedelta(days=365 * 3)
                if code in ORDERS or row["follow_up"] == "责令改正":
                    if rng.random() < 0.7:
                        row["rectified_on"] = done
        if row["penalty_publicity_until"] is not None:
            publish_until = row["penalty_publicity_until"]
        elif (code in ORDERS or row["follow_up"] == "责令改正") and row["rectified_on"] is not None:
            publish_until = _plus_months(row["rectified_on"], 6)
        rows = files.setdefault(e.agency, [])
        if rng.random() < 0.06:  # an earlier version, corrected later: the later entered_on wins
            rows.append({**row, "entered_on": max(inspected, entered - timedelta(days=1)), "result": "其他情况"})
            if rows[-1]["entered_on"] == entered:
                rows.pop()
        rows.append(row)
        truth.append({"agency": e.agency, "task_id": e.task_id, "uscc": e.uscc_drawn, "name": e.name_drawn,
                      "enterprise_id": e.expected_enterprise_id, "result_code": code, "inspected_on": inspected,
                      "entered_on": entered, "entry_due_on": due, "entered_late": entered > due,
                      "follow_up_due_on": follow_due, "follow_up_late": follow_late, "publish_until": publish_until,
                      "window_start": start, "problem_found": code in PROBLEM,
                      "follow_up_done": row["follow_up_done_on"] is not None})
    rejected = 0
    for agency, rows in sorted(files.items()):
        reasons = [""] * len(rows)
        # a result for an enterprise the task did not draw, and a result outside the ten categories
        other = rows[0]
        rows.append({**other, "task_id": other["task_id"] + "-X"})
        rows.append({**other, "result": "检查完毕"})
        reasons += ["not_drawn", "unknown_result"]
        rejected += 2
        headers = headers_for("results", RESULT_COLS, "alias1", rng)
        columns = [[None if r[c] is None else (r[c].isoformat() if isinstance(r[c], date) else str(r[c])) for r in rows]
                   for c in RESULT_COLS]
        land.write(agency, "results", "抽查检查结果.csv", "csv", headers, columns, reasons=np.array(reasons, dtype=object),
                   note="results of the agency's draw entries (on time, late, corrected, followed up); two rejected rows")
    pd.DataFrame(truth).to_parquet(tdir / "results.parquet", index=False)
    pd.DataFrame(missing, columns=["agency", "task_id", "uscc", "name", "enterprise_id", "window_start",
                                   "entry_due_on"]).to_parquet(
        tdir / "missing_results.parquet", index=False)
    return {"results": len(truth), "results_late": int(sum(t["entered_late"] for t in truth)),
            "missing_results": len(missing), "results_rejected": rejected}
