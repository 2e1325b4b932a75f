"""A data steward's loop (docs/contract.md §9, docs/matching.md "The steward's loop"), landing file to published row.

The first `ssj run` leaves two enterprises carrying one name unresolved: a draw-list row and a
licence naming it wait in match_review with both as candidates. The steward writes links rows
from those review rows (one more to an enterprise the pool does not hold, one for a task that
does not exist); the second `ssj run` (a full build: a links file is a pool input) decides the
draw row and the licence (match_method / link_method steward, flag steward_link), they leave
the queue, the bad link is quarantined and the link naming no row is reported (stale_link).
Then the agency redraws the task without that enterprise: the third run (a draws build)
reports the link that decided it as stale.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.support import make_id_no, make_uscc, run_ssj, write_csv

pytestmark = pytest.mark.slow

AS_OF = "2026-06-30"
SAMR, SAMR_NAME = "samr-350102", "福州市鼓楼区市场监督管理局"

USCC_A = make_uscc("91350102MA2LNKAA0")  # 福州同名贸易 on 五四路
USCC_B = make_uscc("91350102MA2LNKBB0")  # 福州同名贸易 on 古田路
USCC_C = make_uscc("91350102MA2LNKCC0")  # 福州清楚食品, matched by its USCC
USCC_X = make_uscc("91350102MA2LNKXX0")  # valid, registered nowhere
SHARED = "福州同名贸易有限公司"
NAME_C = "福州清楚食品有限公司"
LICENCE = "JY13501020000777"
ID_NO = make_id_no("35010219900307123")  # a person's ID number, typed into a note

REG_HEADER = ["统一社会信用代码", "企业名称", "住所", "行政区划代码", "登记状态", "更新时间"]
LIC_HEADER = ["许可证类型", "许可证编号", "统一社会信用代码", "企业名称", "有效期起", "有效期至", "许可状态"]
DRAW_HEADER = ["任务编号", "任务名称", "统一社会信用代码", "企业名称", "地址", "检查事项", "开始日期", "结束日期"]
LINK_HEADER = ["数据类型", "部门", "任务编号", "企业名称", "统一社会信用代码", "确认主体", "确认人", "确认日期", "备注"]


def published(warehouse: Path, table: str) -> list[dict]:
    rel = duckdb.sql(f"select * from read_parquet('{warehouse}/published/{table}.parquet')")
    return [dict(zip(rel.columns, r)) for r in rel.fetchall()]


def review(rows: list[dict], feed: str, key: str) -> list[dict]:
    return [r for r in rows if r["feed"] == feed and r["source_key"] == key]


def run(landing: Path, warehouse: Path) -> None:
    proc = run_ssj(landing, warehouse, as_of=AS_OF)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def link_row(review_row: dict, enterprise_id: str, note: str) -> list[str]:
    """A links row written from a match_review row: its key as shown, the steward's decision."""
    return [review_row["feed"], review_row["agency"], review_row["source_key"], review_row["name"] or "",
            review_row["uscc"] or "", enterprise_id, "王审核", "2026-06-20", note]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("links")
    landing, warehouse = root / "landing", root / "wh"
    write_csv(landing / SAMR / "registration" / "reg.csv", REG_HEADER, [
        [USCC_A, SHARED, "福州市鼓楼区五四路1号", "350102", "存续", "2025-01-01"],
        [USCC_B, SHARED, "福州市鼓楼区古田路3号", "350102", "存续", "2025-01-01"],
        [USCC_C, NAME_C, "福州市鼓楼区杨桥中路2号", "350102", "存续", "2025-01-01"],
    ], mtime=1_700_000_000)
    write_csv(landing / SAMR / "approval" / "licences.csv", LIC_HEADER, [
        ["食品经营许可证", LICENCE, "", SHARED, "2025-01-01", "2029-12-31", "有效"],
    ], mtime=1_700_000_100)
    draws = landing / SAMR / "draw_list"
    write_csv(draws / "l1.csv", DRAW_HEADER, [
        ["L-1", "2026年抽查", "", SHARED, "", "检查", "2026-06-01", "2026-06-30"],
        ["L-1", "2026年抽查", USCC_C, NAME_C, "", "检查", "2026-06-01", "2026-06-30"],
    ], mtime=1_700_000_200)

    run(landing, warehouse)
    first = {t: published(warehouse, t) for t in ("match_review", "draw_entries", "enterprise_pool")}

    # the steward decides from the queue: the draw row is 五四路's enterprise, the licence 古田路's
    [draw_review] = review(first["match_review"], "draw_list", "L-1")
    [lic_review] = review(first["match_review"], "approval", LICENCE)
    write_csv(landing / SAMR / "links" / "decisions.csv", LINK_HEADER, [
        link_row(draw_review, USCC_A, "电话核实"),
        # the agency written as its registry name
        [*link_row(lic_review, USCC_B, "现场核实")[:1], SAMR_NAME, *link_row(lic_review, USCC_B, "现场核实")[2:]],
        ["draw_list", SAMR, "L-1", NAME_C, "", USCC_X, "王审核", "2026-06-20", "not in the pool"],
        ["抽取名单", SAMR, "L-9", "福州无此任务有限公司", "", USCC_C, "王审核", "2026-06-20", "no such task"],
        # row rules
        ["登记", SAMR, "L-1", SHARED, "", USCC_A, "王审核", "2026-06-20", "not a feed a link decides"],
        ["draw_list", "samr-350199", "L-1", SHARED, "", USCC_A, "王审核", "2026-06-20", "no such agency"],
        ["draw_list", SAMR, "L-1", SHARED, "", USCC_B, "王审核", "2026-06-21", f"联系人身份证{ID_NO}"],
    ], mtime=1_700_000_300)
    run(landing, warehouse)
    second = {t: published(warehouse, t) for t in ("match_review", "draw_entries", "enterprise_pool", "quarantine",
                                                   "ingest_log")}
    with duckdb.connect(str(warehouse / "ssj.duckdb"), read_only=True) as con:
        rel = con.sql(f"select enterprise_id, link_method, link_flags from int_licence__linked where licence_no = '{LICENCE}'")
        second["licence"] = rel.fetchall()

    # a redraw of L-1 without the enterprise the link decided: a draws build, the link is stale
    write_csv(draws / "l1_redraw.csv", DRAW_HEADER, [
        ["L-1", "2026年抽查", USCC_C, NAME_C, "", "检查", "2026-06-01", "2026-06-30"],
    ], mtime=1_700_000_400)
    third_proc = run_ssj(landing, warehouse, as_of=AS_OF)
    assert third_proc.returncode == 0, third_proc.stdout[-3000:] + third_proc.stderr[-3000:]
    third = {"proc": third_proc, "match_review": published(warehouse, "match_review"),
             "draw_entries": published(warehouse, "draw_entries")}
    return {"first": first, "second": second, "third": third}


