"""Staging, quarantine and ingest_log end to end: raw-store files → dbt → DuckDB tables.

One dbt build (session fixture) over a warehouse that covers many cases at once.
"""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest
from stdnum.cn import ric

from pipelines.defs.ingest.raw_store import ledger_dir, ledger_id, write_json_atomically
from tests.support import make_reg_no, make_uscc, run_dbt, write_raw

MINE = ("sector_divisions credit_grade_vocab status_words path:models/staging quarantine ingest_log")

USCC_9 = make_uscc("91350102MA2XXXXX0"[:17])
USCC_N = make_uscc("N2350102MA2YYYYY1"[:17])  # 农业 department: letter-led, stdnum.cn.uscc rejects it
USCC_Y = make_uscc("Y1350102MA2WWWWW2"[:17])
BAD_USCC = USCC_9[:-1] + ("0" if USCC_9[-1] != "0" else "1")
REG_NO = make_reg_no("35010210000001")
ID_BODY = "35010219800101123"
ID_NO = ID_BODY + ric.calc_check_digit(ID_BODY + "0")
BAD_ID = ID_BODY + ("0" if ID_NO[-1] != "0" else "1")


@pytest.fixture(scope="session")
def wh(tmp_path_factory):
    w = tmp_path_factory.mktemp("warehouse")
    shas = {}
    shas["reg"] = write_raw(w, "registration", [
        {"uscc": f" {USCC_9[:6]}-{USCC_9[6:].lower()} ", "name": " 福州甲（中国）有限公司 ", "reg_capital": "1,000万元",
         "established_on": "2024年3月5日", "status": "存续（在营、开业、在册）", "industry_code": "5211",
         "employees": "35人", "online_shop": "是", "备注": "extra col"},
        {"uscc": USCC_N, "name": "福州乙农民专业合作社", "reg_capital": "500000元", "established_on": "20240305",
         "status": "吊销，未注销", "industry_code": "511", "online_shop": "N"},
        {"uscc": USCC_Y, "name": "丙", "established_on": "2024/3/5 10:11", "industry_code": "F52"},
        {"reg_no": REG_NO, "name": "丁个体户", "established_on": "2024.3.5", "online_shop": "无"},
        {"uscc": BAD_USCC, "name": "戊", "established_on": "2024-13-45"},
        {"name": "己", "reg_capital": "很多"},
        {"uscc": USCC_9, "name": "", "online_shop": "也许", "employees": "3.5"},
        {"uscc": USCC_9, "reg_no": "350102100000010", "name": "庚", "established_on": "2024-02-30"},
    ], agency="samr-350102", source_file="samr-350102/registration/reg.csv")
    shas["appr"] = write_raw(w, "approval", [
        {"uscc": USCC_9, "licence_type": "食品经营许可证", "licence_no": "JY1 3501 0200 12345",
         "valid_from": "2023/1/1", "valid_to": "长期有效"},
        {"name": "甲", "licence_type": "", "licence_no": "ｘｋ06-020-00020"},
        {"licence_type": "药品经营许可证", "licence_no": "X2", "valid_to": "2026-02-30"},
    ], agency="xzsp-350100", source_file="xzsp-350100/approval/a.csv")
    shas["credit"] = write_raw(w, "credit_risk", [
        {"uscc": USCC_9, "grade": "A类", "domain": "", "score": "95.5", "classified_on": "2026-05-01"},
        {"uscc": USCC_N, "grade": "高风险", "domain": "通用"},
        {"uscc": USCC_Y, "grade": "2", "domain": "食品"},
        {"uscc": USCC_9, "grade": "E"},
        {"uscc": "", "grade": ""},
    ], agency="samr-350102", source_file="samr-350102/credit_risk/c.csv")
    shas["insp"] = write_raw(w, "inspectors", [
        {"cert_no": "fj-0001", "name": "张三", "id_no": ID_NO, "agency_name": "福州市鼓楼区市场监督管理局",
         "qualifications": "食品；药品、特种设备,食品", "cert_valid_to": "长期"},
        {"cert_no": "FJ-0002", "name": "李四", "id_no": BAD_ID, "agency_name": "某局", "备注": f"ID {ID_NO}"},
        {"cert_no": "", "name": "王五", "agency_name": ""},
    ], agency="sfj-350100", source_file="sfj-350100/inspectors/i.csv")
    shas["draw"] = write_raw(w, "draw_list", [
        {"task_id": "T-1", "uscc": USCC_9, "window_start": "2026-06-01", "window_end": "2026/6/30",
         "items": "公示信息、经营行为", "agency": "福州市鼓楼区市场监督管理局"},
        {"task_id": "T-1", "name": "乙", "window_start": "2026-06-01", "window_end": "2026-06-30", "agency": "SAMR-350102"},
        {"task_id": "T-1", "name": "丙", "window_start": "2026-07-01", "window_end": "2026-06-30"},
        {"task_id": "T-1", "name": "丁", "window_start": "2026-06-01", "window_end": "2026-06-30", "agency": "税务局"},
        {"task_id": "", "window_start": "", "window_end": "2026-06-30"},
    ], agency="samr-350102", source_file="samr-350102/draw_list/d.csv")
    # a duplicate and a rejected file, as ingestion records them
    for path, status, code in [("samr-350102/draw_list/copy.csv", "duplicate", None),
                               ("nobody/registration/x.csv", "rejected", "unknown_agency")]:
        write_json_atomically(ledger_dir(w) / f"{ledger_id(path, 'x' + status)}.json", {
            "path": path, "agency": path.split("/")[0], "feed": path.split("/")[1],
            "sha256": shas["draw"] if status == "duplicate" else "x" + status, "bytes": 10,
            "mtime": "2026-01-02 08:00:00", "status": status, "rows_read": None, "error_code": code,
            "error": f"{path}: agency 'nobody' is not in the registry" if code else None,
            "duplicate_of": "samr-350102/draw_list/d.csv" if status == "duplicate" else None,
            "format": "csv", "encoding": "utf-8", "headers": {},
            "first_seen_at": "2026-01-02 09:00:00", "processed_at": "2026-01-02 09:00:00"})
    run_dbt(w, "2026-06-30", "build", "--select", MINE)
    return w, shas


