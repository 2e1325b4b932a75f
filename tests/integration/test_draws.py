"""Draw lists → draw_entries, joint_inspections, agency_overlap, merge_summary, end to end.

Raw-store files (write_raw, as ingestion leaves them) → dbt build of the draw
models and everything upstream (staging, enterprise_pool) → DuckDB tables.
One build (module fixture) covers every case; each test reads its part.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime

import duckdb
import pytest

from tests.support import make_reg_no, make_uscc, run_dbt, write_raw

SELECT = "+draw_entries +joint_inspections +agency_overlap +merge_summary +quarantine"

SAMR, TAX, ECO, YJJ, WJW = "samr-350102", "tax-350102", "eco-350100", "yjj-350100", "wjw-350100"

USCC_A = make_uscc("91350102MA2AAAAA0")
USCC_B = make_uscc("91350102MA2BBBBB0")
USCC_C = make_uscc("91350102MA2CCCCC0")
USCC_D1 = make_uscc("91350102MA2DDDD10")
USCC_D2 = make_uscc("91350103MA2DDDD20")
USCC_F = make_uscc("91350102MA2FFFFF0")
USCC_I = make_uscc("91350102MA2KKKKK0")
USCC_NOWHERE = make_uscc("91350102MA2WWWWW0")
REG_G = make_reg_no("35010260000001")
NAME_A = "福州甲(中国)食品有限公司"
NAME_D = "福州丁餐饮有限公司"
ADDR_D2 = "福州市台江区江滨路8号"


def row(task_id, window_start, window_end, **kw):
    return {"task_id": task_id, "window_start": window_start, "window_end": window_end, **kw}


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    w = tmp_path_factory.mktemp("warehouse")
    write_raw(w, "registration", [
        {"uscc": USCC_A, "name": NAME_A, "address": "福州市鼓楼区五四路1号", "status": "存续"},
        {"uscc": USCC_B, "name": "福州乙贸易有限公司", "status": "存续"},
        {"uscc": USCC_C, "name": "福州丙商行", "status": "存续"},
        {"uscc": USCC_D1, "name": NAME_D, "address": "福州市鼓楼区杨桥路2号", "status": "存续"},
        {"uscc": USCC_D2, "name": "福州丁餐饮有限责任公司", "address": ADDR_D2, "status": "存续"},
        {"uscc": USCC_F, "name": "福州己物流有限公司", "status": "在营"},
        {"uscc": USCC_I, "name": "福州戊科技有限公司", "status": "注销"},
        {"reg_no": REG_G, "name": "福州庚小吃店", "status": "存续"},
    ], agency=SAMR, source_file=f"{SAMR}/registration/reg.csv")

    # samr: A by USCC (twice: duplicate rows collapse, items union), B, C, D1 by USCC
    write_raw(w, "draw_list", [
        row("T-1", "2026-06-01", "2026-06-30", uscc=USCC_A, items="公示信息", task_name="2026年第一批"),
        row("T-1", "2026-06-01", "2026-06-30", name="福州甲（中国）食品有限公司", items="经营行为、公示信息"),
        row("T-1", "2026-06-01", "2026-06-30", uscc=USCC_B),
        row("T-1", "2026-06-01", "2026-06-30", uscc=USCC_C),
        row("T-1", "2026-06-01", "2026-06-30", uscc=USCC_D1),
    ], agency=SAMR, source_file=f"{SAMR}/draw_list/t1.csv")
    # samr T-2: B again (internal), F (joint with eco's redrawn ECO-2), G by name (joint with tax by reg_no)
    write_raw(w, "draw_list", [
        row("T-2", "2026-06-10", "2026-07-10", uscc=USCC_B, items="产品质量"),
        row("T-2", "2026-06-10", "2026-07-10", uscc=USCC_F),
        row("T-2", "2026-06-10", "2026-07-10", name="福州庚小吃店"),
    ], agency=SAMR, source_file=f"{SAMR}/draw_list/t2.csv")
    # samr drops a list in the tax bureau's name: quarantined (agency_mismatch), never an entry
    write_raw(w, "draw_list", [
        row("T-9", "2026-06-01", "2026-06-30", uscc=USCC_C, agency="国家税务总局福州市鼓楼区税务局"),
    ], agency=SAMR, source_file=f"{SAMR}/draw_list/for_tax.csv")

    # tax: A by name only (half-width brackets), I (inactive), G by 注册号 (extra column), one not in the pool
    write_raw(w, "draw_list", [
        row("TX-1", "2026-06-15", "2026-07-15", name=NAME_A, items="发票"),
        row("TX-1", "2026-06-10", "2026-06-20", uscc=USCC_I),
        row("TX-1", "2026-06-15", "2026-07-15", name="福州庚小吃店(老字号)", **{"注册号": REG_G}),
        row("TX-1", "2026-06-15", "2026-07-15", name="不存在的商贸有限公司"),
        row("TX-1", "2026-06-15", "2026-07-15", uscc=USCC_NOWHERE, name="福州乙贸易有限公司"),
    ], agency=TAX, source_file=f"{TAX}/draw_list/tx1.csv")

    # eco: A by a name with full-width brackets; ECO-2 redrawn: v1 drew B, v2 (later mtime,
    # earlier file name) draws F instead — v1's rows are gone in full
    write_raw(w, "draw_list", [
        row("ECO-1", "2026-06-20", "2026-06-25", name="福州甲（中国）食品有限公司", items="排污"),
    ], agency=ECO, source_file=f"{ECO}/draw_list/eco1.csv")
    write_raw(w, "draw_list", [
        row("ECO-2", "2026-06-01", "2026-06-30", uscc=USCC_B),
    ], agency=ECO, source_file=f"{ECO}/draw_list/z-eco2-v1.csv", mtime=datetime(2026, 1, 5))
    write_raw(w, "draw_list", [
        row("ECO-2", "2026-06-20", "2026-06-21", uscc=USCC_F),
    ], agency=ECO, source_file=f"{ECO}/draw_list/a-eco2-v2.csv", mtime=datetime(2026, 2, 1))

    # yjj: C in an adjacent window (samr's ends 06-30, this starts 07-01), I (inactive)
    write_raw(w, "draw_list", [
        row("YJ-1", "2026-07-01", "2026-07-31", uscc=USCC_C),
        row("YJ-1", "2026-06-01", "2026-06-30", uscc=USCC_I),
    ], agency=YJJ, source_file=f"{YJJ}/draw_list/yj1.csv")

    # wjw: the name two enterprises share (ambiguous, never merged, though D1 is drawn
    # by samr in the same window); the same name + D2's address resolves (name_address)
    write_raw(w, "draw_list", [
        row("WJ-1", "2026-06-01", "2026-06-30", name=NAME_D),
    ], agency=WJW, source_file=f"{WJW}/draw_list/wj1.csv")
    write_raw(w, "draw_list", [
        row("WJ-2", "2026-06-01", "2026-06-30", name="福州丁餐饮有限公司", address="福建省福州市台江区江滨路8号"),
    ], agency=WJW, source_file=f"{WJW}/draw_list/wj2.csv")

    target = w / "_dbt_target"
    run_dbt(w, "2026-06-30", "build", "--select", SELECT, "--indirect-selection", "cautious", "--target-path", str(target))
    return w


@pytest.fixture(scope="module")
def db(wh):
    con = duckdb.connect(str(wh / "ssj.duckdb"), read_only=True)
    yield con
    con.close()


def entries(con, **where):
    sql = "select * from draw_entries"
    if where:
        sql += " where " + " and ".join(f"{k} = ?" for k in where)
    cur = con.execute(sql, list(where.values()))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def groups(con):
    cur = con.execute("select * from joint_inspections")
    cols = [d[0] for d in cur.description]
    return {r[cols.index("enterprise_id")]: dict(zip(cols, r)) for r in cur.fetchall()}


def test_three_agencies_same_enterprise_by_uscc_name_and_fullwidth_name(db):
    g = groups(db)[USCC_A]
    assert g["kind"] == "joint"
    assert g["agencies"] == [ECO, SAMR, TAX]
    assert g["task_keys"] == [f"{ECO}:ECO-1", f"{SAMR}:T-1", f"{TAX}:TX-1"]
    assert g["agency_count"] == 3
    assert (g["window_start"], g["window_end"]) == (date(2026, 6, 20), date(2026, 6, 25))
    assert g["lead_agency"] == SAMR  # priority 10 < eco 30 < tax 40
    assert g["items"] == sorted(["公示信息", "经营行为", "发票", "排污"])
    assert g["uscc"] == USCC_A and g["name"] == NAME_A
    methods = {e["agency"]: e["match_method"] for e in entries(db, enterprise_id=USCC_A)}
    assert methods == {SAMR: "uscc", TAX: "name", ECO: "name"}


def test_duplicate_rows_of_one_task_collapse(db):
    [e] = entries(db, agency=SAMR, task_id="T-1", enterprise_id=USCC_A)
    assert e["row_count"] == 2 and e["source_rows"] == [1, 2] and e["source_row"] == 1
    assert e["items"] == sorted(["公示信息", "经营行为"])
    assert e["match_method"] == "uscc"
    assert e["task_name"] == "2026年第一批"


def test_redrawn_task_replaces_earlier_version(db):
    eco2 = entries(db, agency=ECO, task_id="ECO-2")
    assert [e["enterprise_id"] for e in eco2] == [USCC_F]
    assert eco2[0]["source_file"] == f"{ECO}/draw_list/a-eco2-v2.csv"
    g = groups(db)
    assert g[USCC_F]["task_keys"] == [f"{ECO}:ECO-2", f"{SAMR}:T-2"]
    assert (g[USCC_F]["window_start"], g[USCC_F]["window_end"]) == (date(2026, 6, 20), date(2026, 6, 21))


def test_one_agency_two_tasks_is_internal(db):
    g = groups(db)[USCC_B]
    assert g["kind"] == "internal"
    assert g["agencies"] == [SAMR] and g["agency_count"] == 1
    assert g["task_keys"] == [f"{SAMR}:T-1", f"{SAMR}:T-2"]
    assert (g["window_start"], g["window_end"]) == (date(2026, 6, 10), date(2026, 6, 30))


def test_adjacent_windows_not_merged(db):
    assert USCC_C not in groups(db)
    assert {e["joint_group_id"] for e in entries(db, enterprise_id=USCC_C)} == {None}
    assert len(entries(db, enterprise_id=USCC_C)) == 2


def test_agency_mismatch_row_is_not_an_entry(db):
    assert entries(db, task_id="T-9") == []
    q = db.execute("select reason_codes from quarantine where feed = 'draw_list'").fetchall()
    assert (["agency_mismatch"],) in q


def test_ambiguous_name_is_flagged_and_never_merged(db):
    [e] = entries(db, agency=WJW, task_id="WJ-1")
    assert e["enterprise_id"] is None and e["match_method"] == "none"
    assert e["flags"] == ["ambiguous_name"]
    assert e["joint_group_id"] is None
    assert USCC_D1 not in groups(db)


def test_name_and_address_resolves_a_shared_name(db):
    [e] = entries(db, agency=WJW, task_id="WJ-2")
    assert e["enterprise_id"] == USCC_D2 and e["match_method"] == "name_address"
    assert e["flags"] == []


def test_inactive_enterprise_flagged_and_still_grouped(db):
    es = entries(db, enterprise_id=USCC_I)
    assert {e["agency"] for e in es} == {TAX, YJJ}
    assert all(e["flags"] == ["inactive_enterprise"] for e in es)
    g = groups(db)[USCC_I]
    assert g["kind"] == "joint" and g["lead_agency"] == YJJ  # 30 < tax 40
    assert g["enterprise_is_active"] is False


def test_not_in_pool_flagged(db):
    [e] = [e for e in entries(db, agency=TAX) if e["name"] == "不存在的商贸有限公司"]
    assert e["enterprise_id"] is None and e["match_method"] == "none" and e["flags"] == ["not_in_pool"]


def test_uscc_not_in_pool_never_falls_back_to_another_enterprises_name(db):
    [e] = [e for e in entries(db, agency=TAX) if e["uscc"] == USCC_NOWHERE]
    assert e["enterprise_id"] is None and e["flags"] == ["not_in_pool"]


def test_reg_no_and_name_resolution(db):
    es = {e["agency"]: e for e in entries(db, enterprise_id="R" + REG_G)}
    assert es[TAX]["match_method"] == "reg_no"
    assert es[SAMR]["match_method"] == "name"
    assert groups(db)["R" + REG_G]["task_keys"] == [f"{SAMR}:T-2", f"{TAX}:TX-1"]


def test_joint_group_ids_are_stable_hashes_of_membership(db):
    import hashlib

    for g in groups(db).values():
        body = g["enterprise_id"] + "|" + ",".join(g["task_keys"])
        assert g["joint_group_id"] == "JG-" + hashlib.sha256(body.encode()).hexdigest()[:16]
    linked = db.execute("""select count(*) from draw_entries d
                           left join joint_inspections j using (joint_group_id)
                           where d.joint_group_id is not null and j.joint_group_id is null""").fetchone()[0]
    assert linked == 0


def test_agency_overlap_and_merge_summary(db):
    overlap = {(a, b): n for a, b, n in db.execute(
        "select agency_a, agency_b, shared_enterprises from agency_overlap").fetchall()}
    assert overlap[(ECO, SAMR)] == 2  # A and F
    assert overlap[(SAMR, TAX)] == 2  # A and G
    assert overlap[(ECO, TAX)] == 1  # A
    assert overlap[(TAX, YJJ)] == 1  # I
    assert (SAMR, SAMR) not in overlap
    summary = {r[0]: r[1:] for r in db.execute(
        "select scope, entries, groups, merged_entries, unmerged_entries, inspections_saved from merge_summary").fetchall()}
    n_entries = db.execute("select count(*) from draw_entries").fetchone()[0]
    g = groups(db)
    merged = sum(x["entry_count"] for x in g.values())
    assert summary["all"] == (n_entries, len(g), merged, n_entries - merged, n_entries - (len(g) + n_entries - merged))
    assert summary["joint"][1] + summary["internal"][1] == len(g)
    assert summary["internal"] == (2, 1, 2, 0, 1)
    assert summary["joint"][4] + summary["internal"][4] == summary["all"][4]


def test_rebuild_with_files_in_another_order_gives_identical_rows(db, wh, tmp_path):
    """Same inputs → identical rows and IDs, whatever order the files were written in."""
    w2 = tmp_path / "w2"
    shutil.copytree(wh / "raw", w2 / "raw")
    # the raw files' names only decide the glob's read order: rename them in another order
    files = sorted((w2 / "raw" / "draw_list").glob("[0-9a-f]*.parquet"), reverse=True)
    for i, f in enumerate(files):
        f.rename(f.with_name(f"{i:02d}-{f.name}"))
    run_dbt(w2, "2026-06-30", "build", "--select", SELECT, "--indirect-selection", "cautious", "--exclude", "test_type:data",
            "--target-path", str(w2 / "_dbt_target"))
    con2 = duckdb.connect(str(w2 / "ssj.duckdb"), read_only=True)
    try:
        for table, order in [("joint_inspections", "joint_group_id"), ("draw_entries", "agency, task_id, source_row")]:
            a = db.execute(f"select * from {table} order by {order}").fetchall()
            b = con2.execute(f"select * from {table} order by {order}").fetchall()
            assert a == b
    finally:
        con2.close()
