"""Tags checked against the standards they come from, one real business a rule.

Each enterprise below is one registration row (and, for the licence rules, one
approval row) that an earlier reading of the rules tagged wrongly; each test
follows it through staging → intermediate → enterprise_pool to the published tag.
The sources (docs/domain.md, "What each tag means and where it comes from"):
统计上大中小微型企业划分办法（2017） for scale; 特种设备目录 (2014), 工业产品生产许可证实施目录,
食品安全法 and the licence-number rules for categories; GB 32100-2015 and the
registered name for entity_kind.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.support import make_reg_no, make_uscc, run_dbt, write_raw

pytestmark = pytest.mark.slow

AS_OF = "2026-06-30"
SAMR = "samr-350102"
XZSP = "xzsp-350100"


def u(n: int, prefix: str = "91") -> str:
    return make_uscc(f"{prefix}350102MA3T{n:05d}"[:17])


def company(n: int, name: str, **values) -> dict:
    return dict(uscc=u(n), name=name, entity_type="有限责任公司", status="存续", address=f"福州市鼓楼区标准路{n}号",
                **values)


# --- scale: 统计上大中小微型企业划分办法（2017） -------------------------------------------
RAILWAY = company(1, "福州铁路货运有限公司", industry_code="G5320", employees="500", revenue="5000")
LOADING = company(2, "福州港口装卸搬运有限公司", industry_code="G5910", employees="25", revenue="150")
ESTATE_LETTER_ONLY = company(3, "福州某某房地产有限公司", industry_code="K", employees="50")
LANDLORD = company(4, "福州自有物业租赁有限公司", industry_code="K7040", employees="50")
SCHOOL = company(5, "福州某某培训学校有限公司", industry_code="P8391", employees="50")
CLINIC = company(6, "福州某某门诊部有限公司", industry_code="Q8425", employees="50")
CARE_HOME = company(7, "福州某某养老服务有限公司", industry_code="Q8514", employees="50")
ASSOCIATION = dict(uscc=make_uscc("51350102MJ3T00001"), name="福州市鼓楼区某某行业协会", industry_code="S9521",
                   employees="8")
AGENCY_OFFICE = dict(uscc=make_uscc("Y1350102MJ3T00002"), name="某某国际交流基金会福州代表处",
                     industry_code="T9700", employees="8")

# --- categories from the business scope -------------------------------------------------
PET_SHOP = company(20, "福州萌宠宠物用品有限公司", industry_code="F5299", business_scope="宠物食品及用品零售;宠物服务")
PET_SHOP_WITH_FOOD = company(21, "福州萌宠便利有限公司", industry_code="F5299",
                             business_scope="宠物食品及用品零售;食品销售(仅销售预包装食品)")
FOOD_MACHINERY = company(22, "福州食品机械制造有限公司", industry_code="C3531",
                         business_scope="食品、酒、饮料及茶生产专用设备制造;农副食品加工专用设备制造")
FOOD_PACKAGING = company(23, "福州食品包装有限公司", industry_code="C2926",
                         business_scope="食品用塑料包装容器工具制品生产;塑料制品制造")
FOOD_DETERGENT = company(24, "福州洁净日化有限公司", industry_code="C2681",
                         business_scope="食品用洗涤剂生产;日用化学产品制造")
FOOD_RELATED = company(25, "福州食品相关产品有限公司", industry_code="C2231", business_scope="食品相关产品生产")
PRECURSOR_TRADER = company(26, "福州化工贸易有限公司", industry_code="F5162",
                           business_scope="非药品类易制毒化学品经营;化工产品销售(不含许可类化工产品)")
VET_SHOP = company(27, "福州兽药店有限公司", industry_code="F5169", business_scope="兽用药品销售;饲料销售")
CHEMICALS_NOT_LISTED = company(28, "福州化工材料有限公司", industry_code="F5162",
                               business_scope="化工产品销售，不含易制毒化学品、危险化学品")
CHEMICALS_EXCEPTED = company(29, "福州化工原料有限公司", industry_code="F5162",
                             business_scope="化工产品销售，危险化学品除外")
CHEMICALS_OTHER_THAN = company(30, "福州化工用品有限公司", industry_code="F5162",
                               business_scope="除危险化学品以外的化工产品销售")
DEMOLITION = company(31, "福州拆除工程有限公司", industry_code="E5021",
                     business_scope="建筑物拆除作业;危险化学品经营")
FORKLIFT_DEALER = company(32, "福州叉车销售有限公司", industry_code="F5179",
                          business_scope="叉车销售;场（厂）内专用机动车辆维修")
CRANE_HIRE = company(33, "福州起重吊装有限公司", industry_code="L7113", business_scope="起重机租赁;起重设备安装服务")
GAS_CYLINDERS = company(34, "福州气体充装有限公司", industry_code="F5162", business_scope="气瓶充装;气体销售")
PRODUCE_STALL = company(35, "福州鲜果果品有限公司", industry_code="F5223", business_scope="食用农产品零售")
COTTON_GINNER = company(36, "福州棉麻初加工有限公司", industry_code="A0513", business_scope="非食用农产品初加工")
CEMENT_PLANT = company(37, "福州水泥有限公司", industry_code="C3011", business_scope="水泥生产;水泥制品销售")
PRECAST_CONCRETE = company(38, "福州混凝土构件有限公司", industry_code="C3021", business_scope="水泥制品制造")
REBAR_MILL = company(39, "福州钢筋有限公司", industry_code="C3130", business_scope="建筑用钢筋产品生产")
CABLE_MAKER = company(40, "福州线缆有限公司", industry_code="C3831", business_scope="电线、电缆制造")

# --- categories from licences -------------------------------------------------------------
PROVINCIAL_XK = company(50, "福州化肥有限公司", industry_code="C2621")
PRECURSOR_LICENSED = company(51, "福州试剂贸易有限公司", industry_code="F5162")
FOOD_CONTACT_LICENSED = company(52, "福州餐盒有限公司", industry_code="C2926")
LIFT_MAKER_TS = company(53, "福州电梯制造有限公司", industry_code="C3435")

# --- entity kinds ---------------------------------------------------------------------------
def branch(n: int, name: str) -> dict:
    """A branch registered with its own 91 USCC, delivered with 企业类型 blank."""
    return dict(uscc=u(n), name=name, status="存续", industry_code="J6820", address=f"福州市鼓楼区金融街{n}号")


INSURER_SUB_BRANCH = branch(60, "某某财产保险股份有限公司福州市鼓楼支公司")
BROKER_OFFICE = branch(61, "某某证券股份有限公司福州五四路证券营业部")
BANK_BRANCH = branch(62, "某某银行股份有限公司福州分行")
BANK_SUB_BRANCH = branch(63, "某某银行股份有限公司福州鼓楼支行")
FIRM_OFFICE = branch(64, "某某工程咨询有限公司福州办事处")
SHOP_REG_NO = make_reg_no("35010260300001")
NOODLE_SHOP_BRANCH_NAMED = dict(reg_no=SHOP_REG_NO, name="鼓楼区张记面馆二分店", entity_type="个体工商户", status="存续",
                                industry_code="H6210")

REGISTRATION = [
    RAILWAY, LOADING, ESTATE_LETTER_ONLY, LANDLORD, SCHOOL, CLINIC, CARE_HOME, ASSOCIATION, AGENCY_OFFICE,
    PET_SHOP, PET_SHOP_WITH_FOOD, FOOD_MACHINERY, FOOD_PACKAGING, FOOD_DETERGENT, FOOD_RELATED, PRECURSOR_TRADER,
    VET_SHOP, CHEMICALS_NOT_LISTED, CHEMICALS_EXCEPTED, CHEMICALS_OTHER_THAN, DEMOLITION, FORKLIFT_DEALER,
    CRANE_HIRE, GAS_CYLINDERS, PRODUCE_STALL, COTTON_GINNER, CEMENT_PLANT, PRECAST_CONCRETE, REBAR_MILL,
    CABLE_MAKER, PROVINCIAL_XK, PRECURSOR_LICENSED, FOOD_CONTACT_LICENSED, LIFT_MAKER_TS,
    INSURER_SUB_BRANCH, BROKER_OFFICE, BANK_BRANCH, BANK_SUB_BRANCH, FIRM_OFFICE, NOODLE_SHOP_BRANCH_NAMED,
]


def licence(holder: dict, licence_type: str, licence_no: str) -> dict:
    return dict(uscc=holder["uscc"], name=holder["name"], licence_type=licence_type, licence_no=licence_no,
                valid_from="2024-01-01", valid_to="2029-12-31", status="有效")


APPROVAL = [
    licence(PROVINCIAL_XK, "生产许可证", "（鄂）XK13-001-00001"),
    licence(PRECURSOR_LICENSED, "非药品类易制毒化学品经营备案证明", "（闽）3J35010200001"),
    licence(FOOD_CONTACT_LICENSED, "食品相关产品生产许可证", "闽食相2024001"),
    licence(LIFT_MAKER_TS, "生产许可证", "TS3135010-2027"),
]


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> dict[str, dict]:
    warehouse = tmp_path_factory.mktemp("standards") / "warehouse"
    write_raw(warehouse, "registration", REGISTRATION, agency=SAMR, source_file=f"{SAMR}/registration/r1.csv")
    write_raw(warehouse, "approval", APPROVAL, agency=XZSP, source_file=f"{XZSP}/approval/a1.csv")
    run_dbt(warehouse, AS_OF, "build", "--select", "+enterprise_pool +enterprise_credit_grades", "--exclude-resource-type", "unit_test")
    con = duckdb.connect(str(Path(warehouse) / "ssj.duckdb"), read_only=True)
    try:
        cur = con.execute("select * from enterprise_pool")
        cols = [d[0] for d in cur.description]
        return {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}
    finally:
        con.close()


def tagged(pool: dict, registration: dict) -> dict:
    return pool[registration.get("uscc") or "R" + registration["reg_no"]]


def scale_of(pool, registration) -> tuple[str, str]:
    row = tagged(pool, registration)
    return row["scale"], row["scale_basis"]


def categories_of(pool, registration) -> tuple[list, bool]:
    row = tagged(pool, registration)
    assert row["key_supervision"] is bool(row["categories"]), row["category_basis"]
    return row["categories"], row["category_basis"]


# --- scale -----------------------------------------------------------------------------------
def test_a_railway_freight_company_has_no_scale_since_transport_excludes_rail(pool):
    assert scale_of(pool, RAILWAY) == ("unknown", "not_covered (division 53): no thresholds for this industry → unknown")


def test_a_loading_company_is_sized_as_transport_not_as_warehousing(pool):
    # 交通运输业 small needs Y ≥ 200 (仓储业 small: Y ≥ 100)
    assert scale_of(pool, LOADING) == ("micro", "transport: X=25≥20, Y=150<200 → micro")


def test_a_real_estate_firm_coded_by_its_section_letter_alone_has_no_scale(pool):
    assert scale_of(pool, ESTATE_LETTER_ONLY)[0] == "unknown"


def test_a_company_letting_its_own_property_has_no_scale(pool):
    assert scale_of(pool, LANDLORD) == ("unknown", "not_covered (group 704): no thresholds for this industry → unknown")


def test_a_training_school_has_no_scale(pool):
    assert scale_of(pool, SCHOOL)[0] == "unknown"


def test_a_clinic_has_no_scale(pool):
    assert scale_of(pool, CLINIC) == ("unknown", "not_covered (division 84): no thresholds for this industry → unknown")


def test_an_elderly_care_home_is_sized_as_other_unlisted_industry(pool):
    assert scale_of(pool, CARE_HOME) == ("small", "other: X=50≥10 → small")


def test_a_trade_association_has_no_scale(pool):
    assert scale_of(pool, ASSOCIATION)[0] == "unknown"


def test_an_international_organisations_office_has_no_scale(pool):
    assert scale_of(pool, AGENCY_OFFICE)[0] == "unknown"


# --- categories from the business scope ------------------------------------------------------
def test_a_pet_food_shop_is_not_a_food_business(pool):
    assert categories_of(pool, PET_SHOP)[0] == []


def test_a_pet_shop_that_also_sells_packaged_food_is_a_food_business(pool):
    assert categories_of(pool, PET_SHOP_WITH_FOOD)[0] == ["food"]


def test_a_food_machinery_maker_is_not_a_food_business(pool):
    assert categories_of(pool, FOOD_MACHINERY)[0] == []


def test_a_food_packaging_maker_is_an_industrial_product_business_not_a_food_one(pool):
    assert categories_of(pool, FOOD_PACKAGING) == (
        ["industrial_product"], "industrial_product ← business_scope contains 食品用塑料包装")


def test_a_maker_of_detergent_for_food_use_is_an_industrial_product_business_not_a_food_one(pool):
    assert categories_of(pool, FOOD_DETERGENT)[0] == ["industrial_product"]


def test_a_maker_of_food_related_products_is_an_industrial_product_business_not_a_food_one(pool):
    assert categories_of(pool, FOOD_RELATED)[0] == ["industrial_product"]


def test_a_precursor_chemicals_trader_is_not_a_drug_business(pool):
    assert categories_of(pool, PRECURSOR_TRADER)[0] == []


def test_a_veterinary_drug_shop_is_not_a_drug_business(pool):
    assert categories_of(pool, VET_SHOP)[0] == []


def test_a_chemicals_shop_excluding_precursors_and_hazardous_chemicals_does_not_sell_them(pool):
    assert categories_of(pool, CHEMICALS_NOT_LISTED)[0] == []


def test_a_chemicals_shop_with_hazardous_chemicals_excepted_does_not_sell_them(pool):
    assert categories_of(pool, CHEMICALS_EXCEPTED)[0] == []


def test_a_shop_selling_chemicals_other_than_hazardous_ones_does_not_sell_them(pool):
    assert categories_of(pool, CHEMICALS_OTHER_THAN)[0] == []


def test_a_demolition_firm_trading_hazardous_chemicals_still_trades_them(pool):
    # 拆除 is no 除…外 clause
    assert categories_of(pool, DEMOLITION)[0] == ["industrial_product"]


def test_a_forklift_dealer_is_a_special_equipment_business(pool):
    assert categories_of(pool, FORKLIFT_DEALER)[0] == ["special_equipment"]


def test_a_crane_hire_company_is_a_special_equipment_business(pool):
    assert categories_of(pool, CRANE_HIRE)[0] == ["special_equipment"]


def test_a_gas_cylinder_filling_station_is_a_special_equipment_business(pool):
    assert categories_of(pool, GAS_CYLINDERS)[0] == ["special_equipment"]


def test_a_fresh_produce_stall_is_a_food_business(pool):
    assert categories_of(pool, PRODUCE_STALL)[0] == ["food"]


def test_a_cotton_ginner_is_not_a_food_business(pool):
    assert categories_of(pool, COTTON_GINNER)[0] == []


def test_a_cement_plant_is_an_industrial_product_business(pool):
    assert categories_of(pool, CEMENT_PLANT)[0] == ["industrial_product"]


def test_a_precast_concrete_maker_is_not_an_industrial_product_business(pool):
    assert categories_of(pool, PRECAST_CONCRETE)[0] == []


def test_a_rebar_mill_is_an_industrial_product_business(pool):
    assert categories_of(pool, REBAR_MILL)[0] == ["industrial_product"]


def test_a_cable_maker_writing_wire_and_cable_apart_is_an_industrial_product_business(pool):
    assert categories_of(pool, CABLE_MAKER)[0] == ["industrial_product"]


# --- categories from licences ----------------------------------------------------------------
def test_a_fertiliser_maker_licensed_by_its_province_is_an_industrial_product_business(pool):
    assert categories_of(pool, PROVINCIAL_XK) == (
        ["industrial_product"], "industrial_product ← licence (鄂)XK13-001-00001 (生产许可证, valid 2024-01-01 to 2029-12-31)")


def test_a_licensed_precursor_chemicals_trader_is_not_a_drug_business(pool):
    row = tagged(pool, PRECURSOR_LICENSED)
    assert (row["categories"], row["licence_count"]) == ([], 1)


def test_a_licensed_food_container_maker_is_an_industrial_product_business_not_a_food_one(pool):
    assert categories_of(pool, FOOD_CONTACT_LICENSED)[0] == ["industrial_product"]


def test_a_lift_maker_with_a_ts_licence_number_is_a_special_equipment_business(pool):
    assert categories_of(pool, LIFT_MAKER_TS)[0] == ["special_equipment"]


# --- entity kinds ----------------------------------------------------------------------------
@pytest.mark.parametrize("registration", [INSURER_SUB_BRANCH, BROKER_OFFICE, BANK_BRANCH, BANK_SUB_BRANCH, FIRM_OFFICE],
                         ids=["insurer_sub_branch_支公司", "securities_branch_office_营业部", "bank_branch_分行",
                              "bank_sub_branch_支行", "firm_office_办事处"])
def test_a_branch_named_by_its_kind_with_a_blank_enterprise_type_is_a_branch(pool, registration):
    row = tagged(pool, registration)
    assert row["entity_kind"] == "branch", row["entity_kind_basis"]


def test_an_individual_noodle_shop_named_second_branch_is_an_individual_business(pool):
    row = tagged(pool, NOODLE_SHOP_BRANCH_NAMED)
    assert row["entity_kind"] == "individual_business", row["entity_kind_basis"]
