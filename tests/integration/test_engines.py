"""The same raw files give the same rows on DuckDB and on Spark (docs/engines.md).

One warehouse, one raw store: dbt builds the models that run on Spark so far
(``SPARK_SELECTION``, then the ledger snapshot, the staging models, the intermediate
models and the marts) with DuckDB
(its target ``duckdb``, in a subprocess, as the pipeline runs it) and with local
Spark (target ``spark``, dbt-spark's session method in this process, on the session
pipelines/engine.py opens); every table is then compared row by row (a SHA-256 per
row, in any order), and so are the raw store's source tables as each engine reads
them, the value rules' two formulations, and the JSON columns.

Needs the spark extra (``make install-spark``): skipped without pyspark, saying
so — unless ``SSJ_REQUIRE_SPARK=1`` (``make test-spark``), where a missing
pyspark fails instead of hiding the comparison.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pyarrow.compute as pc
import pytest
import yaml

from pipelines import engine
from pipelines.defs.ingest.raw_store import ledger_dir, write_json_atomically
from tests.support import DBT_DIR, make_uscc, run_dbt, write_raw

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = "2026-06-30"
SPARK_SELECTION = "resource_type:seed stg_calendar"
"""What runs on Spark so far: every seed (with its data tests) and the first models."""

STAGED_ON_SPARK = ("stg_registration", "stg_approval", "stg_credit_risk", "stg_inspectors", "stg_draw_list",
                   "stg_items", "stg_plans", "stg_results", "stg_links")
"""The staging models whose every macro has a Spark twin (built after the ledger snapshot stg_ledger)."""

INTERMEDIATE_ON_SPARK = ("int_items__current", "int_plans__current", "int_inspector__current", "int_licence__current",
                         "int_credit__current", "int_registration__current", "int_registration__former_names",
                         "int_links__checked", "int_links__current", "int_licence__linked", "int_credit__linked",
                         "int_enterprise__unlinked", "int_enterprise__profile", "int_enterprise__scale",
                         "int_enterprise__category_evidence", "int_enterprise__categories")
"""The intermediate models whose every macro has a Spark twin (built from the staging models)."""

MARTS_ON_SPARK = ("enterprise_pool", "enterprise_credit_grades", "enterprise_tags")
"""The marts whose every macro has a Spark twin (built from the intermediate models)."""

RAW_TABLES = ("registration", "approval", "results", "ledger", "agencies", "calendar")


@pytest.fixture(scope="module")
def spark_ready() -> None:
    if engine.spark_available():
        return
    message = "needs pyspark and dbt-spark (make install-spark) to build the models on Spark"
    if os.environ.get("SSJ_REQUIRE_SPARK") == "1":
        pytest.fail(f"SSJ_REQUIRE_SPARK=1 but this test {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def warehouse(spark_ready, tmp_path_factory) -> Path:
    """One raw store with rows of several feeds (personal data, full-width text, an
    extra column, two files of one feed), built by dbt on both engines."""
    wh = tmp_path_factory.mktemp("engines") / "warehouse"
    write_raw(wh, "registration", [
        dict(uscc=make_uscc("91350102MA2Y00001"), name="福州（中国）ＡＢＣ食品有限公司", status="存续",
             industry_code="5211", employees="12", revenue="150万元", updated_at="2025-01-02",
             address="福建省福州市鼓楼区五四路１号",
             business_scope="食品销售（不含冷藏冷冻食品）；餐饮服务，危险化学品除外；拆除工程；除药品以外的医疗器械"),
        dict(uscc=make_uscc("91350102MA2Y00002"), name="鼓楼区李四烧烤店", entity_type="个体工商户", status="吊销，未注销",
             industry_code="F52", legal_rep="李四 350102199001011234", 备注="身份证 350102199001011234"),
        dict(uscc=make_uscc("91350102MA2Y00004"), name="福州（中国）有限责任公司", status="在营（开业）", industry_code="A511",
             reg_capital="abc", established_on="2024-02-30"),
    ], agency="samr-350102", mtime=datetime(2026, 1, 1, 8, 0, 0))
    # a later file: a renamed enterprise (its earlier name a former name), two holders of one name
    write_raw(wh, "registration", [
        dict(reg_no="350102600000013", name="福州旧名贸易有限公司"),
        dict(uscc=make_uscc("91350102MA2Y00004"), name="福州新名科技有限公司", status="存续", industry_code="I65",
             address="鼓楼区五四路2号", online_shop="是", updated_at="2026-01-15"),
        dict(uscc=make_uscc("91350102MA2Y00004"), name="福州（中国）有限责任公司", status="存续", updated_at="2025-06-01"),
        dict(uscc=make_uscc("91350102MA2Y00005"), name="鼓楼区李四烧烤店", entity_type="个体工商户", status="存续",
             business_scope="网络销售食品；药品零售"),
        dict(uscc=make_uscc("91350102MA2Y00006"), name="鼓楼区李四烧烤店", status="注销"),
    ], agency="samr-350102", mtime=datetime(2026, 2, 1, 8, 0, 0))
    write_raw(wh, "approval", [
        dict(uscc=make_uscc("91350102MA2Y00001"), name="福州ＡＢＣ食品有限公司", licence_type="食品经营许可证",
             licence_no="JY1350102 0000001", valid_from="2024/3/5", valid_to="长期有效", issuer="鼓楼区市场监督管理局",
             status="有效", 地址="福建省福州市鼓楼区 五四路１号（A座）"),
        dict(uscc=make_uscc("91350102MA2Y00002"), name="鼓楼区李四烧烤店", licence_type="食品经营许可证", licence_no="JY2",
             valid_from="2026-07-01", address="鼓楼区东街2号", updated_at="2026-01-01"),
        dict(name="过期公司", licence_type="食品经营许可证", licence_no="JY3", valid_to="2025-12-31", status="有效",
             经营场所="台江区江滨中大道8号"),
        dict(uscc="91350102MA2Y0000XX", name="坏代码公司", licence_type="药品经营许可证", licence_no="YP-01",
             valid_to="2024-02-30", 负责人身份证="350102199001011234"),
        dict(name="李四 350102199001011234", licence_type="x\x01", licence_no=None, updated_at="20240101"),
        # linked by a former name, by name and address, ambiguous by name, by name alone
        dict(name="福州（中国）有限责任公司", licence_type="药品经营许可证", licence_no="JY4", status="有效"),
        dict(name="福州（中国）ABC食品有限公司", licence_type="食品经营许可证", licence_no="JY6", address="鼓楼区五四路1号"),
        dict(name="鼓楼区李四烧烤店", licence_type="食品经营许可证", licence_no="JY5", address="台江区江滨中大道9号"),
        dict(name="福州新名科技有限公司", licence_type="食品经营许可证", licence_no="JY7", address="台江区江滨中大道8号"),
    ], agency="xzsp-350100")
    write_raw(wh, "inspectors", [
        dict(cert_no="闽 0102-001", name="王五", id_no="350102199001011234", agency_name="鼓楼区市场监督管理局",
             qualifications="食品；特种设备、食品", specialties="", cert_valid_to="长期", status="在岗"),
        dict(cert_no="X2", name="赵六 350102199001011234", id_no="123", qualifications="a\x01b",
             cert_valid_to="2024-02-30", 证件号码="35010219900101123X"),
    ], agency="samr-350102")
    write_raw(wh, "inspectors", [dict(cert_no="闽 0102-002", name="钱七", agency_name="鼓楼区市场监督管理局",
                                      qualifications="食品", status="在岗")], agency="samr-350102",
              mtime=datetime(2026, 2, 1, 8, 0, 0))
    # one agency's cell of 10,000 digits stages on Spark as on DuckDB (no JVM stack overflow)
    write_raw(wh, "inspectors", [dict(cert_no="Z1", name="孙八", id_no="1", agency_name="q",
                                      unit="".join(str(i % 10) for i in range(10_000)))], agency="samr-350103")
    write_raw(wh, "draw_list", [
        dict(task_id="ssj-2026 01", task_name="食品经营抽查", uscc=make_uscc("91350102MA2Y00001"), name="福州ＡＢＣ食品有限公司",
             items="FOOD-01；FOOD-02, food-01", window_start="2026/3/1", window_end="2026-05-31"),
        dict(task_id="SSJ-2026-01", name="鼓楼区李四烧烤店", window_start="2026-05-31", window_end="2026-03-01",
             items="", 备注="联系人 350102199001011234"),
    ], agency="samr-350102")
    write_raw(wh, "results", [
        dict(task_id="SSJ-2026-01", uscc=make_uscc("91350102MA2Y00001"), result="未发现问题", inspected_on="2026-03-05"),
        dict(task_id="ssj-2026 01", name="鼓楼区李四烧烤店", result="责令 改正！", follow_up="责令限期改正",
             inspected_on="2026/3/6", entered_on="2026-03-05", follow_up_done_on="2026-04-30",
             follow_up_entered_on="2026-05-08", rectified_on="2026-04-01",
             inspectors="闽 0102-001；X2, 350102199001011234"),
        dict(task_id="SSJ-2026-01", uscc="bad", result="其他", inspected_on="2031-01-02", entered_on="2026-13-01"),
    ], agency="samr-350102")
    write_raw(wh, "credit_risk", [
        dict(uscc=make_uscc("91350102MA2Y00001"), name="福州ＡＢＣ食品有限公司", grade="a类", domain="食品", score="85.5",
             classified_on="2025-12-31"),
        dict(uscc=make_uscc("91350102MA2Y00002"), grade="Z", domain="通用", score="high"),
    ], agency="samr-350102")
    # later versions: one dated earlier (the latest stays the dated 2025-12-31), one undated, one of another domain
    write_raw(wh, "credit_risk", [
        dict(uscc=make_uscc("91350102MA2Y00001"), grade="B", domain="食品", classified_on="2025-06-30"),
        dict(uscc=make_uscc("91350102MA2Y00001"), grade="C", domain="食品"),
        dict(uscc=make_uscc("91350102MA2Y00001"), grade="D", domain="通用"),
        dict(uscc=make_uscc("91350102MA2Y00001"), grade="A", domain="通用", classified_on="2024-01-01"),
    ], agency="samr-350102", mtime=datetime(2026, 2, 1, 8, 0, 0))
    write_raw(wh, "items", [
        dict(item_code="food-01", item_name="食品经营者落实主体责任情况检查", category="一般", sectors="F52；5211, 5, 521",
             categories="食品、药品", entity_kinds="企业；个体户", carrier="线上", key_supervision_only="是"),
        dict(item_code="FOOD-02", item_name="食品安全抽检", category="重点检查事项", sectors="A511, F, Z9, F5211.0",
             categories="食品, 玩具", entity_kinds="", carrier="空中", key_supervision_only="maybe"),
        dict(item_code="SE-01", item_name="特种设备", category="x", sectors="", categories="特种设备"),
    ], agency="samr-350102")
    write_raw(wh, "plans", [
        dict(task_id="SSJ-2026-01", task_name="食品经营抽查", items="FOOD-01；food-02", window_start="2026-03-01",
             window_end="2026-05-31", ratio_a="5%", ratio_b="0.1", ratio_d="", coordination="食品联合",
             seed_sha256="AB" * 32),
        dict(task_id="SSJ-2026-03", task_name="食品抽查", items="FOOD-01", window_start="2026-04-01",
             window_end="2026-04-30", ratio_a="0.05", ratio_b="10%"),
        dict(task_id="SSJ-2026-02", items="FOOD-01, FOOD-09", window_start="2026-06-01", window_end="2026-05-01",
             ratio_a="150%", seed_sha256="xyz 350102199001011234"),
    ], agency="samr-350102")
    write_raw(wh, "links", [
        dict(target_feed="抽取名单", agency="samr-350102", source_key="ssj-2026 01", name="鼓楼区李四烧烤店",
             enterprise_id=make_uscc("91350102MA2Y00002"), decided_by="张三", decided_on="2026-06-01"),
        dict(target_feed="x", agency="nowhere", source_key="K1", uscc=make_uscc("91350102MA2Y00001"),
             enterprise_id="R123", decided_on="2026-07-01", note="it's \\ fine"),
        # a steward's link of a licence (approval)
        dict(target_feed="行政许可", agency="xzsp-350100", source_key="JY3", name="过期公司",
             enterprise_id=make_uscc("91350102MA2Y00001"), decided_by="张三", decided_on="2026-06-02"),
    ], agency="samr-350102")
    # a rejected file named after a person, its first row taken for headers: path, error and headers masked
    write_json_atomically(ledger_dir(wh) / "rejected-350102199001011234.json", {
        "path": "samr-350102/registration/李四 350102199001011234.csv", "agency": "samr-350102",
        "feed": "registration", "sha256": "0" * 64, "bytes": 12, "mtime": "2026-01-03 08:00:00", "status": "rejected",
        "rows_read": 0, "error_code": "unknown_headers", "error": "no column of 350102199001011234.csv is known",
        "duplicate_of": None, "format": "csv", "encoding": "gb18030",
        "headers": {"李四 350102199001011234": None, "备注\t\"x\"": "note", "n": [1, 2.5, True]},
        "first_seen_at": "2026-01-03 09:00:00", "processed_at": "2026-01-03 09:00:01"})
    run_dbt(wh, AS_OF, "build", "--select",
            f"{SPARK_SELECTION} stg_ledger {' '.join(STAGED_ON_SPARK + INTERMEDIATE_ON_SPARK + MARTS_ON_SPARK)}",
            "--indirect-selection", "cautious",  # no test of a model built later (relationships)
            "--target", "duckdb")
    spark = engine.Engine("spark")
    spark.prepare(wh, AS_OF)
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["build", "--select", SPARK_SELECTION, "--target", "spark",
                                 "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                                 "--target-path", str(wh / ".dbt" / "spark")])
    assert result.success, f"dbt build on Spark failed: {result.exception or result.result}"
    return wh


def _spark_build(warehouse: Path, *args: str) -> None:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([*args, "--target", "spark", "--project-dir", str(DBT_DIR),
                                 "--profiles-dir", str(DBT_DIR), "--target-path", str(warehouse / ".dbt" / "spark")])
    assert result.success, f"dbt {args[0]} on Spark failed: {result.exception or result.result}"


@pytest.fixture(scope="module")
def staged_on_spark(warehouse) -> list[str]:
    """The ledger snapshot stg_ledger, the staging models, and the intermediate models and marts
    with every macro twinned, built on Spark."""
    _spark_build(warehouse, "run", "--select",
                 " ".join(("stg_ledger",) + STAGED_ON_SPARK + INTERMEDIATE_ON_SPARK + MARTS_ON_SPARK))
    return list(STAGED_ON_SPARK)


def _ledger(engine_name: str, warehouse: Path):
    """stg_ledger's rows; DuckDB's JSON headers as their text (Spark has no JSON type)."""
    ledger = engine.Engine(engine_name).read_table(warehouse, "stg_ledger")
    return ledger.set_column(ledger.column_names.index("headers"), "headers", ledger["headers"].cast("string"))


def test_the_ledger_snapshot_on_spark_holds_duckdbs_rows(warehouse, staged_on_spark):
    rows, spark_rows = _ledger("duckdb", warehouse), _ledger("spark", warehouse)
    assert "rejected" in rows["status"].to_pylist()
    assert any("3501**********1234" in (h or "") for h in rows["headers"].to_pylist())
    assert engine.table_differences(rows, spark_rows) == []


@pytest.mark.parametrize("model", STAGED_ON_SPARK)
def test_a_staging_model_on_spark_holds_duckdbs_rows(warehouse, staged_on_spark, model):
    rows = engine.Engine("duckdb").read_table(warehouse, model)
    spark_rows = engine.Engine("spark").read_table(warehouse, model)
    assert rows.num_rows >= 2 and False in rows["is_accepted"].to_pylist()
    if "staged_at" in rows.column_names:  # the start of each engine's own dbt command
        rows, spark_rows = rows.drop_columns(["staged_at"]), spark_rows.drop_columns(["staged_at"])
    assert engine.table_differences(rows, spark_rows) == []


@pytest.mark.parametrize("model", INTERMEDIATE_ON_SPARK + MARTS_ON_SPARK)
def test_an_intermediate_model_or_mart_on_spark_holds_duckdbs_rows(warehouse, staged_on_spark, model):
    rows = engine.Engine("duckdb").read_table(warehouse, model)
    assert rows.num_rows >= 1
    assert engine.table_differences(rows, engine.Engine("spark").read_table(warehouse, model)) == []


def test_the_licences_link_every_way_on_both(warehouse, staged_on_spark):
    """The test's licences link by steward, USCC, name and address, name, former name, and
    stay ambiguous or unlinked: each way's rows are compared above, so each must be there."""
    methods = set(engine.Engine("duckdb").read_table(warehouse, "int_licence__linked")["link_method"].to_pylist())
    assert {"steward", "uscc", "name_address", "name", "former_name", "ambiguous", "none"} <= methods


