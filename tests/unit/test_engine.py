"""pipelines/engine.py without Spark: choosing the engine, the raw store's tables on
Spark against the DuckDB sources, and comparing two engines' rows."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
import yaml

from pipelines import engine
from tests.support import DBT_DIR


def test_duckdb_is_the_default_and_an_unknown_engine_is_refused():
    assert engine.engine_name({}) == "duckdb"
    assert engine.engine_name({"SSJ_ENGINE": ""}) == "duckdb"
    assert engine.engine_name({"SSJ_ENGINE": " Spark "}) == "spark"
    assert engine.current({"SSJ_ENGINE": "spark"}).dbt_target == "spark"
    with pytest.raises(engine.EngineError, match="not an engine"):
        engine.engine_name({"SSJ_ENGINE": "postgres"})


def test_the_profile_has_one_output_per_engine_chosen_by_ssj_engine():
    text = (DBT_DIR / "profiles.yml").read_text("utf-8")
    profile = yaml.safe_load(text)["shuangsuiji"]
    assert set(profile["outputs"]) == set(engine.ENGINES)
    assert "env_var('SSJ_ENGINE', '')" in profile["target"]  # test_dbt_reads_ssj_engine_as_the_engine_module_does
    assert profile["outputs"]["spark"]["method"] == "session"
    assert profile["outputs"]["spark"]["schema"] == engine.SCHEMA


def _sources() -> dict[str, dict]:
    sources = yaml.safe_load((DBT_DIR / "models" / "staging" / "__sources.yml").read_text("utf-8"))
    return {t["name"]: t for t in sources["sources"][0]["tables"]}


def test_spark_has_a_table_for_every_raw_source(tmp_path):
    ddl = engine.spark_raw_ddl(tmp_path)
    made = set(re.findall(rf"create table {engine.RAW_SCHEMA}\.(\w+)", "\n".join(ddl)))
    assert made == set(_sources())
    # each made again at every build, over the files in place (external: dropping it keeps them)
    assert all(f"drop table if exists {engine.RAW_SCHEMA}.{name}" in ddl for name in made)
    assert all(" location '" in sql for sql in ddl if sql.startswith("create table"))


def test_the_ledgers_columns_are_the_duckdb_sources():
    location = _sources()["ledger"]["meta"]["external_location"]
    columns = dict(re.findall(r"'(\w+)': '(\w+)'", location))
    spark_names = {"VARCHAR": "string", "BIGINT": "bigint", "TIMESTAMP": "timestamp", "JSON": "string"}
    assert {c: spark_names[t] for c, t in columns.items()} == engine.LEDGER_COLUMNS


def test_rows_compare_by_value_whatever_the_engines_types_and_order():
    duckdb_rows = pa.table({"n": pa.array([Decimal(3), Decimal(1)], pa.decimal128(38, 0)),
                            "day": [date(2026, 1, 2), date(2026, 1, 1)], "x": [0.1 + 0.2, 2.0],
                            "at": [datetime(2026, 1, 1, 9), None]})
    spark_rows = pa.table({"at": [None, datetime(2026, 1, 1, 9)], "x": [2.0, 0.30000000000000004],
                           "day": [date(2026, 1, 1), date(2026, 1, 2)], "n": pa.array([1, 3], pa.int64())})
    assert engine.table_differences(duckdb_rows, spark_rows) == []


def test_a_different_row_or_count_is_shown():
    left = pa.table({"k": ["a", "b", "b"]})
    assert engine.table_differences(left, pa.table({"k": ["a", "b"]})) == [
        "duckdb has 3 rows, spark 2", 'only in duckdb: {"k": "b"}']
    assert engine.table_differences(left, pa.table({"j": ["a"]}))[0].startswith("columns differ")
    assert engine.table_differences(pa.table({"k": ["a"]}), pa.table({"k": ["A"]})) == [
        'only in duckdb: {"k": "a"}', 'only in spark: {"k": "A"}']


@pytest.mark.parametrize("command", [["run"], ["demo"], ["draw", "--plans-of", "2026", "--seed", "s"]])
def test_the_pipeline_does_not_start_on_an_engine_it_cannot_build_on_yet(command, monkeypatch, capsys, tmp_path):
    from pipelines import cli

    monkeypatch.setenv("SSJ_ENGINE", "spark")
    monkeypatch.setenv("SSJ_WAREHOUSE", str(tmp_path))
    assert cli.main(command) == 2
    assert "SSJ_ENGINE=spark" in capsys.readouterr().err
    monkeypatch.setenv("SSJ_ENGINE", "oracle")
    assert cli.main(command) == 2
    assert "not an engine" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_spark_gets_every_function_and_macro_duckdb_gets():
    from pipelines import udfs

    made = {re.search(r"function (\w+)\(", sql).group(1) for sql in engine.spark_function_ddl()} - {"array_to_string"}
    # Java never runs the unbounded digit run: the Arrow UDF ssj_has_id_run (RE2) stands for
    # ssj_id_run_pattern() (test_java_never_gets_the_unbounded_digit_run)
    assert "ssj_id_run_pattern" not in made
    made = made | {"ssj_id_run_pattern"}
    registered = {"nfkc", "matches_pattern", "mask_personal", "mask_personal_few", "mask_personal_value",
                  "has_id_number", "mask_split_ids", "holds_split_id", "json_may_hold_split_id",
                  "is_personal_header", "is_code_header"}  # Arrow UDFs
    # DuckDB's: its macros and the Python functions the models call (those behind a macro, ssj_*_py, aside)
    python = {f[0] for f in udfs._python_functions()}  # noqa: SLF001
    assert made | registered == udfs.MACRO_NAMES | {n for n in python if not n.endswith("_py")}


DIGITS = "".join(str(i % 10) for i in range(10_000))
RUNS = [None, "", "abc", "12345678901234", "123456789012345", "1234567890123 4", "12345678901234 5",
        "1-2-3-4-5-6-7-8-9-0-1-2-3-4-5", "1---2" * 8, "1----2" * 8, "１２３４５６７８９０１２３４５",
        "٣٤٥٦٧٨٩٠١٢٣٤٥٦٧", "①②③④⑤⑥⑦⑧⑨⑩①②③④⑤", "身份证 350102199001011234 号", "35010219900101123X",
        "3501 0219 9001 0112 34", "tel 13800138000 / 0591-87654321", "12345678901234X", DIGITS,
        " ".join(DIGITS), "a" + DIGITS + "b", "x".join(DIGITS[:2000]), DIGITS[:14] + "|" + DIGITS[:14]]


def test_java_never_gets_the_unbounded_digit_run():
    """Spark's rlike is Java's regex, which recurses once per repetition of a group: the
    unbounded digit run overflows the JVM's stack on a cell of a few thousand digits."""
    for sql in engine.spark_function_ddl():
        assert ",}" not in sql, sql
    macros = (DBT_DIR / "macros" / "spark_value_rules.sql").read_text("utf-8")
    assert "ssj_id_run_pattern()" not in macros.split("#}", 1)[1].replace("(ssj_id_run_pattern(), unbounded", "")


