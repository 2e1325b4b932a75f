"""Enterprise pool: hand-checked enterprises through staging → intermediate → marts.

Every expected value below was worked out by hand from docs/domain.md (the 2017
scale table, GB/T 4754 sectors, licence → category defaults, USCC type digits).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.defs.publish import parquet as publish
from tests.support import make_reg_no, make_uscc, run_dbt, spy_in_order, write_raw, warehouse_rows

pytestmark = pytest.mark.slow

AS_OF = "2026-06-30"
SELECT = ("build", "--select", "+enterprise_pool +enterprise_tags +enterprise_credit_grades +int_enterprise__unlinked")
SAMR = "samr-350102"
XZSP = "xzsp-350100"


def u(n: int, prefix: str = "91") -> str:
    return make_uscc(f"{prefix}350102MA2Y{n:05d}"[:17])


# --- identities -------------------------------------------------------------------------
FOOD = u(1)          # retail, small; food by licence (linked by name) and by scope; online_offline
FOOD_BRANCH = u(2)   # its 宁波分公司: a separate enterprise, never merged
FACTORY = u(3)       # C manufacturing, large; special equipment licence by USCC
BUILDER = u(4)       # E construction, medium (Z short of large)
FARM = u(5, "93")    # A agriculture, micro; farmer cooperative (93)
SHOP = u(6, "92")    # 个体工商户 (92), H catering, micro; online without premises
BANK = u(7)          # J finance → scale unknown
TRUCKS = u(8)        # G transport, small
SOFT = u(9)          # I software, medium; expired + revoked licences not counted
ESTATE = u(10)       # K 701 real estate development, large
LEASE = u(11)        # L leasing, missing Z → unknown
SALON = u(12)        # O other services (X only), micro; scope 不含危险化学品 → no industrial_product
CHANGED = u(13)      # three versions: the latest by updated_at wins (and it is deregistered)
SOCIAL = make_uscc("52350102MJ0000001")  # 民政 (5) — not a market-regulation code → other; S: no scale
ZHANG_A = u(14, "92")  # 鼓楼区张三小吃店 at two addresses: same name, two enterprises
ZHANG_B = u(15, "92")
LEGACY_REG_NO = make_reg_no("35010260000001")  # 注册号 only → 'R' || reg_no
PAIRED_REG_NO = make_reg_no("35010260000002")  # delivered first by 注册号, later with its USCC
PAIRED = u(16)
NOT_IN_POOL = u(99)

REGISTRATION_V1 = [
    dict(uscc=FOOD, name="福州（中国）ＡＢＣ食品有限责任公司", entity_type="有限责任公司", status="存续",
         industry_code="5211", employees="12", revenue="150万元", address="福建省福州市鼓楼区五四路1号",
         business_scope="预包装食品销售；网络销售", region_code="350102"),
    dict(uscc=FOOD_BRANCH, name="福州(中国)ABC食品有限公司宁波分公司", entity_type="有限责任公司分公司",
         status="存续", industry_code="F5211", employees="3", revenue="20", address="宁波市海曙区中山路8号"),
    dict(uscc=FACTORY, name="福州重工机械股份有限公司", status="在业", industry_code="C3431", employees="1,200",
         revenue="45000", total_assets="90000", address="福州市鼓楼区工业路2号"),
    dict(uscc=BUILDER, name="福州建工有限公司", status="存续", industry_code="E4710", employees="800",
         revenue="90000", total_assets="79999", address="福州市鼓楼区建设路3号"),
    dict(uscc=FARM, name="闽侯县绿源果蔬专业合作社", entity_type="农民专业合作社", industry_code="A0141",
         revenue="49", address="闽侯县上街镇"),
    dict(uscc=SHOP, name="鼓楼区李四烧烤店", entity_type="个体工商户", industry_code="H6210", employees="3",
         revenue="40", online_shop="是", business_scope="餐饮服务"),
    dict(uscc=BANK, name="福州某某小额贷款有限公司", industry_code="J6630", employees="5000", revenue="900000",
         total_assets="9000000", address="福州市鼓楼区金融街1号"),
    dict(uscc=TRUCKS, name="福州顺达物流有限公司", industry_code="G5430", employees="25", revenue="250",
         address="福州市鼓楼区物流园"),
    dict(uscc=SOFT, name="福州云码软件有限公司", industry_code="I6510", employees="150", revenue="3000",
         address="福州市鼓楼区软件园A座", business_scope="软件开发；第二类医疗器械销售(不含药品)"),
    dict(uscc=ESTATE, name="福州置地房地产开发有限公司", industry_code="K7010", revenue="250000",
         total_assets="1000000", address="福州市鼓楼区湖东路9号"),
    dict(uscc=LEASE, name="福州好租设备租赁有限公司", industry_code="L7111", employees="50",
         address="福州市鼓楼区租赁路1号"),
    dict(uscc=SALON, name="福州美发沙龙有限公司", industry_code="O8010", employees="8",
         address="福州市鼓楼区美发街1号", business_scope="理发服务；销售化工产品(不含危险化学品)"),
    dict(uscc=CHANGED, name="福州旧名贸易有限公司", status="存续", industry_code="F5110", employees="30",
         revenue="6000", updated_at="2025-01-01", address="福州市鼓楼区旧址1号"),
    dict(uscc=SOCIAL, name="福州市鼓楼区某某协会", industry_code="S9521", employees="5"),
    dict(uscc=ZHANG_A, name="鼓楼区张三小吃店", entity_type="个体工商户", industry_code="H6210",
         address="福州市鼓楼区东街1号"),
    dict(uscc=ZHANG_B, name="鼓楼区张三小吃店", entity_type="个体工商户", industry_code="H6210",
         address="福州市鼓楼区西街2号"),
    dict(reg_no=LEGACY_REG_NO, name="鼓楼区王五水果店", entity_type="个体工商户", industry_code="5223"),
    dict(reg_no=PAIRED_REG_NO, name="福州老字号有限公司", entity_type="有限责任公司", industry_code="5211",
         updated_at="2020-01-01"),
]
# Every scale band of five industries at the inclusive bounds of docs/domain.md's 2017 table
# (large/medium/small need every indicator; one short drops a band; one missing → unknown),
# and an enterprise in each sector letter not covered above. Worked out by hand:
# (industry_code, X employees, Y revenue, Z total assets, sector, scale)
BANDS = [
    # 零售业 52: X 300/50/10, Y 20000/500/100
    ("5211", "300", "20000", None, "F", "large"),
    ("5211", "299", "20000", None, "F", "medium"),       # X one short of large
    ("5211", "50", "499", None, "F", "small"),           # Y one short of medium
    ("5211", "9", "20000", None, "F", "micro"),          # X below small: micro whatever Y is
    ("5211", "100", None, None, "F", "unknown"),         # Y missing
    # 工业 C: X 1000/300/20, Y 40000/2000/300
    ("C1311", "1000", "40000", None, "C", "large"),
    ("C1311", "5000", "399999900元", None, "C", "medium"),  # Y = 39999.99 万元, given in 元
    ("C1311", "20", "300", None, "C", "small"),
    ("C1311", "19", "300", None, "C", "micro"),
    ("C1311", None, "50000", None, "C", "unknown"),
    # 建筑业 E: Y 80000/6000/300, Z 80000/5000/300
    ("E4720", None, "80000", "80000", "E", "large"),
    ("E4720", None, "6000", "100000", "E", "medium"),
    ("E4720", None, "300", "4999", "E", "small"),
    ("E4720", None, "299", "0", "E", "micro"),
    ("E4720", None, "100000", None, "E", "unknown"),
    # 软件和信息技术服务业 65: X 300/100/10, Y 10000/1000/50
    ("I6511", "300", "10000", None, "I", "large"),
    ("I6511", "100", "1000", None, "I", "medium"),
    ("I6511", "10", "50", None, "I", "small"),
    ("I6511", "0", "50", None, "I", "micro"),
    ("I6511", None, None, None, "I", "unknown"),
    # 批发业 51: X 200/20/5, Y 40000/5000/1000
    ("F5122", "200", "40000", None, "F", "large"),
    ("F5122", "20", "5,000", None, "F", "medium"),
    ("F5122", "5", "1000万元", None, "F", "small"),
    ("F5122", "4", "1000", None, "F", "micro"),
    ("F5122", None, "1000", None, "F", "unknown"),
    # the remaining sector letters (B, D industry; M, N, 85, R 其他未列明行业: X 300/100/10;
    # P 教育, 84 卫生 and T are outside the standard: unknown whatever X is)
    ("B0610", "1000", "40000", None, "B", "large"),
    ("D4411", "300", "2000", None, "D", "medium"),
    ("M7310", "10", None, None, "M", "small"),
    ("N7721", "9", None, None, "N", "micro"),
    ("P8331", "300", None, None, "P", "unknown"),
    ("Q8411", "100", None, None, "Q", "unknown"),
    ("Q8514", "100", None, None, "Q", "medium"),
    ("R8710", "99", None, None, "R", "small"),
    ("T9700", "300", None, None, "T", "unknown"),
]
BAND_IDS = [u(200 + i) for i in range(len(BANDS))]
BAND_REGISTRATIONS = [
    {k: v for k, v in dict(uscc=eid, name=f"福州规模测试{i}号有限公司", industry_code=code, employees=x, revenue=y,
                           total_assets=z, address=f"福州市鼓楼区测试路{i}号").items() if v is not None}
    for i, (eid, (code, x, y, z, _sector, _scale)) in enumerate(zip(BAND_IDS, BANDS))
]

REGISTRATION_V2 = [  # a later file
    dict(uscc=CHANGED, name="福州新名贸易有限公司", status="注销", industry_code="F5110", employees="30",
         revenue="6000", updated_at="2026-03-01", address="福州市鼓楼区新址2号"),
    dict(uscc=PAIRED, reg_no=PAIRED_REG_NO, name="福州老字号有限公司", entity_type="有限责任公司",
         industry_code="5211", employees="60", revenue="600", updated_at="2024-01-01"),
]
REGISTRATION_V3 = [  # the latest file, but undated: an undated version never beats a dated one
    dict(uscc=CHANGED, name="福州无日期贸易有限公司", status="存续", industry_code="F5110"),
]

APPROVAL = [
    # no USCC: linked by normalized name (full-width, 有限责任公司 → 有限公司), not to the branch
    dict(name="福州(中国)ABC食品有限公司", licence_type="食品经营许可证", licence_no="JY13501020000001",
         valid_from="2024-01-01", valid_to="2029-12-31", status="有效"),
    # by USCC, 长期 validity
    dict(uscc=FACTORY, name="福州重工机械股份有限公司", licence_type="特种设备使用登记证", licence_no="起11闽A00001(23)",
         valid_from="2023-05-01", valid_to="长期"),
    # expired on as_of: not counted, no category
    dict(uscc=SOFT, name="福州云码软件有限公司", licence_type="药品经营许可证", licence_no="闽AA5910001",
         valid_from="2021-01-01", valid_to="2026-06-29", status="有效"),
    # revoked: not counted
    dict(uscc=SOFT, name="福州云码软件有限公司", licence_type="化妆品生产许可证", licence_no="闽妆20200001",
         valid_from="2021-01-01", valid_to="2030-01-01", status="吊销"),
    # name + address (extra column 地址) singles out one of two same-named 个体工商户
    {"name": "鼓楼区张三小吃店", "licence_type": "食品经营许可证", "licence_no": "JY23501020000002",
     "valid_from": "2025-01-01", "valid_to": "2030-01-01", "地址": "鼓楼区东街1号"},
    # same name, no address: ambiguous — kept, never guessed
    dict(name="鼓楼区张三小吃店", licence_type="食品经营许可证", licence_no="JY23501020000003",
         valid_from="2025-01-01", valid_to="2030-01-01"),
    # nobody of that name
    dict(name="不存在的公司", licence_type="食品经营许可证", licence_no="JY23501020000004"),
    # USCC not in the pool
    dict(uscc=NOT_IN_POOL, name="外地食品有限公司", licence_type="食品生产许可证", licence_no="SC10635010200001"),
    # reg_no-only enterprise: linked by name; industrial product by licence number XK…
    dict(name="鼓楼区王五水果店", licence_type="生产许可证", licence_no="XK13-014-00001",
         valid_from="2024-01-01", valid_to="2027-01-01"),
]

CREDIT = [
    dict(uscc=FOOD, grade="A类", classified_on="2025-06-01"),
    dict(uscc=FOOD, grade="较高风险", domain="通用", classified_on="2026-05-01"),
    dict(uscc=FOOD, grade="4", domain="食品", classified_on="2026-05-01"),
    dict(uscc=FACTORY, grade="B", classified_on="2026-04-01"),
    dict(uscc=NOT_IN_POOL, grade="A", classified_on="2026-04-01"),
]

R_LEGACY = "R" + LEGACY_REG_NO


def build(warehouse: Path, *, extra_registration: list[dict] | None = None) -> None:
    write_raw(warehouse, "registration", REGISTRATION_V1 + BAND_REGISTRATIONS, agency=SAMR, source_file=f"{SAMR}/registration/v1.csv",
              mtime=datetime(2026, 1, 1, 8))
    write_raw(warehouse, "registration", REGISTRATION_V2, agency=SAMR, source_file=f"{SAMR}/registration/v2.csv",
              mtime=datetime(2026, 3, 2, 8))
    write_raw(warehouse, "registration", REGISTRATION_V3, agency=SAMR, source_file=f"{SAMR}/registration/v3.csv",
              mtime=datetime(2026, 4, 2, 8))
    if extra_registration:
        write_raw(warehouse, "registration", extra_registration, agency=SAMR,
                  source_file=f"{SAMR}/registration/v4.csv", mtime=datetime(2026, 5, 2, 8))
    write_raw(warehouse, "approval", APPROVAL, agency=XZSP, source_file=f"{XZSP}/approval/a1.csv")
    write_raw(warehouse, "credit_risk", CREDIT, agency=SAMR, source_file=f"{SAMR}/credit_risk/c1.csv")
    run_dbt(warehouse, AS_OF, *SELECT)


def rows(warehouse: Path, sql: str) -> list[dict]:
    return warehouse_rows(warehouse, sql)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    wh = tmp_path_factory.mktemp("pool") / "warehouse"
    build(wh)
    return wh


@pytest.fixture(scope="module")
def pool(warehouse) -> dict[str, dict]:
    return {r["enterprise_id"]: r for r in rows(warehouse, "select * from enterprise_pool")}


CONTRACT_COLUMNS = ["enterprise_id", "uscc", "reg_no", "name", "name_normalized", "entity_kind", "status",
                    "is_active", "region_code", "industry_code", "sector", "scale", "categories", "carrier",
                    "credit_grade", "key_supervision", "licence_count", "sources"]


def test_contract_columns_one_row_per_enterprise(warehouse, pool):
    got = rows(warehouse, "select * from enterprise_pool")
    assert list(got[0])[: len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    ids = [r["enterprise_id"] for r in got]
    assert len(ids) == len(set(ids))
    expected_ids = {FOOD, FOOD_BRANCH, FACTORY, BUILDER, FARM, SHOP, BANK, TRUCKS, SOFT, ESTATE, LEASE, SALON,
                    CHANGED, SOCIAL, ZHANG_A, ZHANG_B, R_LEGACY, PAIRED, *BAND_IDS}
    assert set(ids) == expected_ids


@pytest.mark.parametrize("eid, sector, scale, basis", [
    (FOOD, "F", "small", "retail: X=12≥10, Y=150≥100 → small"),
    (FACTORY, "C", "large", "industry: X=1200≥1000, Y=45000≥40000 → large"),
    (BUILDER, "E", "medium", "construction: Y=90000≥6000, Z=79999≥5000 → medium"),
    (FARM, "A", "micro", "agriculture: Y=49<50 → micro"),
    (SHOP, "H", "micro", "accommodation_catering: X=3<10, Y=40<100 → micro"),
    (BANK, "J", "unknown", "finance (sector J): no thresholds for this industry → unknown"),
    (TRUCKS, "G", "small", "transport: X=25≥20, Y=250≥200 → small"),
    (SOFT, "I", "medium", "software_it: X=150≥100, Y=3000≥1000 → medium"),
    (ESTATE, "K", "large", "real_estate_development: Y=250000≥200000, Z=1000000≥10000 → large"),
    (LEASE, "L", "unknown", "leasing_business: missing Z → unknown"),
    (SALON, "O", "micro", "other: X=8<10 → micro"),
    (SOCIAL, "S", "unknown", "not_covered (sector S): no thresholds for this industry → unknown"),
    (R_LEGACY, "F", "unknown", "retail: missing X, Y → unknown"),
    (PAIRED, "F", "medium", "retail: X=60≥50, Y=600≥500 → medium"),
])
def test_sector_and_scale(pool, eid, sector, scale, basis):
    row = pool[eid]
    assert (row["sector"], row["scale"], row["scale_basis"]) == (sector, scale, basis)


@pytest.mark.parametrize("i", range(len(BANDS)), ids=[f"{b[0]}-{b[5]}" for b in BANDS])
def test_every_band_of_five_industries_and_every_sector_letter(pool, i):
    code, x, y, z, sector, scale = BANDS[i]
    row = pool[BAND_IDS[i]]
    assert (row["sector"], row["scale"]) == (sector, scale), row["scale_basis"]


def test_bands_cover_every_sector_letter(pool):
    assert {r["sector"] for r in pool.values()} >= set("ABCDEFGHIJKLMNOPQRST")


def test_sector_basis_keeps_raw_code(pool):
    assert pool[FOOD]["industry_code"] == "F5211"
    assert pool[FOOD]["sector_basis"] == "industry_code F5211 (raw 5211) → F 批发和零售业"


@pytest.mark.parametrize("eid, kind", [
    (FOOD, "enterprise"), (FOOD_BRANCH, "branch"), (FARM, "farmer_coop"), (SHOP, "individual_business"),
    (SOCIAL, "other"), (R_LEGACY, "individual_business"), (ZHANG_A, "individual_business"),
])
def test_entity_kind(pool, eid, kind):
    assert pool[eid]["entity_kind"] == kind, pool[eid]["entity_kind_basis"]


def test_branch_kept_distinct_from_parent(pool):
    parent, branch = pool[FOOD], pool[FOOD_BRANCH]
    assert parent["name_normalized"] == "福州中国abc食品有限公司"
    assert branch["name_normalized"] == "福州中国abc食品有限公司宁波分公司"
    # the parent's licence (linked by name) does not leak to the branch
    assert parent["licence_count"] == 1 and branch["licence_count"] == 0
    assert branch["categories"] == []


@pytest.mark.parametrize("eid, categories, licence_count", [
    (FOOD, ["food"], 1),                       # licence (by name) + scope 预包装食品销售
    (FACTORY, ["special_equipment"], 1),       # 特种设备使用登记证 by USCC, valid 长期
    (SOFT, ["medical_device"], 0),             # scope only; expired drug licence and revoked cosmetic one don't count
    (SHOP, ["food"], 0),                       # scope 餐饮服务
    (SALON, [], 0),                            # 不含危险化学品 is not industrial_product
    (ZHANG_A, ["food"], 1),                    # name + address link
    (ZHANG_B, [], 0),                          # the ambiguous licence went nowhere
    (R_LEGACY, ["industrial_product"], 1),     # licence number XK…, enterprise known by 注册号 only
])
def test_categories_and_licence_count(pool, eid, categories, licence_count):
    row = pool[eid]
    assert (row["categories"], row["licence_count"]) == (categories, licence_count), row["category_basis"]
    assert row["key_supervision"] is bool(categories)


def test_category_sources_are_explained(warehouse, pool):
    assert pool[FOOD]["category_basis"] == (
        "food ← licence JY13501020000001 (食品经营许可证, valid 2024-01-01 to 2029-12-31); "
        "food ← business_scope contains 食品"
    )
    tags = rows(warehouse, f"select tag, value, rule, source from enterprise_tags where enterprise_id = '{FOOD}' "
                           "and tag = 'category' order by source")
    assert [(t["value"], t["source"].split(":")[0]) for t in tags] == [("food", "approval"), ("food", "registration")]
    assert tags[0]["rule"] == "licence_categories L01: licence_type contains 食品"


def test_tags_are_unique_on_their_key(warehouse):
    # the build tests the view's three parts, not the union (see enterprise_tags in
    # _enterprise_marts.yml): here the union, on rows that give FOOD two 'food' tags
    assert rows(warehouse, "select enterprise_id, tag, value, source, count(*) as n from enterprise_tags "
                           "group by all having count(*) > 1") == []
    # and every row of the parts is one tag: five or six per pool row (sector when known),
    # one per grade, one per evidence
    [counts] = rows(warehouse, "select (select count(*) from enterprise_tags) as tags, "
                               "(select 5 * count(*) + count(sector) from enterprise_pool)"
                               " + (select count(*) from enterprise_credit_grades)"
                               " + (select count(*) from int_enterprise__category_evidence) as parts")
    assert counts["tags"] == counts["parts"] > 5 * 16


@pytest.mark.parametrize("eid, carrier", [
    (FOOD, "online_offline"),   # 网络销售 in scope + premises
    (SHOP, "online"),           # online_shop 是, no address
    (FACTORY, "offline"),
])
def test_carrier(pool, eid, carrier):
    assert pool[eid]["carrier"] == carrier, pool[eid]["carrier_basis"]


def test_latest_registration_wins(pool):
    row = pool[CHANGED]
    assert row["name"] == "福州新名贸易有限公司"      # v2 (updated 2026-03-01), not the undated v3
    assert row["status"] == "注销" and row["is_active"] is False
    assert row["version_count"] == 3
    assert pool[FOOD]["is_active"] is True


def test_reg_no_identity(pool):
    assert pool[R_LEGACY]["uscc"] is None and pool[R_LEGACY]["reg_no"] == LEGACY_REG_NO
    # first delivered under its 注册号, later with its USCC: one enterprise, keyed by the USCC
    assert pool[PAIRED]["reg_no"] == PAIRED_REG_NO and "R" + PAIRED_REG_NO not in pool


def test_credit_grade_latest_general(warehouse, pool):
    assert pool[FOOD]["credit_grade"] == "C"         # 较高风险 (2026-05-01) beats A类 (2025-06-01)
    assert pool[FACTORY]["credit_grade"] == "B"
    assert pool[SOFT]["credit_grade"] is None
    grades = rows(warehouse, f"select domain, grade from enterprise_credit_grades where enterprise_id = '{FOOD}' "
                             "order by domain")
    assert grades == [{"domain": "general", "grade": "C"}, {"domain": "食品", "grade": "D"}]


def test_sources(pool):
    assert pool[FOOD]["sources"] == ["approval", "credit_risk", "registration"]
    assert pool[SOFT]["sources"] == ["approval", "registration"]
    assert pool[BUILDER]["sources"] == ["registration"]


def test_links_and_unlinked_rows(warehouse):
    links = {r["licence_no"]: r for r in rows(warehouse, "select * from int_licence__linked")}
    assert (links["JY13501020000001"]["link_method"], links["JY13501020000001"]["enterprise_id"]) == ("name", FOOD)
    assert (links["JY23501020000002"]["link_method"], links["JY23501020000002"]["enterprise_id"]) == (
        "name_address", ZHANG_A)
    assert links["JY23501020000003"]["link_method"] == "ambiguous"
    assert links["JY23501020000003"]["enterprise_id"] is None
    assert sorted(links["JY23501020000003"]["candidate_ids"]) == sorted([ZHANG_A, ZHANG_B])
    assert links["XK13-014-00001"]["enterprise_id"] == R_LEGACY
    unlinked = {(r["feed"], r["record_key"]): (r["link_method"], r["link_note"])
                for r in rows(warehouse, "select * from int_enterprise__unlinked")}
    assert unlinked == {
        ("approval", "JY23501020000003"): ("ambiguous", "ambiguous_name"),
        ("approval", "JY23501020000004"): ("none", "name_not_in_pool"),
        ("approval", "SC10635010200001"): ("none", "uscc_not_in_pool"),
        ("credit_risk", f"{NOT_IN_POOL}/general"): ("none", "uscc_not_in_pool"),
    }


def test_published_tags_read_the_pool_tags_from_the_published_pool(tmp_path, warehouse, monkeypatch):
    """enterprise_tags' pool tags are read in order from the pool's published file (through
    macros/pool_tag_rows.sql, as the view reads the pool table): the same file as sorting them."""
    monkeypatch.setattr(publish, "RANGE_CELLS", 6 * 60)  # ranges of 60 rows: a tag a range here
    in_order = spy_in_order(monkeypatch)
    con = duckdb.connect(str(warehouse / "ssj.duckdb"), read_only=True)
    try:
        publish.publish_parquet(con, "enterprise_pool", tmp_path)
        publish.publish_parquet(con, "enterprise_tags", tmp_path / "in_order",
                                {"enterprise_pool": tmp_path / "enterprise_pool.parquet"})
        publish.publish_parquet(con, "enterprise_tags", tmp_path / "sorted")
        [(pool_tags,)] = con.execute("select count(*) from enterprise_tags where tag in "
                                     "('sector', 'scale', 'carrier', 'entity_kind', 'is_active', 'key_supervision')"
                                     ).fetchall()
    finally:
        con.close()
    assert sum(in_order) == pool_tags > 5 * 16
    assert (tmp_path / "in_order" / "enterprise_tags.parquet").read_bytes() == \
        (tmp_path / "sorted" / "enterprise_tags.parquet").read_bytes()


def test_rebuild_is_identical_and_a_newer_file_changes_one_enterprise(tmp_path, warehouse):
    query = "select * exclude (source_file, source_row, agency) from enterprise_pool order by enterprise_id"
    before = rows(warehouse, query)
    wh2 = tmp_path / "warehouse"
    build(wh2)
    assert rows(wh2, query) == before

    wh3 = tmp_path / "warehouse3"
    build(wh3, extra_registration=[dict(uscc=BUILDER, name="福州建工集团有限公司", status="存续",
                                         industry_code="E4710", revenue="90000", total_assets="80000",
                                         updated_at="2026-05-01", address="福州市鼓楼区建设路3号")])
    after = {r["enterprise_id"]: r for r in rows(wh3, "select * exclude (source_file, source_row, agency) "
                                                      "from enterprise_pool")}
    changed = {eid for eid, r in after.items() if r != {x["enterprise_id"]: x for x in before}[eid]}
    assert changed == {BUILDER}
    assert after[BUILDER]["scale"] == "large" and after[BUILDER]["name"] == "福州建工集团有限公司"
