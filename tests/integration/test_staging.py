"""Staging, quarantine and ingest_log end to end: raw-store files → dbt → DuckDB tables.

One dbt build (session fixture) over a warehouse that covers many cases at once.
"""

from __future__ import annotations

import json
import re
from datetime import date

import duckdb
import pytest
from stdnum.cn import ric
from stdnum.cn import uscc as std_uscc
from stdnum.iso7064 import mod_11_10

from pipelines.defs.ingest.raw_store import ledger_dir, ledger_id, write_json_atomically
from tests.support import make_reg_no, make_uscc, run_dbt, write_raw, warehouse_rows

MINE = ("sector_divisions credit_grade_vocab status_words item_vocab item_carrier_matches path:models/staging "
        "+int_results__resolved +int_links__checked quarantine ingest_log")
# a result's verdict follows matching it to a draw entry, a link's the pool (feed_verdicts)

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
    run_dbt(w, "2026-06-30", "build", "--select", MINE, "--indirect-selection", "cautious")
    return w, shas


def rows(wh, sql):
    return warehouse_rows(wh[0], sql)


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
    assert "id_no_hash" not in i[1] and i[1]["cert_no"] == "FJ-0001"
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


# ------------------------------------------------------- personal data and control characters
#
# ID numbers typed where they do not belong, in the spellings people use, and control
# characters, across the feeds. The whole project is built (staging, intermediate,
# marts, every data test): the build must succeed, the rows be quarantined with the
# right reasons, and no table of the warehouse hold an ID number — found by a
# detector written here, independently of connectors/personal.py.

def _id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def _full_width(text: str) -> str:
    return "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in text)


ID_ASCII = _id("35010219900101123")
ID_WIDE = _full_width(_id("35010319850512201"))
ID_SPACED = " ".join([(n := _id("35010219700606331"))[i:i + 4] for i in range(0, 18, 4)])  # 3501 0219 7006 0633 1x
ID_HYPHENS = (n := _id("35010419921231004"))[:6] + "-" + n[6:14] + "-" + n[14:]
ID_FIRST_GEN = "350102900101123"  # 15 digits: 1990-01-01
ID_WRONG_CHECK = (n := _id("35010519881111002"))[:-1] + ("1" if n[-1] != "1" else "2")
ID_LEGAL_REP = _id("35010219600229001")
ID_INSPECTOR = _id("35010219751010121")
ID_FILE = _id("35010219661111042")
SPELLINGS = (ID_ASCII, ID_WIDE, ID_SPACED, ID_HYPHENS, ID_FIRST_GEN, ID_WRONG_CHECK, ID_LEGAL_REP, ID_INSPECTOR,
             ID_FILE)


def _full_width_folded(text: str) -> str:
    return text.translate({0xFF10 + i: str(i) for i in range(10)} | {0xFF38: "X", 0xFF58: "x"})


NUMBER_RUN = re.compile(r"[0-9](?:[ \u00a0\u3000\-\u2010-\u2015\uff0d]?[0-9]){14,}(?:[ \-]?[Xx])?")
"""A run of 15+ digits, a space or hyphen allowed between two (the detector's own spelling)."""


def id_numbers_in(text: str) -> list[str]:
    """ID-number-looking runs in ``text`` (full-width digits folded): 15 digits or more (X allowed
    last), not inside a longer letters-and-digits token — except a valid 统一社会信用代码 or 注册号
    (python-stdnum)."""
    found = []
    text = _full_width_folded(text)
    for m in NUMBER_RUN.finditer(text):
        before = text[m.start() - 1:m.start()]
        after = text[m.end():m.end() + 1]
        if (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum()):
            continue
        run = re.sub(r"[^0-9Xx]", "", m.group(0))
        if std_uscc.is_valid(run) or (len(run) == 15 and mod_11_10.is_valid(run)):
            continue
        found.append(m.group(0))
    return found


def test_the_detector_finds_every_spelling():
    for number in SPELLINGS:
        assert id_numbers_in(f"住所 {number} 号") == [_full_width_folded(number)]
    assert id_numbers_in(f"{USCC_9}; {REG_NO}; 3501**********1234; 2026-06-30; ABC{ID_ASCII}") == []