def test_spark_guards_the_digit_run_as_duckdb_does():
    """ssj_has_id_run, Spark's guard before Python, is DuckDB's regexp_matches(text,
    ssj_id_run_pattern()) value for value, and true wherever Python finds a run."""
    import duckdb
    from connectors import personal
    from pipelines import udfs

    con = duckdb.connect()
    udfs.register(con)
    duck = [r[0] for r in con.execute("select coalesce(regexp_matches(v, ssj_id_run_pattern()), false) "
                                      "from unnest($1::varchar[]) with ordinality as t(v, i) order by i",
                                      [RUNS]).fetchall()]
    guarded = engine.has_id_run(pa.array(RUNS, pa.string())).to_pylist()
    assert guarded == duck
    assert all(g or not personal.runs(v) for v, g in zip(RUNS, guarded))
    assert guarded.count(True) >= 10 and guarded.count(False) >= 5


@pytest.mark.parametrize("value, name", [("DUCKDB", "duckdb"), (" Spark ", "spark"), ("", "duckdb"),
                                         ("  ", "duckdb"), ("duckdb", "duckdb"), ("SPARK\n", "spark")])
def test_dbt_reads_ssj_engine_as_the_engine_module_does(value, name):
    """profiles.yml's target is the engine engine_name gives, whatever the case and blanks."""
    import jinja2

    target = yaml.safe_load((DBT_DIR / "profiles.yml").read_text("utf-8"))["shuangsuiji"]["target"]
    rendered = jinja2.Environment().from_string(target).render(
        env_var=lambda key, default=None: {"SSJ_ENGINE": value}.get(key, default))
    assert rendered == engine.engine_name({"SSJ_ENGINE": value}) == name


