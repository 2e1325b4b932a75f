"""The same raw files give the same rows on DuckDB and on Spark (docs/engines.md).

One warehouse, one raw store: dbt builds the models that run on Spark so far
(``SPARK_SELECTION``) with DuckDB (its target ``duckdb``, in a subprocess, as the
pipeline runs it) and with local Spark (target ``spark``, dbt-spark's session
method in this process, on the session pipelines/engine.py opens); every table
is then compared row by row (a SHA-256 per row, in any order), and so are the
raw store's source tables as each engine reads them.

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
from tests.support import DBT_DIR, make_uscc, run_dbt, write_raw

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = "2026-06-30"
SPARK_SELECTION = "resource_type:seed stg_calendar"
"""What runs on Spark so far: every seed (with its data tests) and the first models."""

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
             industry_code="5211", employees="12", revenue="150万元", updated_at="2025-01-02"),
        dict(uscc=make_uscc("91350102MA2Y00002"), name="鼓楼区李四烧烤店", entity_type="个体工商户",
             legal_rep="李四 350102199001011234", 备注="身份证 350102199001011234"),
    ], agency="samr-350102", mtime=datetime(2026, 1, 1, 8, 0, 0))
    write_raw(wh, "registration", [dict(reg_no="350102600000013", name="福州旧名贸易有限公司")],
              agency="samr-350102", mtime=datetime(2026, 2, 1, 8, 0, 0))
    write_raw(wh, "approval", [dict(uscc=make_uscc("91350102MA2Y00001"), licence_no="JY13501020000001",
                                    licence_type="食品经营许可证", valid_to="2027-12-31")], agency="xzsp-350100")
    write_raw(wh, "results", [dict(task_id="SSJ-2026-01", uscc=make_uscc("91350102MA2Y00001"), result="未发现问题",
                                   inspected_on="2026-03-05")], agency="samr-350102")
    run_dbt(wh, AS_OF, "build", "--select", SPARK_SELECTION, "--target", "duckdb")
    spark = engine.Engine("spark")
    spark.prepare(wh, AS_OF)
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["build", "--select", SPARK_SELECTION, "--target", "spark",
                                 "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                                 "--target-path", str(wh / ".dbt" / "spark")])
    assert result.success, f"dbt build on Spark failed: {result.exception or result.result}"
    return wh


def test_every_table_spark_builds_holds_duckdbs_rows(warehouse):
    duckdb_engine, spark = engine.Engine("duckdb"), engine.Engine("spark")
    built = spark.tables(warehouse)
    assert "stg_calendar" in built and "sector_divisions" in built
    assert set(built) <= set(duckdb_engine.tables(warehouse))
    differences = {name: found for name in built
                   if (found := engine.table_differences(duckdb_engine.read_table(warehouse, name),
                                                         spark.read_table(warehouse, name)))}
    assert not differences, differences


def _duckdb_source_rows(warehouse: Path, name: str):
    """A raw source table as the DuckDB models read it: its external_location (__sources.yml)."""
    from pipelines.warehouse import open_warehouse

    sources = yaml.safe_load((DBT_DIR / "models" / "staging" / "__sources.yml").read_text("utf-8"))
    location = {t["name"]: t["meta"]["external_location"] for t in sources["sources"][0]["tables"]}[name]
    with open_warehouse(warehouse, lock=False) as con:
        table = con.execute(f"select * from {location}").to_arrow_table()
    if name == "ledger":  # the placeholder file Spark does not read (stg_ledger drops it)
        table = table.filter(pc.fill_null(pc.not_equal(table["status"], "placeholder"), True))
    return table


@pytest.mark.parametrize("name", RAW_TABLES)
def test_the_raw_store_reads_the_same_on_both(warehouse, name):
    rows = _duckdb_source_rows(warehouse, name)
    spark_rows = engine.spark_session(warehouse).table(f"{engine.RAW_SCHEMA}.{name}").toArrow()
    if name == "ledger":  # DuckDB's JSON headers, Spark's JSON text
        rows = rows.set_column(rows.column_names.index("headers"), "headers", rows["headers"].cast("string"))
    assert rows.num_rows > 0
    assert engine.table_differences(rows, spark_rows) == []