def test_every_table_spark_builds_holds_duckdbs_rows(warehouse):
    duckdb_engine, spark = engine.Engine("duckdb"), engine.Engine("spark")
    built = spark.tables(warehouse)
    assert "stg_calendar" in built and "sector_divisions" in built
    assert set(built) <= set(duckdb_engine.tables(warehouse))
    differences = {name: found for name in built
                   if (found := engine.table_differences(*(_without_staged_at(e.read_table(warehouse, name))
                                                           for e in (duckdb_engine, spark))))}
    assert not differences, differences


def _without_staged_at(table):
    return table.drop_columns(["staged_at"]) if "staged_at" in table.column_names else table


def _duckdb_source_rows(warehouse: Path, name: str):
    """A raw source table as the DuckDB models read it: its external_location (__sources.yml)."""
    from pipelines.warehouse import open_warehouse

    sources = yaml.safe_load((DBT_DIR / "models" / "staging" / "__sources.yml").read_text("utf-8"))
    location = {t["name"]: t["meta"]["external_location"] for t in sources["sources"][0]["tables"]}[name]
    with open_warehouse(warehouse, lock=False) as con:
        table = con.sql(f"select * from {location}").to_arrow_table()
    if name == "ledger":  # the placeholder file Spark does not read (stg_ledger drops it)
        table = table.filter(pc.fill_null(pc.not_equal(table["status"], "placeholder"), True))
    return table


