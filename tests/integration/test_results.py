"""Results → inspection_results, publicity, missing_results, kpi and the quarantine, end to end.

Raw-store files (as ingestion leaves them) → dbt build → tables. One build (module
fixture) covers every case. The deadlines cross the 2026 Spring Festival (15–23
February off, Saturdays 14 and 28 February worked) and National Day (1–7 October off,
Saturday 10 October worked); the expected dates below were counted by hand on the
State Council's notices, not computed with the code under test.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from tests.leak_detector import scan_duckdb, scan_text
from tests.support import make_id_no, make_uscc, run_dbt, write_raw, warehouse_rows

SAMR, TAX = "samr-350102", "tax-350102"
AS_OF = "2026-11-30"
SELECT = "+inspection_results +publicity +missing_results +kpi +quarantine +ingest_log +enterprise_credit_grades"

USCC = {k: make_uscc(f"91350102MA2{k * 5}0") for k in "ABCDEFGH"}
NAME = {k: f"福州{k}商贸有限公司" for k in "ABCDEFGH"}
FORMER_G = "福州老G贸易行"
ID_NO = make_id_no("35010219800101123")


def result(enterprise, inspected_on, entered_on, result_text, task_id="T-1", **kw):
    return {"task_id": task_id, "uscc": USCC.get(enterprise), "name": NAME.get(enterprise),
            "inspected_on": inspected_on, "entered_on": entered_on, "result": result_text, **kw}


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    w = tmp_path_factory.mktemp("warehouse")
    write_raw(w, "registration", [
        {"uscc": USCC[k], "name": NAME[k], "status": "存续", "region_code": "350102", "updated_at": "2025-01-01"}
        for k in USCC
    ] + [{"uscc": USCC["G"], "name": FORMER_G, "status": "存续", "region_code": "350102", "updated_at": "2020-01-01"}],
        agency=SAMR, source_file=f"{SAMR}/registration/reg.csv")
    write_raw(w, "draw_list", [
        {"task_id": "T-1", "task_name": "2026年第一批", "uscc": USCC[k], "items": "公示信息",
         "window_start": "2026-01-05", "window_end": "2026-02-06"} for k in "ABCDEGH"
    ], agency=SAMR, source_file=f"{SAMR}/draw_list/t1.csv")
    write_raw(w, "draw_list", [
        {"task_id": "TX-1", "name": NAME["A"], "window_start": "2026-01-10", "window_end": "2026-02-10"},
    ], agency=TAX, source_file=f"{TAX}/draw_list/tx1.csv")
    write_raw(w, "results", [
        # due 2026-03-12 (20 working days after 6 February, across the Spring Festival): on time
        result("A", "2026-02-06", "2026-03-12", "未发现问题"),
        # entered the day after the due date: late; an order to correct, rectified, followed up
        # on time (due 2026-10-29 across National Day)
        result("B", "2026-02-06", "2026-03-13", "责令改正", follow_up="责令改正",
               follow_up_done_on="2026-09-25", follow_up_entered_on="2026-10-29", rectified_on="2026-09-25"),
        # two versions: the later entered_on wins
        result("C", "2026-02-06", "2026-02-10", "不予配合"),
        result("C", "2026-02-06", "2026-02-12", "其他"),
        # a penalty: published until its own publicity end; the follow-up's result never entered
        result("E", "2026-02-06", "2026-02-20", "发现问题，待后续调查处理", follow_up="立案查处",
               follow_up_done_on="2026-05-08", penalty_publicity_until="2029-01-01"),
        # a problem found and not handled (no follow-up)
        result("H", "2026-02-06", "2026-02-09", "通过登记的住所(经营场所)无法联系"),
        # named by its former name (曾用名) alone
        {**result("G", "2026-02-06", "2026-02-09", "未发现问题"), "uscc": None, "name": FORMER_G},
        # rejected: F was not drawn in T-1; T-404 is no task of samr
        result("F", "2026-02-06", "2026-02-09", "未发现问题"),
        result("A", "2026-02-06", "2026-02-09", "未发现问题", task_id="T-404"),
        # rejected: not a result category; a deadline in a year the calendar does not know;
        # an ID number where the certificate numbers belong
        result("D", "2026-02-06", "2026-02-09", "好得很"),
        result("D", "2026-12-20", "2026-12-21", "未发现问题"),
        result("D", "2026-02-06", "2026-02-09", "未发现问题", inspectors=f"闽执法001;{ID_NO}"),
    ], agency=SAMR, source_file=f"{SAMR}/results/results.csv")
    write_raw(w, "results", [
        {"task_id": "TX-1", "name": NAME["A"], "inspected_on": "2026-01-30", "entered_on": "2026-03-05",
         "result": "正常"},
    ], agency=TAX, source_file=f"{TAX}/results/tx.csv")
    run_dbt(w, AS_OF, "build", "--select", SELECT)
    return w


def query(wh, sql):
    return warehouse_rows(wh, sql)


@pytest.fixture(scope="module")
def results(wh):
    return {(r["agency"], r["uscc"]): r for r in query(wh, "select * from inspection_results")}


def test_deadlines_count_working_days_of_the_official_calendar(results):
    a, b = results[(SAMR, USCC["A"])], results[(SAMR, USCC["B"])]
    assert a["entry_due_on"] == date(2026, 3, 12) and a["entered_late"] is False
    assert b["entry_due_on"] == date(2026, 3, 12) and b["entered_late"] is True
    assert b["follow_up_due_on"] == date(2026, 10, 29) and b["follow_up_late"] is False
    # the tax bureau's result, matched by name: due 2026-03-05 after 30 January
    tax = results[(TAX, USCC["A"])]
    assert tax["entry_due_on"] == date(2026, 3, 5) and tax["result"] == "未发现问题"
    assert tax["joint_group_id"] is not None and tax["joint_group_id"] == a["joint_group_id"]


def test_a_follow_up_never_entered_is_late_once_its_deadline_passed(results):
    e = results[(SAMR, USCC["E"])]
    assert e["follow_up_due_on"] == date(2026, 6, 4) and e["follow_up_late"] is True


def test_the_latest_version_by_entered_on_wins(results):
    c = results[(SAMR, USCC["C"])]
    assert (c["result_code"], c["result"], c["version_count"]) == ("other", "其他情况", 2)


def test_a_result_naming_an_enterprise_by_its_former_name_finds_its_entry(results):
    g = results[(SAMR, USCC["G"])]
    assert (g["name"], g["result_code"], g["entered_late"]) == (NAME["G"], "no_problem", False)


def test_publish_until_follows_the_repair_rule(results):
    assert results[(SAMR, USCC["B"])]["publish_until"] == date(2027, 3, 25)  # rectified + 6 months
    assert results[(SAMR, USCC["E"])]["publish_until"] == date(2029, 1, 1)  # the penalty's publicity end
    assert results[(SAMR, USCC["A"])]["publish_until"] is None


def test_publicity_is_the_export_without_internal_columns(wh):
    rows = query(wh, "select * from publicity order by agency, uscc")
    assert len(rows) == 7
    assert set(rows[0]) == {"enterprise_id", "uscc", "name", "agency", "agency_name", "task_id", "task_name", "items", "result",
                            "inspected_on", "rectified_on", "publish_until"}
    b = next(r for r in rows if r["uscc"] == USCC["B"])
    assert b["result"] == "发现问题，依法责令立即改正或者限期改正" and b["agency_name"] == "福州市鼓楼区市场监督管理局"


def test_an_entry_without_a_result_past_its_deadline_is_missing(wh):
    rows = query(wh, "select agency, task_id, uscc, entry_due_on from missing_results")
    assert rows == [{"agency": SAMR, "task_id": "T-1", "uscc": USCC["D"], "entry_due_on": date(2026, 3, 12)}]


def test_rejected_results_are_quarantined_with_their_reason(wh):
    rows = query(wh, "select source_row, reason_codes, reason, raw from quarantine where feed = 'results' "
                     "order by source_row")
    codes = {r["source_row"]: r["reason_codes"] for r in rows}
    assert codes == {8: ["not_drawn"], 9: ["not_drawn"], 10: ["unknown_result"], 11: ["outside_calendar"],
                     12: ["personal_id_in_value"]}
    reasons = {r["source_row"]: r["reason"] for r in rows}
    assert "not drawn in task 'T-1'" in reasons[8] and "'T-404' is not a task of samr-350102" in reasons[9]
    assert "chinesecalendar" in reasons[11]
    assert not scan_text("quarantine", " ".join(f"{r['reason']} {r['raw']}" for r in rows))
    log = query(wh, f"select rows_accepted, rows_quarantined from ingest_log where path = '{SAMR}/results/results.csv'")
    assert log == [{"rows_accepted": 7, "rows_quarantined": 5}]


def test_kpi_figures_have_their_numerators_and_denominators(wh):
    rows = query(wh, f"select figure, numerator, denominator, value from kpi where agency = '{SAMR}' and year = 2026")
    got = {r["figure"]: (r["numerator"], r["denominator"]) for r in rows}
    assert got == {
        "抽查经营主体比例": (7, 8),      # A B C D E G H of the 8 active enterprises of 350102
        "抽查事项覆盖率": (0, 0),        # samr has no item list here
        "部门联合监管率": (1, 7),        # A, jointly with the tax bureau
        "信用规则关联应用率": (0, 1),    # a dropped list: no credit-grade draw to show
        "检查结果按时公示率": (5, 7),    # A C E G H on time; B late; D missing
        "发现问题处置率": (2, 3),        # B and E followed up, H not
    }
    assert next(r["value"] for r in rows if r["figure"] == "发现问题处置率") == pytest.approx(2 / 3)


def test_no_personal_id_number_anywhere_in_the_warehouse(wh):
    assert scan_duckdb(wh / "ssj.duckdb") == []


def test_the_report_shows_the_figures_the_deadlines_by_month_and_the_repair_calendar(wh):
    from pipelines.report import results_sections

    con = duckdb.connect(str(wh / "ssj.duckdb"), read_only=True)
    try:
        page = "".join(results_sections(con))
    finally:
        con.close()
    assert "71.4% (5/7)" in page  # samr-350102's 检查结果按时公示率
    # every deadline falls in March 2026: on time samr's A C E G H and the tax bureau's A; B late, D missing
    assert "<td>2026-03</td><td>6</td><td>2</td><td>75.0</td>" in page
    assert "2027-03" in page and "2029-01" in page and "无截止 no end" in page  # B's and E's repair dates