@pytest.fixture(scope="session")
def pii(tmp_path_factory):
    w = tmp_path_factory.mktemp("warehouse-personal")
    ok = {"uscc": USCC_9, "name": "福州戊有限公司", "established_on": "2024-03-05"}
    write_raw(w, "registration", [
        {**ok, "established_on": ID_ASCII},                                             # 1 an ID typed into a date
        {**ok, "name": f"福州{ID_WIDE}有限公司"},                                         # 2 full-width, in a name
        {**ok, "address": f"鼓楼区五四路{ID_SPACED}号"},                                   # 3 spaced, in an address
        {**ok, "法定代表人身份证号码": ID_HYPHENS, "备注": f"联系 {ID_FIRST_GEN}"},            # 4 extra columns only
        {**ok, "uscc": ID_WRONG_CHECK},                                                 # 5 a USCC column
        {**ok, "business_scope": f"食品销售（{ID_FIRST_GEN}）"},                            # 6 first generation
        {**ok, "legal_rep": ID_LEGAL_REP},                                              # 7 a personal column
        {**ok, "name": "福州\x00己有限公司"},                                               # 8 NUL
        {**ok, "address": "五四路\x1b[31m1号", "established_on": "2024-03-05\x1b"},        # 9 ESC, also in a date
        {**ok, "status": "存续\x85"},                                                     # 10 C1 (NEL)
        {**ok, "备注": "备\x85注\x7f"},                                                   # 11 C1 and DEL, extra
        {**ok, "reg_no": REG_NO},                                                       # 12 clean
    ], agency="samr-350102", source_file="samr-350102/registration/pii.csv")
    write_raw(w, "approval", [
        {"uscc": USCC_9, "licence_type": "食品经营许可证", "licence_no": "JY1", "scope": f"预包装 {ID_ASCII}"},
        {"uscc": USCC_9, "licence_type": "食品经营许可证", "licence_no": "JY2", "valid_to": ID_HYPHENS},
    ], agency="xzsp-350100", source_file=f"xzsp-350100/approval/许可清单_{ID_FILE}.csv")  # a person's file
    write_raw(w, "credit_risk", [
        {"uscc": USCC_9, "grade": ID_FIRST_GEN},
        {"uscc": USCC_9, "grade": "A", "name": f"戊 {ID_SPACED}"},
    ], agency="samr-350102", source_file="samr-350102/credit_risk/pii.csv")
    write_raw(w, "inspectors", [
        {"cert_no": "FJ-0101", "name": "张三", "id_no": ID_INSPECTOR, "agency_name": "鼓楼局",
         "cert_valid_to": ID_INSPECTOR},                                                # 1 its own number in a date
        {"cert_no": "FJ-0102", "name": "李\x1b四", "agency_name": "鼓楼局"},                # 2 ESC in a name
        {"cert_no": "FJ-0103", "name": "王五", "agency_name": "鼓楼局", "qualifications": f"食品；{ID_WIDE}",
         "id_no": ID_WRONG_CHECK},                                                      # 3 a list; a wrong number
        {"cert_no": "FJ-0104", "name": "赵六", "agency_name": "鼓楼局", "id_no": ID_INSPECTOR,
         "备注": f"原证件 {ID_SPACED}"},                                                    # 4 accepted; extra masked
    ], agency="sfj-350100", source_file="sfj-350100/inspectors/pii.csv")
    write_raw(w, "draw_list", [
        {"task_id": "P-1", "task_name": f"抽查 {ID_ASCII}", "uscc": USCC_9, "window_start": "2026-06-01",
         "window_end": "2026-06-30"},
        {"task_id": "P-1", "name": "乙", "items": f"公示信息、{ID_HYPHENS}", "window_start": "2026-06-01",
         "window_end": "2026-06-30"},
        {"task_id": "P-1", "name": "丙", "address": ID_FIRST_GEN, "window_start": ID_WIDE, "window_end": "2026-06-30"},
        {"task_id": "P-1", "name": "丁", "注册号": REG_NO, "联系人身份证": ID_ASCII, "window_start": "2026-06-01",
         "window_end": "2026-06-30"},                                                   # accepted, extra masked
    ], agency="samr-350102", source_file="samr-350102/draw_list/pii.csv")
    run_dbt(w, "2026-06-30", "build")  # every model and every data test
    return w


def pii_rows(w, table):
    con = duckdb.connect(str(w / "ssj.duckdb"), read_only=True)
    try:
        cur = con.execute(f"select * from {table} order by source_row")
        cols = [d[0] for d in cur.description]
        return {r[cols.index("source_row")]: dict(zip(cols, r)) for r in cur.fetchall()}
    finally:
        con.close()