@pytest.mark.parametrize("name", RAW_TABLES)
def test_the_raw_store_reads_the_same_on_both(warehouse, name):
    rows = _duckdb_source_rows(warehouse, name)
    spark_rows = engine.spark_session(warehouse).table(f"{engine.RAW_SCHEMA}.{name}").toArrow()
    if name == "ledger":  # DuckDB's JSON headers; Spark's JSON text as written, in DuckDB's form (stg_ledger's)
        from pipelines.spark_json import json_text

        rows = rows.set_column(rows.column_names.index("headers"), "headers", rows["headers"].cast("string"))
        spark_rows = spark_rows.set_column(spark_rows.column_names.index("headers"), "headers",
                                           json_text(spark_rows["headers"].combine_chunks()))
    assert rows.num_rows > 0
    assert engine.table_differences(rows, spark_rows) == []


# ------------------------------------------------------------------ the value rules

DIVISIONS = {"01": "A", "05": "A", "51": "F", "52": "F", "13": "C"}
"""A few divisions of seed sector_divisions, for normalize_industry_code."""


def _rules(macros, prefix: str) -> dict[str, str]:
    """The value rules with a Spark formulation (macros/spark_value_rules.sql,
    spark_normalize_name.sql), each an expression over the text column v."""
    def rule(name):
        return getattr(macros, prefix + name)

    keys, values = ", ".join(f"'{k}'" for k in DIVISIONS), ", ".join(f"'{v}'" for v in DIVISIONS.values())
    divisions = f"map_from_arrays(array({keys}), array({values}))" if prefix else f"map([{keys}], [{values}])"

    issues = [rule("issue")("v is null", "missing_required", "'v: required value is missing'"),
              rule("issue")("length(v) > 3", "too_long", "'v: ' || " + rule("quoted")("v") + " || ' is long'"),
              rule("issue")("v like '%1%'", "has_one", "'v: ' || " + rule("quoted")("v") + " || ' holds a 1'")]
    return {
        **{name: rule(name)("v") for name in ("clean_text", "clean_code", "clean_key", "parse_date", "parse_money",
                                               "parse_int", "parse_number", "parse_ratio", "parse_bool", "split_list",
                                               "split_keys", "uscc_is_valid", "orgcode_is_valid", "reg_no_is_valid",
                                               "id_no_is_valid", "publishable_text", "without_controls",
                                               "vocabulary_word", "quoted")},
        "parse_date open_ended": rule("parse_date")("v", open_ended=True),
        "normalize_industry_code": rule("normalize_industry_code")("v", divisions),
        "normalize_name": rule("normalize_name")("v"),
        "normalize_address": rule("normalize_address")("v"),
        "uscc_is_valid clean_code": rule("uscc_is_valid")(rule("clean_code")("v")),
        "collect_issues": rule("collect_issues")(issues),
        "screen_texts": rule("screen_texts")(["v", ("w", "lower(v)")], codes=[("c", rule("clean_code")("v")), "v"],
                                             json="v"),
    }


