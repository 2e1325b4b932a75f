"""Matching you can check (docs/contract.md §9, docs/matching.md), from landing file to published row.

One landing zone holds every rule where they do not interfere, and `ssj run` publishes it:

- former names: an enterprise renamed by a later registration file is found by the name
  its earlier file carried (match_method former_name); a former name two enterprises
  carried is ambiguous, never guessed; a USCC row naming the former name is no mismatch;
- flags: name_mismatch (USCC resolves, the name is neither current nor former),
  address_mismatch (a name match whose address is in another district on another road;
  the same road elsewhere is no contradiction), out_of_region (an enterprise of 台江
  drawn by the 鼓楼 regulator; not by the city's bureau, and never by an agency whose
  registry entry has no region_code);
- unresolved but identified: two agencies draw one valid USCC the pool does not hold —
  one joint group, enterprise_id NULL, uscc the drawn USCC, entries flagged not_in_pool;
- licences: an approval row naming a former name links to the renamed enterprise (and
  counts in its published licence_count); the link flags of int_licence__linked.

Then a third agency drops a list naming that USCC too: the next `ssj run` builds the
draws incrementally and regroups the USCC's entries (a new group of three, a new ID).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.support import SAMPLE_REGISTRY, make_uscc, run_ssj, write_csv

pytestmark = pytest.mark.slow

AS_OF = "2026-06-30"
SAMR, TAX, ECO, YJJ = "samr-350102", "tax-350102", "eco-350100", "yjj-350100"

USCC_REN = make_uscc("91350102MA2RENAM0")      # renamed: 福州旧名贸易 → 福州新名科技
USCC_S1 = make_uscc("91350102MA2GGG110")       # both formerly 福州共用旧名
USCC_S2 = make_uscc("91350102MA2GGG220")
USCC_M = make_uscc("91350102MA2MMMMM0")        # 福州正名食品, 鼓楼区杨桥中路
USCC_OUT = make_uscc("91350103MA2TTTTT0")      # an enterprise of 台江 (350103)
USCC_UNK = make_uscc("91350102MA2UNKNW0")      # valid, registered nowhere

OLD_NAME, NEW_NAME = "福州旧名贸易有限公司", "福州新名科技有限公司"
SHARED_OLD = "福州共用旧名有限公司"
NAME_M = "福州正名食品有限公司"

REG_HEADER = ["统一社会信用代码", "企业名称", "住所", "行政区划代码", "登记状态", "更新时间"]
LIC_HEADER = ["许可证类型", "许可证编号", "统一社会信用代码", "企业名称", "有效期起", "有效期至", "许可状态", "地址"]
DRAW_HEADER = ["任务编号", "任务名称", "统一社会信用代码", "企业名称", "地址", "检查事项", "开始日期", "结束日期"]


def draw(task, uscc="", name="", address="", start="2026-06-01", end="2026-06-30"):
    return [task, "2026年抽查", uscc, name, address, "检查", start, end]


def published(warehouse: Path, table: str) -> list[dict]:
    rel = duckdb.sql(f"select * from read_parquet('{warehouse}/published/{table}.parquet')")
    return [dict(zip(rel.columns, r)) for r in rel.fetchall()]


def entry(rows: list[dict], agency: str, task: str, **match) -> dict:
    [e] = [r for r in rows if r["agency"] == agency and r["task_id"] == task
           and all(r[k] == v for k, v in match.items())]
    return e


def group_id(key: str, task_keys: list[str]) -> str:
    return "JG-" + hashlib.sha256(f"{key}|{','.join(sorted(task_keys))}".encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("matching")
    landing, warehouse = root / "landing", root / "wh"
    # the sample registry, but the tax bureau without a region_code: it never flags out_of_region
    registry = yaml.safe_load(SAMPLE_REGISTRY.read_text(encoding="utf-8"))
    for agency in registry["agencies"]:
        if agency["code"] == TAX:
            del agency["region_code"]
    agencies = root / "agencies.yaml"
    agencies.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")

    reg = landing / SAMR / "registration"
    write_csv(reg / "reg_a.csv", REG_HEADER, [
        [USCC_REN, OLD_NAME, "福州市鼓楼区五四路1号", "350102", "存续", "2025-01-01"],
        [USCC_S1, SHARED_OLD, "福州市鼓楼区古田路3号", "350102", "存续", "2025-01-01"],
        [USCC_M, NAME_M, "福州市鼓楼区杨桥中路2号", "350102", "存续", "2025-01-01"],
    ], mtime=1_700_000_000)
    write_csv(reg / "reg_b.csv", REG_HEADER, [
        [USCC_S2, "福州共用旧名有限责任公司", "福州市鼓楼区华林路5号", "350102", "存续", "2025-02-01"],
        [USCC_OUT, "福州台江外区有限公司", "福州市台江区上海路7号", "350103", "存续", "2025-02-01"],
    ], mtime=1_700_000_100)
    # a later file renames three of them (their earlier names stay former names)
    write_csv(reg / "reg_c.csv", REG_HEADER, [
        [USCC_REN, NEW_NAME, "福州市鼓楼区五四路1号", "350102", "存续", "2026-03-01"],
        [USCC_S1, "福州甲一新名有限公司", "福州市鼓楼区古田路3号", "350102", "存续", "2026-03-01"],
        [USCC_S2, "福州乙二新名有限公司", "福州市鼓楼区华林路5号", "350102", "存续", "2026-03-01"],
    ], mtime=1_700_000_200)

    write_csv(landing / SAMR / "approval" / "licences.csv", LIC_HEADER, [
        ["食品经营许可证", "JY13501020000001", "", OLD_NAME, "2025-01-01", "2029-12-31", "有效", ""],
        ["食品经营许可证", "JY13501020000002", USCC_M, "福州别的名字有限公司", "2025-01-01", "2029-12-31", "有效", ""],
        ["食品经营许可证", "JY13501020000003", "", NAME_M, "2025-01-01", "2029-12-31", "有效", "福州市台江区江滨中大道8号"],
        ["食品经营许可证", "JY13501020000004", USCC_OUT, "福州台江外区有限公司", "2025-01-01", "2029-12-31", "有效", ""],
    ], mtime=1_700_000_250)

    write_csv(landing / SAMR / "draw_list" / "samr.csv", DRAW_HEADER, [
        draw("M-1", name=OLD_NAME),                                    # former_name
        draw("M-1", name=SHARED_OLD),                                  # ambiguous former name
        draw("M-1", uscc=USCC_M, name="福州别的名字有限公司"),          # name_mismatch
        draw("M-1", uscc=USCC_OUT, name="福州台江外区有限公司"),        # out_of_region
        draw("M-1", uscc=USCC_UNK, name="福州未登记有限公司"),          # not in the pool
    ], mtime=1_700_000_300)
    write_csv(landing / TAX / "draw_list" / "tax.csv", DRAW_HEADER, [
        draw("X-1", name=NAME_M, address="福建省福州市台江区江滨中大道8号", start="2026-06-15", end="2026-07-15"),
        draw("X-1", uscc=USCC_UNK, name="福州未登记有限公司", start="2026-06-15", end="2026-07-15"),
        draw("X-1", uscc=USCC_REN, name=OLD_NAME, start="2026-06-15", end="2026-07-15"),
        draw("X-1", uscc=USCC_OUT, start="2026-06-15", end="2026-07-15"),  # no region_code: never flags
    ], mtime=1_700_000_300)
    write_csv(landing / ECO / "draw_list" / "eco.csv", DRAW_HEADER, [
        draw("E-1", uscc=USCC_OUT),                                     # 350103 is under 350100
        draw("E-1", name=NAME_M, address="福州市鼓楼区杨桥中路99号"),   # same road: no contradiction
    ], mtime=1_700_000_300)

    first = run_ssj(landing, warehouse, agencies, as_of=AS_OF)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    entries_1, groups_1 = published(warehouse, "draw_entries"), published(warehouse, "joint_inspections")
    pool_1 = {r["enterprise_id"]: r for r in published(warehouse, "enterprise_pool")}
    with duckdb.connect(str(warehouse / "ssj.duckdb"), read_only=True) as con:
        rel = con.sql("select licence_no, enterprise_id, link_method, link_flags from int_licence__linked")
        licences = {r[0]: r[1:] for r in rel.fetchall()}

    write_csv(landing / YJJ / "draw_list" / "yjj.csv", DRAW_HEADER, [
        draw("Y-1", uscc=USCC_UNK, start="2026-06-20", end="2026-06-25"),
    ], mtime=1_700_000_400)
    second = run_ssj(landing, warehouse, agencies, as_of=AS_OF)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    return {"entries": entries_1, "groups": groups_1, "second": second, "pool": pool_1, "licences": licences,
            "entries_2": published(warehouse, "draw_entries"), "groups_2": published(warehouse, "joint_inspections")}


def test_a_former_name_resolves_and_counts_as_the_enterprises_name(runs):
    e = entry(runs["entries"], SAMR, "M-1", name=OLD_NAME)
    assert (e["enterprise_id"], e["match_method"], e["flags"]) == (USCC_REN, "former_name", [])
    by_uscc = entry(runs["entries"], TAX, "X-1", uscc=USCC_REN)
    assert by_uscc["match_method"] == "uscc" and by_uscc["flags"] == []  # a former name is no mismatch
    [g] = [g for g in runs["groups"] if g["enterprise_id"] == USCC_REN]
    assert g["task_keys"] == [f"{SAMR}:M-1", f"{TAX}:X-1"] and g["name"] == NEW_NAME


def test_a_former_name_two_enterprises_carried_is_ambiguous(runs):
    e = entry(runs["entries"], SAMR, "M-1", name=SHARED_OLD)
    assert (e["enterprise_id"], e["match_method"], e["flags"]) == (None, "none", ["ambiguous_name"])


def test_name_mismatch(runs):
    e = entry(runs["entries"], SAMR, "M-1", uscc=USCC_M)
    assert (e["enterprise_id"], e["match_method"], e["flags"]) == (USCC_M, "uscc", ["name_mismatch"])


def test_address_mismatch_only_when_district_and_road_both_differ(runs):
    far = entry(runs["entries"], TAX, "X-1", enterprise_id=USCC_M)
    assert (far["match_method"], far["flags"]) == ("name", ["address_mismatch"])
    near = entry(runs["entries"], ECO, "E-1", enterprise_id=USCC_M)
    assert (near["match_method"], near["flags"]) == ("name", [])


def test_out_of_region_by_the_agencys_region_prefix(runs):
    assert entry(runs["entries"], SAMR, "M-1", uscc=USCC_OUT)["flags"] == ["out_of_region"]
    assert entry(runs["entries"], ECO, "E-1", uscc=USCC_OUT)["flags"] == []
    assert entry(runs["entries"], TAX, "X-1", uscc=USCC_OUT)["flags"] == []  # registry entry without region_code


def test_unresolved_entries_with_one_valid_uscc_form_a_group(runs):
    es = [e for e in runs["entries"] if e["uscc"] == USCC_UNK]
    assert {(e["agency"], e["enterprise_id"], e["match_method"]) for e in es} == {(SAMR, None, "none"), (TAX, None, "none")}
    assert all(e["flags"] == ["not_in_pool"] for e in es)
    [g] = [g for g in runs["groups"] if g["uscc"] == USCC_UNK]
    keys = [f"{SAMR}:M-1", f"{TAX}:X-1"]
    assert g["enterprise_id"] is None and g["task_keys"] == keys and g["kind"] == "joint"
    assert (str(g["window_start"]), str(g["window_end"])) == ("2026-06-15", "2026-06-30")
    assert g["name"] == "福州未登记有限公司"
    assert g["joint_group_id"] == group_id(USCC_UNK, keys)
    assert {e["joint_group_id"] for e in es} == {g["joint_group_id"]}


def test_a_later_drop_regroups_the_uscc_incrementally(runs):
    assert "build: draws" in runs["second"].stdout + runs["second"].stderr
    keys = [f"{SAMR}:M-1", f"{TAX}:X-1", f"{YJJ}:Y-1"]
    [g] = [g for g in runs["groups_2"] if g["uscc"] == USCC_UNK]
    assert g["enterprise_id"] is None and g["task_keys"] == keys
    assert g["joint_group_id"] == group_id(USCC_UNK, keys)
    es = [e for e in runs["entries_2"] if e["uscc"] == USCC_UNK]
    assert len(es) == 3 and {e["joint_group_id"] for e in es} == {g["joint_group_id"]}
    # the other groups are untouched
    def others(gs):
        return sorted((g["joint_group_id"], tuple(g["task_keys"])) for g in gs if g["uscc"] != USCC_UNK)

    assert others(runs["groups_2"]) == others(runs["groups"])


def test_licences_link_by_former_name_and_carry_the_flags(runs):
    lic = runs["licences"]
    assert lic["JY13501020000001"] == (USCC_REN, "former_name", [])
    assert lic["JY13501020000002"] == (USCC_M, "uscc", ["name_mismatch"])
    assert lic["JY13501020000003"] == (USCC_M, "name", ["address_mismatch"])
    assert lic["JY13501020000004"] == (USCC_OUT, "uscc", ["out_of_region"])
    # a licence linked by a former name counts for the enterprise in the published pool
    assert runs["pool"][USCC_REN]["licence_count"] == 1 and runs["pool"][USCC_REN]["name"] == NEW_NAME