def rows(wh, sql):
    con = duckdb.connect(str(wh[0] / "ssj.duckdb"), read_only=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    finally:
        con.close()


def by_row(wh, table):
    return {r["source_row"]: r for r in rows(wh, f"select * from {table}")}


def test_registration_values(wh):
    r = by_row(wh, "stg_registration")
    assert r[1]["uscc"] == USCC_9 and r[1]["name"] == "福州甲(中国)有限公司"
    assert r[1]["reg_capital"] == 1000.0 and r[1]["established_on"] == date(2024, 3, 5)
    assert r[1]["status_class"] == "active" and r[1]["industry_code"] == "F5211" and r[1]["employees"] == 35
    assert r[1]["online_shop"] is True and json.loads(r[1]["extra"]) == {"备注": "extra col"}
    assert r[1]["is_accepted"] and r[1]["reason_codes"] == [] and r[1]["reason"] is None
    assert r[2]["is_accepted"] and r[2]["uscc"] == USCC_N and r[2]["reg_capital"] == 50.0
    assert r[2]["status_class"] == "inactive" and r[2]["industry_code"] == "F511" and r[2]["online_shop"] is False
    assert r[3]["is_accepted"] and r[3]["uscc"] == USCC_Y and r[3]["industry_code"] == "F52"
    assert r[4]["is_accepted"] and r[4]["enterprise_key"] == "R" + REG_NO and r[4]["online_shop"] is False
    assert r[1]["enterprise_key"] == USCC_9
    assert r[5]["reason_codes"] == ["invalid_date", "invalid_uscc"] and r[5]["enterprise_key"] is None
    assert "established_on: '2024-13-45' is not a date (expected 2024-03-05" in r[5]["reason"]
    assert r[6]["reason_codes"] == ["invalid_number", "missing_required"]
    assert r[7]["reason_codes"] == ["invalid_bool", "invalid_number", "missing_required"]
    assert r[8]["reason_codes"] == ["invalid_date", "invalid_reg_no"]
    raw5 = json.loads(r[5]["raw"])
    assert raw5["established_on"] == "2024-13-45" and raw5["uscc"] == BAD_USCC


def test_approval_credit(wh):
    a = by_row(wh, "stg_approval")
    assert a[1]["is_accepted"] and a[1]["licence_no"] == "JY13501020012345"
    assert a[1]["valid_from"] == date(2023, 1, 1) and a[1]["valid_to"] == date(9999, 12, 31)
    assert a[2]["reason_codes"] == ["missing_required"]
    assert a[2]["licence_no"] == "XK06-020-00020"  # an issuer's number keeps its hyphens
    assert a[3]["reason_codes"] == ["invalid_date", "missing_required"]
    c = by_row(wh, "stg_credit_risk")
    assert [(c[i]["grade"], c[i]["domain"]) for i in (1, 2, 3)] == [("A", "general"), ("D", "general"), ("B", "食品")]
    assert c[1]["score"] == 95.5 and c[1]["classified_on"] == date(2026, 5, 1) and c[1]["grade_raw"] == "A类"
    assert c[4]["reason_codes"] == ["invalid_grade"] and c[5]["reason_codes"] == ["missing_required"]


def test_inspectors_never_leak_id_numbers(wh):
    i = by_row(wh, "stg_inspectors")
    assert i[1]["is_accepted"] and i[1]["id_no_masked"] == ID_NO[:4] + "*" * 10 + ID_NO[-4:]
    assert len(i[1]["id_no_hash"]) == 64 and i[1]["cert_no"] == "FJ-0001"
    assert i[1]["qualifications_raw"] == ["食品", "药品", "特种设备"] and i[1]["cert_valid_to"] == date(9999, 12, 31)
    assert i[2]["reason_codes"] == ["invalid_id_no"] and i[3]["reason_codes"] == ["missing_required"]
    everything = json.dumps(rows(wh, "select * from stg_inspectors") + rows(wh, "select * from quarantine"),
                            default=str, ensure_ascii=False)
    assert ID_NO not in everything and BAD_ID not in everything
    assert ID_NO[:4] + "**********" in everything


def test_draw_list(wh):
    d = by_row(wh, "stg_draw_list")
    assert d[1]["is_accepted"] and d[1]["items"] == ["公示信息", "经营行为"] and d[1]["window_end"] == date(2026, 6, 30)
    assert d[1]["task_id"] == "T-1" and d[1]["agency_declared"] == "福州市鼓楼区市场监督管理局"
    assert d[2]["is_accepted"]  # the folder's code, any case
    assert d[3]["reason_codes"] == ["window_end_before_start"]
    assert d[4]["reason_codes"] == ["agency_mismatch"] and "expected samr-350102 or 福州市鼓楼区" in d[4]["reason"]
    assert d[5]["reason_codes"] == ["missing_required"]


def test_quarantine_and_ingest_log(wh):
    q = rows(wh, "select feed, count(*) n from quarantine group by feed order by feed")
    assert {r["feed"]: r["n"] for r in q} == {"approval": 2, "credit_risk": 2, "draw_list": 3, "inspectors": 2,
                                               "registration": 4}
    log = {r["path"]: r for r in rows(wh, "select * from ingest_log")}
    assert len(log) == 7
    reg = log["samr-350102/registration/reg.csv"]
    assert (reg["status"], reg["rows_read"], reg["rows_accepted"], reg["rows_quarantined"]) == ("ingested", 8, 4, 4)
    dup = log["samr-350102/draw_list/copy.csv"]
    assert (dup["status"], dup["rows_accepted"], dup["rows_quarantined"]) == ("duplicate", 0, 0)
    assert dup["duplicate_of"] == "samr-350102/draw_list/d.csv"
    rej = log["nobody/registration/x.csv"]
    assert rej["status"] == "rejected" and rej["error_code"] == "unknown_agency" and "nobody" in rej["error"]
    assert all(r["rows_read"] == r["rows_accepted"] + r["rows_quarantined"] for r in log.values() if r["status"] == "ingested")


@pytest.mark.parametrize("model", ["stg_registration", "stg_approval", "stg_credit_risk"])
def test_values_parsed_once_are_joined_as_the_build_side(wh, model, tmp_path):
    """parsed_per_value's lookups (a few rows per distinct value) must be the hash
    join's build side: DuckDB flips a join whose other side it estimates smaller, and
    hashing every wide staging row instead ran out of memory at 10M rows (6 GB)."""
    from pipelines.udfs import register

    run_dbt(wh[0], "2026-06-30", "compile", "--select", model, "--target-path", str(tmp_path))
    [compiled] = tmp_path.glob(f"compiled/**/{model}.sql")
    con = duckdb.connect(str(wh[0] / "ssj.duckdb"), read_only=True)
    try:
        register(con)
        plan = con.execute("explain " + compiled.read_text("utf-8")).fetchall()[0][1]
    finally:
        con.close()
    joins = [line for line in plan.splitlines() if "Join Type:" in line]
    assert joins and not any("RIGHT" in line for line in joins), plan
    assert plan.count("raw_value") >= 2  # the lookups are there
