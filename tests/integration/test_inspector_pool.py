"""Inspector roster → inspector_pool and inspector_capacity, end to end through dbt."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest
from stdnum.cn import ric

from tests.support import run_dbt, write_raw

SELECT = "+inspector_pool +inspector_capacity"
SFJ = "sfj-350100"
BUREAU = "福州市鼓楼区市场监督管理局"
ID_BODY = "35010219800101123"
ID_NO = ID_BODY + ric.calc_check_digit(ID_BODY + "0")


def person(cert_no, name, **kw):
    return {"cert_no": cert_no, "name": name, "agency_name": BUREAU, **kw}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    w = tmp_path_factory.mktemp("warehouse")
    write_raw(w, "inspectors", [
        person("FJ-0001", "张三", id_no=ID_NO, unit="五四所", status="在岗", qualifications="食品；药品、特种设备",
               specialties="电梯/计量", cert_valid_to="长期"),
        person("FJ-0002", "李四", unit="五四所", status="退休", qualifications="食品", cert_valid_to="2030-12-31"),
        person("FJ-0003", "王五", unit="五四所", status="在岗", cert_valid_to="2026-01-01"),
        person("FJ-0004", "赵六", unit="杨桥所", status="在岗", qualifications="法制审核"),
        person("FJ-0005", "钱七", unit="杨桥所", qualifications="食品"),
        person("FJ-0006", "孙八", unit="五四所", status="在岗", qualifications="食品", updated_at="2026-01-01"),
        person("FJ-0007", "周九", unit="五四所", status="在岗", qualifications="综合执法"),
        person("FJ-0008", "吴十", unit="五四所", status="不在岗", qualifications="食品"),
        person("FJ-0009", "郑一", unit="五四所", status="在岗（在编）", qualifications="食药监, Food",
               cert_valid_to="2026-06-30"),
        person("FJ-0010", "冯二", status="在岗", qualifications="价格、广告、计量、标准化、知识产权"),
    ], agency=SFJ, source_file=f"{SFJ}/inspectors/roster-1.csv", mtime=datetime(2026, 1, 10))
    # a later roster: FJ-0006 transferred (newer updated_at), FJ-0007 moved station (no
    # updated_at: the later file wins); an older-dated FJ-0006 row must not win back
    write_raw(w, "inspectors", [
        person("FJ-0006", "孙八", unit="五四所", status="调离", qualifications="食品", updated_at="2026-03-01"),
        person("FJ-0007", "周九", unit="杨桥所", status="在岗", qualifications="综合执法"),
    ], agency=SFJ, source_file=f"{SFJ}/inspectors/roster-2.csv", mtime=datetime(2026, 2, 10))
    write_raw(w, "inspectors", [
        person("FJ-0006", "孙八", unit="五四所", status="在岗", qualifications="食品", updated_at="2025-12-01"),
    ], agency=SFJ, source_file=f"{SFJ}/inspectors/roster-3.csv", mtime=datetime(2026, 3, 10))
    run_dbt(w, "2026-06-30", "build", "--select", SELECT, "--indirect-selection", "cautious",
            "--target-path", str(w / "_dbt_target"))
    con = duckdb.connect(str(w / "ssj.duckdb"), read_only=True)
    yield con
    con.close()


def pool(con):
    cur = con.execute("select * from inspector_pool")
    cols = [d[0] for d in cur.description]
    return {r[cols.index("cert_no")]: dict(zip(cols, r)) for r in cur.fetchall()}


def test_one_row_per_inspector_with_stable_id(db):
    p = pool(db)
    assert len(p) == 10
    assert p["FJ-0001"]["inspector_id"] == f"{SFJ}:FJ-0001"


def test_qualifications_and_specialties_mapped_to_vocabulary(db):
    z = pool(db)["FJ-0001"]
    assert z["qualifications"] == ["drug", "food", "special_equipment"]
    assert z["qualifications_raw"] == ["食品", "药品", "特种设备"]
    assert z["specialties"] == ["measurement", "special_equipment"]
    assert z["specialties_raw"] == ["电梯", "计量"]
    assert pool(db)["FJ-0009"]["qualifications"] == ["drug", "food"]
    assert pool(db)["FJ-0007"]["qualifications"] == ["comprehensive"]
    assert pool(db)["FJ-0010"]["qualifications"] == sorted(
        ["pricing", "advertising", "measurement", "standards", "intellectual_property"])


def test_eligibility_and_reasons(db):
    p = pool(db)
    assert p["FJ-0001"]["is_eligible"] is True and p["FJ-0001"]["ineligible_reason"] is None
    assert p["FJ-0001"]["cert_valid_to"] == date(9999, 12, 31)
    assert p["FJ-0002"]["ineligible_reason"] == "status:退休"
    assert p["FJ-0003"]["ineligible_reason"] == "certificate_expired; no_qualification"
    assert p["FJ-0003"]["ineligible_reasons"] == ["certificate_expired", "no_qualification"]
    assert p["FJ-0004"]["ineligible_reason"] == "unmapped_qualification"
    assert p["FJ-0004"]["qualifications_unmapped"] == ["法制审核"]
    assert p["FJ-0005"]["ineligible_reason"] == "status:unknown"
    assert p["FJ-0008"]["ineligible_reason"] == "status:不在岗"
    # expires ON as_of: still valid that day; '在岗(在编)' contains 在岗
    assert p["FJ-0009"]["is_eligible"] is True


def test_latest_version_wins(db):
    p = pool(db)
    assert p["FJ-0006"]["status"] == "调离"  # newest updated_at, though roster-3 is the later file
    assert p["FJ-0006"]["ineligible_reason"] == "status:调离"
    assert p["FJ-0007"]["unit"] == "杨桥所"  # no updated_at: the later file


def test_id_number_only_masked(db):
    z = pool(db)["FJ-0001"]
    assert z["id_no_masked"] == ID_NO[:4] + "*" * 10 + ID_NO[-4:]
    for table in ("inspector_pool", "inspector_capacity"):
        dump = str(db.execute(f"select * from {table}").fetchall())
        assert ID_NO not in dump and ID_NO[4:14] not in dump


def test_capacity_per_unit_and_specialty(db):
    rows = {(u, s): r for u, s, *r in db.execute(
        "select unit, specialty, inspectors, eligible_inspectors, can_pair, unit_eligible, agency_eligible "
        "from inspector_capacity where agency_name = ?", [BUREAU]).fetchall()}
    # 五四所: 张三 (eligible), 李四 (retired), 王五 (expired), 孙八 (transferred), 吴十 (不在岗), 郑一 (eligible)
    assert rows[("五四所", "*")][:2] == [6, 2]
    assert rows[("五四所", "food")][:3] == [5, 2, True]
    assert rows[("五四所", "special_equipment")][:3] == [1, 1, False]
    assert rows[("五四所", "food")][3] == 2
    # 杨桥所: 赵六 (unmapped), 钱七 (no status), 周九 (moved here, eligible)
    assert rows[("杨桥所", "*")][:2] == [3, 1]
    assert rows[("(未注明)", "*")][:2] == [1, 1]
    assert rows[("五四所", "food")][4] == 2  # whole agency, food