CORPUS = [
    None, "", " ", "abc", " a  b ", "ａｂｃ　ｄ", "a\u200bb", "a\x0bb", "a\tb\nc", "a\u00a0b", "91350102-MA2Y 0000 1X",
    "ssj-2026 01", "9135—0102–MA2Y", "2024-03-05", "2024/3/5", "2024.3.5", "20240305", "2024年3月5日",
    "2024-03-05 10:11:12", "2024/3/5 10:11", "2024-03-05T10:11:12+08:00", "2024-03-05T10:11:12Z", "2024-02-30",
    "2024-02-29", "2023-02-29", "1899-12-31", "1900-01-01", "2024-13-01", "长期", "永久有效", "无固定期限",
    "2024 - 03 - 05", "2024-3-05日", "2024-03-05\n", "99999999", "20240230", "150万元", "1,200", "45000",
    "¥1,000元", "RMB 5万", "人民币10万元人民币", "-3.5", "+.5", "1.", "12.0", "35人", "12名", "1e3", "1E-2",
    "5%", "5.5 %", "０.０５", ".05", "1", "0", "-0", "是", "否", "Y", "no", "TRUE", "f", "有", "无", "maybe",
    "123456789012345", "1234567890123456.5", "99999999999999999999", "9223372036854775807",
    "9223372036854775808", "0.1234567", "12.", "1 2 3", "二〇二四年三月五日", "１２３４５", "①②", "٣٤٥",
    "a;b；c、d,e，f|g｜h/i／j", "a; a ;b;;A", " ; ;", "ssj-01 / SSJ-01 ；ｓｓｊ－０２", "食品经营许可证；药品经营许可证",
    "发现问题，依法责令停止", "“无”（已整改）。", "x\x01y\x7f\x85z", "it's \\ 'quoted'", "350102199001011234",
    "身份证 350102199001011234 号", "35010219900101123X", "3501 0219 9001 0112 34", "tel 13800138000 / 0591-87654321",
    '{"a": "x\\u0001y"}', '{"a": "x\\\\u0001y"}', '{"a": "\\b"}', "\x7f", "ID-No 350102199001011234", "350102199002301234", "12345678-9", "D2143569X",
    # a long digit run: Java's regex recursion on the unbounded run overflows the JVM's stack
    "".join(str(i % 10) for i in range(10_000)), " ".join(str(i % 10) for i in range(10_000)),
    "身份证 350102199001011234 " + "7" * 10_000,
    # industry codes and enterprise names
    "5211", "F5211", "F52", "52", "5", "521", "511", "A511", "F511", "F", "Z", "f52", "F 52", "5211.0", "0511", "A0511",
    "福建省福州市鼓楼区五四路1号", "福州市鼓楼区 五四路１号（A座）", "广西壮族自治区南宁市青秀区民族大道", "五四路1号",
    "99", "12345", "C13", "A", "福州（中国）ＡＢＣ食品有限责任公司", "福州 [中国] 【食品】・厂", "Ｘ有限公司宁波分公司\u200b",
]