def test_ids_in_values_quarantine_the_row_and_the_build_succeeds(pii):
    r = pii_rows(pii, "stg_registration")
    codes = {i: r[i]["reason_codes"] for i in r}
    assert codes == {
        1: ["invalid_date", "personal_id_in_value"], 2: ["personal_id_in_value"], 3: ["personal_id_in_value"],
        4: [], 5: ["invalid_uscc"], 6: ["personal_id_in_value"], 7: ["personal_id_in_value"],
        8: ["control_character"], 9: ["control_character", "invalid_date"], 10: ["control_character"],
        11: ["control_character"], 12: [],
    }
    assert r[1]["reason"].startswith("established_on: holds a personal ID number")
    assert r[2]["reason"].startswith("name: holds a personal ID number") and r[3]["reason"].startswith("address:")
    assert r[8]["reason"].startswith("name: holds a control character")
    assert r[9]["reason"].startswith("established_on, address: holds a control character")
    assert r[11]["reason"].startswith("extra: holds a control character")
    assert "uscc: '" + ID_WRONG_CHECK[:4] + "**********" + ID_WRONG_CHECK[-4:] + "' is not a valid" in r[5]["reason"]
    extra4 = json.loads(r[4]["extra"])
    assert extra4 == {"法定代表人身份证号码": ID_HYPHENS[:4] + "*" * 12 + ID_HYPHENS[-4:],
                      "备注": "联系 3501*******1123"}
    raw7 = json.loads(r[7]["raw"])
    assert raw7["legal_rep"] == ID_LEGAL_REP[:4] + "*" * 10 + ID_LEGAL_REP[-4:]  # personal: masked whole
    a = pii_rows(pii, "stg_approval")
    assert [a[1]["reason_codes"], a[2]["reason_codes"]] == [["personal_id_in_value"],
                                                            ["invalid_date", "personal_id_in_value"]]
    c = pii_rows(pii, "stg_credit_risk")
    assert [c[1]["reason_codes"], c[2]["reason_codes"]] == [["invalid_grade", "personal_id_in_value"],
                                                            ["personal_id_in_value"]]
    i = pii_rows(pii, "stg_inspectors")
    assert i[1]["reason_codes"] == ["invalid_date", "personal_id_in_value"]
    assert i[1]["reason"].startswith("cert_valid_to: holds a personal ID number")
    assert i[2]["reason_codes"] == ["control_character"]
    assert i[3]["reason_codes"] == ["invalid_id_no", "personal_id_in_value"]
    assert i[4]["is_accepted"] and json.loads(i[4]["extra"]) == {"备注": "原证件 3501**************" + ID_SPACED[-4:]}
    assert "id_no_hash" not in i[4] and i[4]["id_no_masked"] == ID_INSPECTOR[:4] + "*" * 10 + ID_INSPECTOR[-4:]
    d = pii_rows(pii, "stg_draw_list")
    assert [d[k]["reason_codes"] for k in (1, 2, 3)] == [
        ["personal_id_in_value"], ["personal_id_in_value"], ["invalid_date", "personal_id_in_value"]]
    assert d[3]["reason"].startswith("address, window_start: holds a personal ID number")
    assert d[4]["is_accepted"] and json.loads(d[4]["extra"]) == {  # a valid 注册号 under its header stays readable
        "注册号": REG_NO, "联系人身份证": ID_ASCII[:4] + "*" * 10 + ID_ASCII[-4:]}
    con = duckdb.connect(str(pii / "ssj.duckdb"), read_only=True)
    try:
        (n,) = con.execute("select count(*) from quarantine").fetchone()
        (resolved,) = con.execute("select count(*) from draw_entries where task_id = 'P-1'").fetchone()
    finally:
        con.close()
    assert n == 10 + 2 + 2 + 3 + 3
    assert resolved >= 1  # the clean draw row went on to the marts
    masked_file = f"xzsp-350100/approval/许可清单_{ID_FILE[:4]}{'*' * 10}{ID_FILE[-4:]}.csv"
    assert {r["source_file"] for r in a.values()} == {masked_file}
    assert masked_file in {r["path"] for r in rows((pii, None), "select path from ingest_log")}


def test_no_table_holds_an_id_number(pii):
    con = duckdb.connect(str(pii / "ssj.duckdb"), read_only=True)
    try:
        tables = con.execute(
            "select table_catalog, table_schema, table_name from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog')").fetchall()
        assert {"stg_registration", "quarantine", "draw_entries", "inspector_pool"} <= {t[2] for t in tables}
        leaks = []
        for catalog, schema, table in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_catalog = ? and table_schema = ? and table_name = ?", [catalog, schema, table]).fetchall()]
            for column in columns:
                values = con.execute(
                    f'select distinct cast("{column}" as varchar) from "{catalog}"."{schema}"."{table}"').fetchall()
                leaks += [(table, column, v) for (v,) in values if v is not None and id_numbers_in(v)]
    finally:
        con.close()
    assert leaks == []


def test_what_is_published_holds_no_control_character(pii, tmp_path):
    from pipelines.defs.publish.parquet import publish_parquet
    from pipelines.export import export_table

    con = duckdb.connect(str(pii / "ssj.duckdb"), read_only=True)
    try:
        publish_parquet(con, "quarantine", pii / "published")
    finally:
        con.close()
    parquet = pii / "published" / "quarantine.parquet"
    published = duckdb.sql(f"select reason, raw::varchar from read_parquet('{parquet}')").fetchall()
    control = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
    assert published and not [row for row in published for text in row if text and control.search(text)]
    raws = [json.loads(raw) for _, raw in published]
    # shown as U+FFFD: every sink takes them (PostgreSQL's jsonb refuses even an escaped NUL)
    assert any(r.get("name") == "福州\ufffd己有限公司" for r in raws)
    assert any(r.get("备注") == "备\ufffd注\ufffd" for r in raws)
    assert export_table(pii, "quarantine", tmp_path / "q.xlsx") == len(published)  # openpyxl refuses control characters