def test_an_ambiguous_row_waits_in_match_review_with_its_candidates(runs):
    rows = runs["first"]["match_review"]
    [d] = review(rows, "draw_list", "L-1")
    assert (d["agency"], d["name"], d["uscc"], d["reasons"]) == (SAMR, SHARED, None, ["ambiguous_name"])
    assert d["match_method"] == "none" and d["enterprise_id"] is None
    assert d["candidates"] == [
        {"enterprise_id": USCC_A, "name": SHARED, "address": "福州市鼓楼区五四路1号", "why": "carries the name"},
        {"enterprise_id": USCC_B, "name": SHARED, "address": "福州市鼓楼区古田路3号", "why": "carries the name"},
    ]
    [lic] = review(rows, "approval", LICENCE)
    assert lic["reasons"] == ["ambiguous_name"] and [c["enterprise_id"] for c in lic["candidates"]] == [USCC_A, USCC_B]
    # the row matched by its USCC needs nobody
    assert len(rows) == 2
    [e] = [e for e in runs["first"]["draw_entries"] if e["name"] == SHARED]
    assert (e["enterprise_id"], e["match_method"], e["flags"]) == (None, "none", ["ambiguous_name"])


def test_a_link_written_from_the_review_row_resolves_it_and_it_leaves_the_queue(runs):
    [e] = [e for e in runs["second"]["draw_entries"] if e["task_id"] == "L-1" and e["name"] == SHARED]
    assert (e["enterprise_id"], e["match_method"], e["flags"]) == (USCC_A, "steward", ["steward_link"])
    [c] = [e for e in runs["second"]["draw_entries"] if e["task_id"] == "L-1" and e["uscc"] == USCC_C]
    assert (c["match_method"], c["flags"]) == ("uscc", [])  # a link to USCC_X was quarantined: no effect
    assert review(runs["second"]["match_review"], "draw_list", "L-1") == []