def _codes() -> list[str]:
    """Valid and nearly valid enterprise and personal codes."""
    from tests.support import make_id_no, make_reg_no, make_uscc

    valid = [make_uscc("91350102MA2Y00001"), make_uscc("93350102MA2Y00005"), make_uscc("52350102MJ0000001"),
             make_reg_no("35010260000001"), make_reg_no("11010200000000"), make_id_no("35010219900101123"),
             make_id_no("11010519491231002"), "91350100M000100Y43", "A1350102MA2Y00001X"]
    near = [v[:-1] + ("0" if v[-1] != "0" else "1") for v in valid]
    return valid + near + [v.lower() for v in valid]


def _random_values(n: int = 400) -> list[str]:
    """Strings over the characters the rules look at, from a fixed seed."""
    import random

    rng = random.Random(20261207)
    alphabet = list("0123456789０１２-/.年月日 :T+Z%,元万人名RMB¥民币是否yn\t\u3000\u200b长期eE;、|X\x01'")
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(n)]


def test_the_value_rules_give_the_same_value_on_both(warehouse):
    """value_rules.sql (DuckDB) and spark_value_rules.sql (Spark), each rendered with plain
    Jinja as tests/unit/test_value_rules.py renders the first, on the same values."""
    import duckdb
    import jinja2
    import pyarrow as pa

    from pipelines.udfs import register

    macros = DBT_DIR / "macros"
    text = (macros / "value_rules.sql").read_text("utf-8") + (macros / "normalize_name.sql").read_text("utf-8")
    on_duckdb = jinja2.Environment().from_string(text).module
    # the Spark twins call value_rules.sql's engine-neutral helpers (list_separators …), as in dbt
    on_spark = jinja2.Environment().from_string(
        text + (macros / "spark_value_rules.sql").read_text("utf-8")
        + (macros / "spark_normalize_name.sql").read_text("utf-8")).module
    values = CORPUS + _codes() + _random_values()
    con = duckdb.connect()
    register(con)
    con.register("corpus", pa.table({"i": list(range(len(values))), "v": pa.array(values, pa.string())}))
    session = engine.spark_session(warehouse)  # the process has one
    session.createDataFrame(list(enumerate(values)), "i int, v string").createOrReplaceTempView("corpus")
    duckdb_rules, spark_rules = _rules(on_duckdb, ""), _rules(on_spark, "spark__")
    differences = {}
    for name, expression in duckdb_rules.items():
        duckdb_values = dict(con.execute(f"select i, {expression} as x from corpus").fetchall())
        spark_values = {r["i"]: r["x"] for r in
                        session.sql(f"select i, {spark_rules[name]} as x from corpus").toArrow().to_pylist()}
        found = [(values[i], duckdb_values[i], spark_values[i]) for i in range(len(values))
                 if engine._plain(duckdb_values[i]) != engine._plain(spark_values[i])]
        if found:
            differences[name] = found[:5]
    assert not differences, differences


