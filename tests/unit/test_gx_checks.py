"""Great Expectations suites as asset checks (pipelines/defs/quality/gx/, expectations/*.json).

The staging tables are built here by hand in a temp DuckDB with the columns
docs/architecture.md documents — no dbt run — so each test says exactly which
accepted row breaks which expectation.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from pipelines.defs.quality.gx import checks as gx_checks
from pipelines.defs.quality.gx import results as gx_results
from pipelines.defs.quality.gx import suites as gx_suites
from pipelines.defs.quality.gx import validate as gx_validate
from pipelines.defs.quality.gx import workers as gx_workers
from pipelines.settings import SsjSettings
from tests.support import make_uscc

SHA_A = "a" * 64
SHA_B = "b" * 64
U1 = make_uscc("91350102MA2Y00001")
U2 = make_uscc("91350102MA2Y00002")
U3 = make_uscc("92350102MA2Y00003")

# name -> DuckDB type; the documented staging columns (docs/architecture.md) plus the lineage/outcome ones
LINEAGE = {
    "agency": "varchar", "source_file": "varchar", "file_sha256": "varchar", "source_row": "bigint",
    "file_mtime": "timestamp", "ingested_at": "timestamp", "extra": "json", "reason_codes": "varchar[]",
    "reason": "varchar", "is_accepted": "boolean", "raw": "json",
}
COLUMNS = {
    "registration": {
        "uscc": "varchar", "reg_no": "varchar", "name": "varchar", "entity_type": "varchar", "legal_rep": "varchar",
        "reg_capital": "double", "established_on": "date", "status": "varchar", "status_class": "varchar",
        "address": "varchar", "region_code": "varchar", "authority": "varchar", "industry_code_raw": "varchar",
        "industry_code": "varchar", "business_scope": "varchar", "employees": "bigint", "revenue": "double",
        "total_assets": "double", "online_shop": "boolean", "updated_at": "date", "enterprise_key": "varchar",
    },
    "approval": {
        "uscc": "varchar", "name": "varchar", "licence_type": "varchar", "licence_no": "varchar",
        "valid_from": "date", "valid_to": "date", "issuer": "varchar", "scope": "varchar", "status": "varchar",
        "updated_at": "date",
    },
    "credit_risk": {
        "uscc": "varchar", "name": "varchar", "grade": "varchar", "grade_raw": "varchar", "domain": "varchar",
        "score": "double", "classified_on": "date",
    },
    "inspectors": {
        "cert_no": "varchar", "name": "varchar", "id_no_masked": "varchar",
        "agency_name": "varchar", "unit": "varchar", "region_code": "varchar", "qualifications_raw": "varchar[]",
        "specialties_raw": "varchar[]", "cert_valid_to": "date", "status": "varchar", "updated_at": "date",
    },
    "draw_list": {
        "task_id": "varchar", "task_name": "varchar", "agency_declared": "varchar", "uscc": "varchar",
        "name": "varchar", "address": "varchar", "items": "varchar[]", "window_start": "date", "window_end": "date",
    },
    "items": {
        "item_code": "varchar", "item_name": "varchar", "category": "varchar", "key_item": "boolean",
        "basis": "varchar", "method": "varchar", "sectors": "varchar[]", "categories": "varchar[]",
        "entity_kinds": "varchar[]", "carrier": "varchar", "key_supervision_only": "boolean",
    },
    "plans": {
        "task_id": "varchar", "task_name": "varchar", "items": "varchar[]", "window_start": "date",
        "window_end": "date", "ratio_a": "double", "ratio_b": "double", "ratio_c": "double", "ratio_d": "double",
        "ratio_none": "double", "coordination": "varchar", "seed_sha256": "varchar",
    },
    "results": {
        "task_id": "varchar", "uscc": "varchar", "name": "varchar", "inspected_on": "date", "entered_on": "date",
        "follow_up_done_on": "date", "follow_up_entered_on": "date", "penalty_publicity_until": "date",
        "rectified_on": "date", "result_text": "varchar", "result_code": "varchar", "result_name": "varchar",
        "problem_found": "boolean", "follow_up": "varchar", "follow_up_code": "varchar", "repair": "varchar",
        "inspectors": "varchar[]", "entry_working_days": "bigint", "entry_due_on": "date", "follow_up_due_on": "date",
    },
    "links": {
        "target_feed": "varchar", "agency_declared": "varchar", "target_agency": "varchar", "source_key": "varchar",
        "name": "varchar", "name_normalized": "varchar", "uscc": "varchar", "enterprise_id": "varchar",
        "decided_by": "varchar", "decided_on": "date", "note": "varchar",
    },
}


def registration_row(uscc: str = U1, **kw) -> dict:
    row = {
        "uscc": uscc, "name": "福州市鼓楼区示例贸易有限公司", "entity_type": "有限责任公司", "legal_rep": "张三",
        "reg_capital": 100.0, "established_on": date(2015, 3, 5), "status": "存续", "status_class": "active",
        "region_code": "350102", "industry_code": "F5211", "employees": 12, "online_shop": True,
        "updated_at": date(2025, 1, 2), "enterprise_key": uscc, "file_sha256": SHA_A,
    }
    return {**row, **kw}


def draw_row(task_id: str = "SSJ-2026-01", uscc: str | None = U1, **kw) -> dict:
    row = {
        "task_id": task_id, "task_name": "2026年食品抽查", "uscc": uscc, "name": "福州市鼓楼区示例贸易有限公司",
        "items": ["食品经营"], "window_start": date(2026, 3, 1), "window_end": date(2026, 3, 31), "file_sha256": SHA_A,
    }
    return {**row, **kw}


def create_stg(con: duckdb.DuckDBPyConnection, feed: str, rows: list[dict]) -> None:
    """stg_<feed> with every documented column; unspecified values NULL, rows accepted unless told."""
    types = {**COLUMNS[feed], **LINEAGE}
    full = []
    for i, r in enumerate(rows, start=1):
        base = {"agency": "samr-350102", "source_file": f"samr-350102/{feed}/f.csv", "file_sha256": SHA_A,
                "source_row": i, "reason_codes": [], "is_accepted": True, "raw": "{}"}
        full.append({c: {**base, **r}.get(c) for c in types})
    frame = pd.DataFrame(full, columns=list(types)) if full else pd.DataFrame(columns=list(types))  # noqa: F841
    select = ", ".join(f'cast(frame."{c}" as {t}) as "{c}"' for c, t in types.items())
    con.execute(f"create or replace table stg_{feed} as select {select} from frame")


@pytest.fixture
def warehouse(tmp_path: Path):
    """(warehouse dir, builder) — the builder writes stg tables into <warehouse>/ssj.duckdb."""

    def build(**tables: list[dict]) -> Path:
        con = duckdb.connect(str(tmp_path / "ssj.duckdb"))
        try:
            for feed, rows in tables.items():
                create_stg(con, feed, rows)
        finally:
            con.close()
        return tmp_path

    return build


def validate(warehouse_dir: Path, feed: str, **kw) -> gx_results.ValidationSummary:
    with duckdb.connect(str(warehouse_dir / "ssj.duckdb"), read_only=True) as con:
        return gx_validate.validate_table(feed, con, **kw)


def outcome(summary: gx_results.ValidationSummary, expectation: str, column: str, severity: str | None = None) -> gx_results.ExpectationOutcome:
    """The one result of ``expectation`` on ``column`` (the blocking one when a warning twin exists)."""
    hits = [r for r in summary.results if r.expectation == expectation and column in r.columns]
    if len(hits) > 1:
        hits = [r for r in hits if r.severity == (severity or "error")]
    [hit] = hits
    return hit


# ------------------------------------------------------------------ suites --


@pytest.mark.parametrize("feed", gx_checks.FEEDS)
def test_every_suite_loads_and_names_only_documented_columns(feed):
    suite = gx_suites.load_suite(feed)
    doc = json.loads(gx_suites.suite_path(feed).read_text("utf-8"))
    assert suite.name == feed
    assert len(suite.expectations) == len(doc["expectations"]) > 0
    assert set(gx_suites.suite_columns(suite)) <= set(COLUMNS[feed]) | {"file_sha256"}
    severities = {gx_suites.severity_of(e) for e in suite.expectations}
    assert severities == {"error", "warn"}
    # key uniqueness within a file: always there, always a warning
    [unique] = [e for e in suite.expectations if e.expectation_type == "expect_compound_columns_to_be_unique"]
    assert unique.configuration.kwargs["column_list"][0] == "file_sha256"
    assert gx_suites.severity_of(unique) == "warn"


def test_a_suite_with_an_unknown_expectation_is_refused(tmp_path, monkeypatch):
    (tmp_path / "registration.json").write_text(json.dumps({
        "name": "registration",
        "expectations": [{"type": "expect_column_values_to_be_nice", "kwargs": {"column": "uscc"}}],
    }))
    monkeypatch.setattr(gx_suites, "EXPECTATIONS_DIR", tmp_path)
    with pytest.raises(ValueError, match="invalid"):
        gx_suites.load_suite("registration")


def test_mask_id_like_keeps_first_and_last_four():
    assert gx_results.mask_id_like("35010219900101123X") == "3501**********123X"  # a digit run: as connectors.personal masks it
    assert gx_results.mask_id_like("code 91350102MA2Y00011X here") == "code 9135****011X here"
    assert gx_results.mask_id_like({"uscc": U1, "task_id": "SSJ-1"}) == {"uscc": U1[:4] + "****" + U1[-4:], "task_id": "SSJ-1"}
    assert gx_results.mask_id_like("short") == "short"


# ------------------------------------------------------------ validate_table --


def test_good_registration_and_draw_list_pass(warehouse):
    wh = warehouse(
        registration=[registration_row(U1), registration_row(U2, status_class=None, industry_code=None),
                      registration_row(None, reg_no="350102000000013", enterprise_key="R350102000000013")],
        draw_list=[draw_row(uscc=U1), draw_row(uscc=None, name="鼓楼区某小吃店"),
                   draw_row(uscc=U2, window_end=date(2026, 3, 1))],  # one-day window: end == start
    )
    for feed, rows in (("registration", 3), ("draw_list", 3)):
        summary = validate(wh, feed)
        assert summary.all_passed, summary.describe()
        assert summary.success
        assert summary.rows_validated == rows


def test_malformed_uscc_on_an_accepted_row_fails_with_expectation_and_count(warehouse):
    bad = "91350102MA2Y0001O"  # 17 characters and an 'O' (not in the GB 32100 alphabet)
    wh = warehouse(registration=[
        registration_row(U1),
        registration_row(bad, enterprise_key=bad),
        registration_row("not-a-code", enterprise_key=None, is_accepted=False),  # quarantined: not validated
    ])
    summary = validate(wh, "registration")
    assert not summary.success
    assert summary.rows_validated == 2
    uscc = outcome(summary, "expect_column_values_to_match_regex", "uscc")
    assert uscc.severity == "error" and uscc.unexpected_count == 1 and uscc.unexpected_values == (bad,)
    assert "expect_column_values_to_match_regex(uscc) failed on 1 row" in summary.describe()
    assert "| expect_column_values_to_match_regex | uscc | 1 row | error |" in summary.markdown()


def plan_row(task_id: str = "P-1", **kw) -> dict:
    row = {"task_id": task_id, "items": ["SP-01"], "window_start": date(2026, 3, 1), "window_end": date(2026, 5, 31),
           "ratio_a": 0.03, "ratio_b": 0.05, "ratio_c": 0.05, "ratio_d": 0.2, "ratio_none": 0.05,
           "seed_sha256": "ab" * 32}
    return {**row, **kw}


def test_a_plan_ratio_outside_0_1_or_a_malformed_seed_fails_the_plans_suite(warehouse):
    wh = warehouse(plans=[plan_row(), plan_row("P-2", ratio_c=1.2, seed_sha256="AB" * 32)])
    summary = validate(wh, "plans")
    assert not summary.success
    assert outcome(summary, "expect_column_values_to_be_between", "ratio_c").unexpected_count == 1
    assert outcome(summary, "expect_column_values_to_match_regex", "seed_sha256").unexpected_count == 1
    assert validate(warehouse(plans=[plan_row()]), "plans").all_passed


def test_window_end_before_start_fails(warehouse):
    wh = warehouse(draw_list=[draw_row(), draw_row(task_id="T-2", window_start=date(2026, 5, 1), window_end=date(2026, 4, 1))])
    summary = validate(wh, "draw_list")
    pair = outcome(summary, "expect_column_pair_values_a_to_be_greater_than_b", "window_end")
    assert not summary.success
    assert pair.columns == ("window_end", "window_start") and pair.unexpected_count == 1 and pair.blocking
    assert "expect_column_pair_values_a_to_be_greater_than_b(window_end, window_start) failed on 1 row" in summary.describe()


def test_value_sets_and_null_keys(warehouse):
    wh = warehouse(
        registration=[registration_row(U1, status_class="zombie"), registration_row(U2, name=None)],
        credit_risk=[{"uscc": U1, "grade": "E", "domain": "general"}, {"uscc": U2, "grade": "A", "domain": None}],
    )
    reg = validate(wh, "registration")
    assert outcome(reg, "expect_column_values_to_be_in_set", "status_class").unexpected_count == 1
    assert outcome(reg, "expect_column_values_to_not_be_null", "name").unexpected_count == 1
    credit = validate(wh, "credit_risk")
    assert outcome(credit, "expect_column_values_to_be_in_set", "grade").unexpected_values == ("E",)
    assert outcome(credit, "expect_column_values_to_not_be_null", "domain").unexpected_count == 1
    assert len(credit.blocking_failures) == 2


def test_duplicate_key_within_a_file_is_a_warning_not_a_failure(warehouse):
    wh = warehouse(registration=[
        registration_row(U1), registration_row(U1),  # same key twice in file A
        registration_row(U2), registration_row(U2, file_sha256=SHA_B),  # same key in two files: fine
    ])
    summary = validate(wh, "registration")
    dup = outcome(summary, "expect_compound_columns_to_be_unique", "enterprise_key")
    assert dup.severity == "warn" and dup.unexpected_count == 2
    assert dup.unexpected_values == ({"file_sha256": SHA_A, "enterprise_key": U1[:4] + "****" + U1[-4:]},)
    assert summary.success and not summary.all_passed
    assert "only warnings failed" in summary.describe()


def test_plausibility_of_dates_warns_and_open_ended_validity_is_fine(warehouse):
    wh = warehouse(
        registration=[registration_row(U1, established_on=date(2999, 1, 1))],
        approval=[{"uscc": U1, "licence_type": "食品经营许可证", "licence_no": "JY13501020000001",
                   "valid_from": date(2024, 1, 1), "valid_to": date(9999, 12, 31)},  # 长期
                  {"uscc": U2, "licence_type": "食品经营许可证", "licence_no": "JY13501020000002",
                   "valid_from": date(2024, 1, 1), "valid_to": date(2023, 1, 1)}],
    )
    reg = validate(wh, "registration")
    late = outcome(reg, "expect_column_values_to_be_between", "established_on")
    assert late.severity == "warn" and late.unexpected_count == 1 and late.unexpected_values == ("2999-01-01",)
    assert reg.success
    appr = validate(wh, "approval")
    assert outcome(appr, "expect_column_values_to_be_between", "valid_to").success  # 9999-12-31 accepted
    assert outcome(appr, "expect_column_pair_values_a_to_be_greater_than_b", "valid_to").unexpected_count == 1
    assert appr.success, appr.describe()


def test_full_id_number_in_inspectors_masked_column_is_blocking_and_never_shown(warehouse):
    wh = warehouse(inspectors=[
        {"cert_no": "FJ-001", "name": "李四", "agency_name": "鼓楼区市场监督管理局",
         "id_no_masked": "3501**********123X"},
        {"cert_no": "FJ-002", "name": "王五", "agency_name": "鼓楼区市场监督管理局",
         "id_no_masked": "35010219900101123X"},  # leaked in full
    ])
    summary = validate(wh, "inspectors")
    masked = outcome(summary, "expect_column_values_to_match_regex", "id_no_masked")
    assert masked.blocking and masked.unexpected_count == 1
    assert masked.unexpected_values == ("3501**********123X",)
    assert "35010219900101123X" not in summary.describe() + summary.markdown()


def test_counts_add_up_across_chunks(warehouse):
    rows = [registration_row(make_uscc(f"91350102MA2Y{i:05d}")) for i in range(9)]
    rows[1] = registration_row("BAD1", enterprise_key="BAD1")
    rows[7] = registration_row("BAD2", enterprise_key="BAD2")
    rows.append(registration_row(rows[0]["uscc"]))  # duplicate of row 0, in the last chunk
    wh = warehouse(registration=rows)
    whole = validate(wh, "registration")
    chunked = validate(wh, "registration", chunk_rows=3)
    assert chunked.rows_validated == whole.rows_validated == 10
    for a, b in zip(whole.results, chunked.results, strict=True):
        assert (a.expectation, a.columns, a.success, a.unexpected_count) == (b.expectation, b.columns, b.success, b.unexpected_count)
    assert outcome(chunked, "expect_column_values_to_match_regex", "uscc").unexpected_count == 2
    assert outcome(chunked, "expect_compound_columns_to_be_unique", "enterprise_key").unexpected_count == 2


def test_gx_does_not_fingerprint_the_frames_it_validates(warehouse, monkeypatch):
    """GX hashes every cell of a frame under 1 GB for a batch marker (45% of a registration
    chunk's validation at 500k rows); the runtime turns it off."""
    from great_expectations.execution_engine import pandas_execution_engine

    def refuse(df):
        raise AssertionError("GX fingerprinted a frame")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", refuse)
    gx_validate.runtime()  # the runtime is built (its setting made) before GX loads a frame
    summary = validate(warehouse(registration=[registration_row(make_uscc("91350102MA2Y00001"))]), "registration")
    assert summary.rows_validated == 1 and summary.all_passed


def test_empty_staging_table_passes(warehouse):
    summary = validate(warehouse(draw_list=[]), "draw_list")
    assert summary.rows_validated == 0 and summary.all_passed


def test_missing_staging_table_is_a_clear_error(warehouse):
    wh = warehouse(draw_list=[draw_row()])
    with pytest.raises(LookupError, match="stg_registration does not exist"):
        validate(wh, "registration")


# ------------------------------------------------------------ validate_frame --


def test_validate_frame_runs_the_whole_suite_in_gx(warehouse):
    wh = warehouse(draw_list=[draw_row(), draw_row(), draw_row(task_id="T-9", uscc="123")])
    with duckdb.connect(str(wh / "ssj.duckdb"), read_only=True) as con:
        df = con.execute("select * from stg_draw_list where is_accepted").fetch_df()  # DATE → datetime64[us]
    summary = gx_validate.validate_frame("draw_list", df)
    assert summary.rows_validated == 3
    assert outcome(summary, "expect_column_values_to_match_regex", "uscc").unexpected_count == 1
    dup = outcome(summary, "expect_compound_columns_to_be_unique", "task_id")
    assert dup.unexpected_count == 2 and dup.severity == "warn"
    assert not summary.success
    with pytest.raises(ValueError, match="window_end"):
        gx_validate.validate_frame("draw_list", df.drop(columns=["window_end"]))


# ------------------------------------------------------------------ dagster --


@dg.asset(name="stg_registration")
def stub_stg_registration() -> None:
    """Stands in for the dbt model: the table is already in the temp warehouse."""


@dg.asset(deps=["stg_registration"])
def downstream_of_registration() -> None:
    """Must not run when the blocking suite fails."""


def materialize_with_check(wh: Path) -> dg.ExecuteInProcessResult:
    [check] = gx_checks.gx_asset_checks(["registration"])
    return dg.materialize(
        [stub_stg_registration, downstream_of_registration, check],
        resources={"settings": SsjSettings(warehouse=str(wh))},
        raise_on_error=False,
    )


@pytest.mark.slow
def test_asset_check_passes_on_good_data(warehouse):
    result = materialize_with_check(warehouse(registration=[registration_row(U1), registration_row(U3)]))
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == "gx_registration_suite" and evaluation.passed
    assert evaluation.metadata["rows_validated"].value == 2
    assert evaluation.metadata["failed_expectations"].value == "all expectations passed"
    assert evaluation.metadata["seconds"].value >= 0
    assert result.asset_materializations_for_node("downstream_of_registration")


def test_blocking_check_failure_stops_downstream_and_says_why(warehouse):
    result = materialize_with_check(warehouse(registration=[registration_row(U1), registration_row("X1", enterprise_key="X1")]))
    assert not result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "expect_column_values_to_match_regex(uscc) failed on 1 row" in evaluation.description
    table = evaluation.metadata["failed_expectations"].value
    assert table.startswith("| expectation | column | unexpected rows |")
    assert "| expect_column_values_to_match_regex | uscc | 1 row | error |" in table
    assert not result.asset_materializations_for_node("downstream_of_registration")


def test_warning_only_failure_does_not_block(warehouse):
    result = materialize_with_check(warehouse(registration=[registration_row(U1), registration_row(U1)]))
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "expect_compound_columns_to_be_unique(file_sha256, enterprise_key) failed on 2 rows [warn]" in evaluation.description
    assert result.asset_materializations_for_node("downstream_of_registration")


def test_one_blocking_check_per_feed_on_its_staging_asset():
    checks = gx_checks.gx_asset_checks()
    keys = {key for c in checks for key in c.check_keys}
    assert keys == {dg.AssetCheckKey(dg.AssetKey(f"stg_{f}"), f"gx_{f}_suite") for f in gx_checks.FEEDS}
    assert all(spec.blocking for c in checks for spec in c.check_specs)
    stubs = [dg.AssetSpec(f"stg_{f}") for f in gx_checks.FEEDS]
    dg.Definitions(assets=stubs, asset_checks=checks, resources={"settings": SsjSettings()}).validate_loadable(
        dg.Definitions(assets=stubs, asset_checks=checks, resources={"settings": SsjSettings()})
    )


@pytest.mark.slow
def test_checks_run_in_warm_worker_processes(warehouse):
    """The checks validate in worker processes (GX imported there, off the Dagster process),
    the same ones for every check until shut down, with the same results as in this process."""
    wh = warehouse(registration=[registration_row(U1), registration_row(U1)])
    gx_workers.shut_down()  # a pool an earlier test in this process left (warm_up(1): one worker) would be reused
    gx_workers.warm_up()
    try:
        first = gx_workers.validate_warehouse("registration", wh)
        pids = set(gx_workers._worker()._processes)
        second = gx_workers.validate_warehouse("registration", wh)
        assert set(gx_workers._worker()._processes) == pids and os.getpid() not in pids and len(pids) == gx_workers.WORKERS
        assert first.results == second.results == validate(wh, "registration").results
        assert not first.all_passed  # the duplicate key: a warning, found in the worker too
    finally:
        gx_workers.shut_down()
    assert gx_workers._WORKER is None


@pytest.mark.slow
def test_rows_split_across_workers_give_the_one_process_summary(warehouse):
    """Rowid ranges validated side by side add up to exactly what one pass over all rows says:
    counts, verdicts, the first unexpected values in row order, uniqueness across the ranges."""
    rows = [registration_row(make_uscc(f"91350102MA2Y{i:05d}")) for i in range(40)]
    for i in (2, 3, 17, 25, 31, 33, 38):  # bad codes in both halves: the sample must keep row order
        rows[i] = registration_row(f"BAD{i}", enterprise_key=f"BAD{i}")
    rows[5] = registration_row(None, is_accepted=False)  # quarantined: not validated, rowids still count
    rows[36] = registration_row(rows[0]["uscc"])  # a duplicate of a row in the other range
    wh = warehouse(registration=rows)
    with duckdb.connect(str(wh / "ssj.duckdb"), read_only=True) as con:
        ranges = gx_validate.row_ranges("registration", con, 2, 4)
        assert len(ranges) == 2 and ranges[0][1] + 1 == ranges[1][0]  # consecutive, nothing between
        assert gx_validate.row_ranges("registration", con, 2, 20) == [None]  # under two chunks: one range
    one = validate(wh, "registration", chunk_rows=4)
    try:
        split = gx_workers.validate_warehouse("registration", wh, chunk_rows=4)
    finally:
        gx_workers.shut_down()
    assert split.rows_validated == one.rows_validated == 39
    assert split.results == one.results
    uscc = outcome(split, "expect_column_values_to_match_regex", "uscc")
    assert uscc.unexpected_count == 7 and uscc.unexpected_values == ("BAD2", "BAD3", "BAD17", "BAD25", "BAD31")
    assert outcome(split, "expect_compound_columns_to_be_unique", "enterprise_key").unexpected_count == 2


def test_tallies_merge_like_one_pass():
    a = gx_validate._Tally(type="t", key="k", columns=("c",), severity="error", mostly=0.5, unexpected=1, nonmissing=4,
                 values=["x1", "x2", "x3"])
    b = gx_validate._Tally(type="t", key="k", columns=("c",), severity="error", mostly=0.5, success=False, unexpected=3,
                 nonmissing=4, values=["y1", "y2", "y3"])
    a.merge(b)
    assert (a.unexpected, a.nonmissing, a.values) == (4, 8, ["x1", "x2", "x3", "y1", "y2"])
    assert a.outcome().success  # 4 of 8 unexpected: within mostly=0.5, whatever one range said


@pytest.mark.slow
def test_a_failure_in_the_worker_says_what_failed(tmp_path):
    duckdb.connect(str(tmp_path / "ssj.duckdb")).close()
    try:
        with pytest.raises(RuntimeError, match="LookupError: stg_registration does not exist"):
            gx_workers.validate_warehouse("registration", tmp_path)
    finally:
        gx_workers.shut_down()