@pytest.mark.parametrize("value, says", [("spark", "SSJ_ENGINE=spark"), ("oracle", "not an engine")])
def test_the_code_location_does_not_load_on_an_engine_it_cannot_build_on_yet(value, says, monkeypatch):
    """dagster dev and the daemon (workspace.yaml) load pipelines.definitions: on Spark it
    refuses with ssj's message, before any schedule or sensor can start a run."""
    from pipelines.definitions import defs

    monkeypatch.setenv("SSJ_ENGINE", value)
    with pytest.raises(engine.EngineError, match=says) as refused:
        defs()
    assert str(refused.value) == engine.pipeline_refusal()
    monkeypatch.setenv("SSJ_ENGINE", " DuckDB ")
    assert engine.pipeline_refusal() is None


def test_the_ingest_assets_refuse_before_reading_a_file(monkeypatch, tmp_path):
    """A run started on a code location loaded before SSJ_ENGINE changed: nothing is ingested."""
    import dagster as dg

    from pipelines.defs.ingest.assets import IngestConfig, landing_files
    from pipelines.defs.ingest.sql_sources import sql_sources
    from pipelines.settings import SsjSettings

    landing, wh = tmp_path / "landing" / "samr-350102", tmp_path / "warehouse"
    landing.mkdir(parents=True)
    (landing / "registration.csv").write_text("uscc,name\n91350102MA2Y00001X,x\n", "utf-8")
    settings = SsjSettings(landing=str(tmp_path / "landing"), warehouse=str(wh))
    monkeypatch.setenv("SSJ_ENGINE", "spark")
    with pytest.raises(engine.EngineError, match="SSJ_ENGINE=spark"):
        list(landing_files(dg.build_asset_context(), IngestConfig(), settings))
    with pytest.raises(engine.EngineError, match="SSJ_ENGINE=spark"):
        sql_sources(dg.build_asset_context(), settings)
    assert not wh.exists() and [p.name for p in landing.iterdir()] == ["registration.csv"]


def test_a_different_row_is_shown_with_its_personal_numbers_masked():
    left = pa.table({"k": ["a"], "id_no": ["350102199001011234"], "note": ["身份证 3501 0219 9001 0112 34"]})
    right = pa.table({"k": ["b"], "id_no": ["350102199001011234"], "note": ["身份证 3501 0219 9001 0112 34"]})
    shown = "\n".join(engine.table_differences(left, right))
    assert "only in duckdb" in shown and "only in spark" in shown and '"k": "a"' in shown
    assert "350102199001011234" not in shown and "0219 9001" not in shown and "3501**********1234" in shown


@pytest.mark.parametrize("name", ["ware house", "wh;create=false", "wh${HOME}", "tab\there"])
def test_spark_refuses_a_warehouse_path_its_settings_would_split(tmp_path, name):
    with pytest.raises(engine.EngineError, match="cannot use the warehouse"):
        engine.spark_settings(tmp_path / name)
    with pytest.raises(engine.EngineError, match="cannot use the warehouse"):
        engine.spark_session(tmp_path / name)
    assert not (tmp_path / name).exists()


def test_spark_keeps_its_scratch_files_in_the_warehouse(tmp_path):
    settings = engine.spark_settings(tmp_path / "wh")
    home = (tmp_path / "wh").resolve() / "spark"
    assert settings["spark.local.dir"] == str(home / "tmp")
    assert all(str(home) in settings[k] for k in ("spark.sql.warehouse.dir", "spark.driver.extraJavaOptions",
                                                   "spark.hadoop.javax.jdo.option.ConnectionURL"))