def test_a_licence_decided_by_a_link(runs):
    assert runs["second"]["licence"] == [(USCC_B, "steward", ["steward_link"])]
    assert review(runs["second"]["match_review"], "approval", LICENCE) == []
    pool = {r["enterprise_id"]: r for r in runs["second"]["enterprise_pool"]}
    assert (pool[USCC_A]["licence_count"], pool[USCC_B]["licence_count"]) == (0, 1)


def test_a_link_to_an_enterprise_not_in_the_pool_is_quarantined(runs):
    quarantined = {q["source_row"]: q for q in runs["second"]["quarantine"] if q["feed"] == "links"}
    q = quarantined[3]
    assert q["reason_codes"] == ["enterprise_not_in_pool"]
    assert "is not an enterprise of the pool" in q["reason"]
    raw = json.loads(q["raw"])
    assert (raw["target_feed"], raw["source_key"], raw["name"]) == ("draw_list", "L-1", NAME_C)
    assert raw["decided_by"] == "***"  # a steward's name is personal data (masked whole)
    [log] = [r for r in runs["second"]["ingest_log"] if r["feed"] == "links"]
    assert (log["status"], log["rows_read"], log["rows_accepted"], log["rows_quarantined"]) == ("ingested", 7, 3, 4)


def test_row_rules_quarantine_a_bad_links_row_and_it_decides_nothing(runs):
    quarantined = {q["source_row"]: q for q in runs["second"]["quarantine"] if q["feed"] == "links"}
    assert quarantined[5]["reason_codes"] == ["invalid_target_feed"]
    assert quarantined[6]["reason_codes"] == ["unknown_agency"]
    # a later decision (USCC_B, 2026-06-21) with a personal ID number in its note: quarantined, never
    # shown, and the earlier decision (USCC_A) stays in force
    assert quarantined[7]["reason_codes"] == ["personal_id_in_value"]
    assert ID_NO not in json.dumps(runs["second"]["quarantine"], ensure_ascii=False, default=str)
    [e] = [e for e in runs["second"]["draw_entries"] if e["task_id"] == "L-1" and e["name"] == SHARED]
    assert e["enterprise_id"] == USCC_A


def test_a_link_that_names_no_row_is_reported_stale(runs):
    [s] = review(runs["second"]["match_review"], "draw_list", "L-9")
    assert (s["agency"], s["name"], s["reasons"], s["enterprise_id"]) == (SAMR, "福州无此任务有限公司", ["stale_link"], USCC_C)
    assert s["candidates"] == [{"enterprise_id": USCC_C, "name": NAME_C, "address": "福州市鼓楼区杨桥中路2号",
                                "why": "decided by the link"}]
    assert s["source_file"].endswith("decisions.csv") and s["source_row"] == 4
    assert len(runs["second"]["match_review"]) == 1


def test_a_redraw_without_the_linked_row_makes_its_link_stale_in_a_draws_build(runs):
    third = runs["third"]
    assert "build: draws" in third["proc"].stdout + third["proc"].stderr
    [s] = review(third["match_review"], "draw_list", "L-1")
    assert (s["name"], s["reasons"], s["enterprise_id"]) == (SHARED, ["stale_link"], USCC_A)
    assert {r["source_key"] for r in third["match_review"]} == {"L-1", "L-9"}
    assert [(e["uscc"], e["match_method"]) for e in third["draw_entries"] if e["task_id"] == "L-1"] == [(USCC_C, "uscc")]