def test_dbt_dispatches_the_value_rules_to_spark(warehouse):
    """On the spark target a model's clean_text(...) is the Spark formulation; on DuckDB
    (tests/unit/test_value_rules.py, the compiled models) it stays DuckDB's."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["compile", "--target", "spark", "--inline",
                                 "select {{ parse_date('x') }} as d, {{ clean_code('y') }} as c",
                                 "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                                 "--target-path", str(warehouse / ".dbt" / "spark")])
    assert result.success, result.exception
    sql = result.result.results[0].node.compiled_code
    assert "try_to_date(" in sql and " rlike r'" in sql and "list_transform" not in sql


EXTRAS = [
    None, "", "{}", '{"备注": "无"}', '{"身份证号码": "350102199001011234", "电话": "0591-87654321"}',
    '{"法定代表人证件号码": "35010219900101123X", "n": 12, "f": 1.50, "b": true, "z": null}',
    '{"统一社会信用代码": "91350102MA2Y00001X", "注册号": "350102600000013", "other": "350102199001011234"}',
    '{"a": "x\\u0001y", "b": "\\u007f", "c": "tab\\there", "嵌套": {"id_no": "350102199001011234"}, "l": [1, "2"]}',
    '{"ID_No": "110105194912310021", "note": "call 350102 19900101 1234 now"}', "not json", '"just a string 350102199001011234"',
    '{"k": "é\\u00e9\\ud83d\\ude00"}', '{"dup": 1, "dup": 2}',
]


def test_the_json_columns_are_the_same_text_on_both(warehouse):
    """raw and extra (raw_json, extra_json) on Spark are DuckDB's own text: masked alike,
    keys in the same order, the same escapes."""
    import duckdb
    import jinja2
    import pyarrow as pa

    from pipelines.udfs import register
    from tests.support import make_id_no

    macros = DBT_DIR / "macros"
    text = (macros / "value_rules.sql").read_text("utf-8") + (macros / "staging_helpers.sql").read_text("utf-8")
    on_duckdb = jinja2.Environment().from_string(text).module
    on_spark = jinja2.Environment().from_string((macros / "spark_staging_helpers.sql").read_text("utf-8")).module
    names = ["张三", None, "李四 " + make_id_no("35010219900101123"), "x\x01", "", "ｆｕｌｌ"]
    rows = [(i, names[i % len(names)], make_id_no("11010519491231002") if i % 3 else None, extra)
            for i, extra in enumerate(EXTRAS + _random_values(60))]
    con = duckdb.connect()
    register(con)
    con.register("t", pa.table({"i": [r[0] for r in rows], "name": [r[1] for r in rows],
                                "id_no": [r[2] for r in rows], "_extra": [r[3] for r in rows]}))
    session = engine.spark_session(warehouse)
    session.createDataFrame(rows, "i int, name string, id_no string, _extra string").createOrReplaceTempView("t")
    differences = {}
    for feed in ("inspectors", "registration"):
        for name, duckdb_sql, spark_sql in [
            ("raw_json", on_duckdb.raw_json(["name", "id_no"], feed, relation="t"),
             on_spark.spark__raw_json(["name", "id_no"], feed, relation="t")),
            ("extra_json", on_duckdb.extra_json(feed, relation="t"), on_spark.spark__extra_json(feed, relation="t")),
        ]:
            duckdb_values = dict(con.execute(f"select i, cast({duckdb_sql} as varchar) from t").fetchall())
            spark_values = {r["i"]: r["x"] for r in session.sql(f"select i, {spark_sql} as x from t").toArrow().to_pylist()}
            found = [(rows[i], duckdb_values[i], spark_values[i]) for i in duckdb_values
                     if duckdb_values[i] != spark_values[i]]
            if found:
                differences[f"{name} {feed}"] = found[:3]
    assert not differences, differences
    assert any("3501**********1234" in (v or "") for v in duckdb_values.values())


def test_a_second_build_stages_only_the_new_draw_list_file_on_both(warehouse, staged_on_spark):
    """stg_draw_list is incremental: a build after a new file appends that file's rows
    (ingested_rows(new_files_only=true)), on Spark as on DuckDB. The build restages the
    draw list only (the build state's restage_feeds): the ledger snapshot keeps the
    previous build's files of the other feeds, and leaves a new registration file out.
    Runs last: it adds files."""
    from pipelines.warehouse import open_warehouse

    before = engine.Engine("spark").read_table(warehouse, "stg_draw_list").num_rows
    registration = write_raw(warehouse, "registration", [dict(uscc=make_uscc("91350102MA2Y00003"), name="新登记公司")],
                             agency="samr-350102", mtime=datetime(2026, 3, 1, 8, 0, 0))
    with open_warehouse(warehouse, read_only=False, lock=False) as con:
        con.execute("create table _ssj_build_state (key varchar primary key, value varchar)")
        con.execute("insert into _ssj_build_state values ('restage_feeds', 'draw_list')")
    engine.spark_session(warehouse).sql(
        f"create table {engine.SCHEMA}._ssj_build_state (key string, value string) using parquet")
    engine.spark_session(warehouse).sql(
        f"insert into {engine.SCHEMA}._ssj_build_state values ('restage_feeds', 'draw_list')")
    sha = write_raw(warehouse, "draw_list", [
        dict(task_id="SSJ-2026-02", task_name="特种设备抽查", name="新店", window_start="2026/4/1",
             window_end="2026-06-30", items="SE-01"),
        dict(task_id="SSJ-2026-02", name="又一店 350102199001011234", window_start="2026-04-01", items="SE-01"),
    ], agency="samr-350102", mtime=datetime(2026, 3, 1, 8, 0, 0))
    run_dbt(warehouse, AS_OF, "run", "--select", "stg_ledger stg_draw_list", "--target", "duckdb")
    engine.prepare_spark_raw(warehouse)  # the raw tables list the new file
    _spark_build(warehouse, "run", "--select", "stg_ledger stg_draw_list")
    ledger = _ledger("duckdb", warehouse)
    assert sha in ledger["sha256"].to_pylist() and registration not in ledger["sha256"].to_pylist()
    assert engine.table_differences(ledger, _ledger("spark", warehouse)) == []
    rows = _without_staged_at(engine.Engine("duckdb").read_table(warehouse, "stg_draw_list"))
    spark_rows = engine.Engine("spark").read_table(warehouse, "stg_draw_list")
    assert spark_rows.num_rows == before + 2
    assert spark_rows.filter(pc.equal(spark_rows["file_sha256"], sha)).num_rows == 2
    assert len(set(spark_rows["staged_at"].to_pylist())) == 2  # two batches, the first left as it was
    assert engine.table_differences(rows, _without_staged_at(spark_rows)) == []
