"""`ssj report`: one offline HTML file with the run's charts, Chinese labels as text."""

from __future__ import annotations

import re

import duckdb
import pytest

from pipelines.cli import main

TABLES = {
    "ingest_log": """select * from (values
        ('samr-350102/registration/a.csv', 'samr-350102', 'registration', 'ingested', 10, 9, 1, null, null),
        ('samr-350104/registration/b.csv', 'samr-350104', 'registration', 'rejected', 0, 0, 0, 'unknown_agency',
         'agency folder ''samr-350104'' is not in the agency registry'))
        t(path, agency, feed, status, rows_read, rows_accepted, rows_quarantined, error_code, error)""",
    "quarantine": "select ['invalid_uscc', 'invalid_date'] as reason_codes",
    "enterprise_pool": """select * from (values ('F', 'small', 'A'), ('C', 'large', null), ('F', 'micro', 'B'))
        t(sector, scale, credit_grade)""",
    "inspector_pool": "select '福州市鼓楼区市场监督管理局' as agency_name, true as is_eligible",
    "agency_overlap": """select 'samr-350102' as agency_a, '福州市鼓楼区市场监督管理局' as agency_a_name,
        'tax-350102' as agency_b, '国家税务总局福州市鼓楼区税务局' as agency_b_name, 3 as shared_enterprises""",
    "merge_summary": """select * from (values ('all', 10, 2, 5, 5, 7, 3), ('joint', 5, 2, 5, 0, 2, 3))
        t(scope, entries, groups, merged_entries, unmerged_entries, inspections_needed, inspections_saved)""",
    "joint_inspections": "select 'G1' as joint_group_id",
}


@pytest.fixture
def warehouse(tmp_path):
    (tmp_path / "published").mkdir()
    for name, sql in TABLES.items():
        duckdb.sql(f"copy ({sql}) to '{tmp_path / 'published' / name}.parquet' (format parquet)")
    return tmp_path


def test_report_is_one_offline_file_with_every_chart(warehouse, tmp_path):
    out = tmp_path / "报告.html"
    assert main(["report", "--warehouse", str(warehouse), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in text and 'lang="zh-CN"' in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing fetched from anywhere
    assert "<script" not in text
    assert text.count("<svg") == 8  # files, rows, reasons, sector, scale, grade, overlap heatmap, saved
    for label in ("福州市鼓楼区市场监督管理局", "国家税务总局福州市鼓楼区税务局", "invalid_uscc", "减少检查 3 次"):
        assert label in text
    assert "agency folder &#x27;samr-350104&#x27; is not in the agency registry" in text  # escaped, shown


def test_report_without_a_run_is_a_clear_error(tmp_path, capsys):
    assert main(["report", "--warehouse", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2
    assert "ssj run" in capsys.readouterr().err


SNAPSHOT = "20261201T000000.000000Z"


def strata(**drawn):
    """draw_records' strata: stratum -> (population, ratio, sample_size); the others empty, no ratio."""
    return [{"stratum": s, "population": drawn.get(s, (0, None, 0))[0], "ratio": drawn.get(s, (0, None, 0))[1],
             "sample_size": drawn.get(s, (0, None, 0))[2]} for s in ("A", "B", "C", "D", "none")]


@pytest.fixture
def drawn_warehouse(warehouse):
    """Pool snapshot: E1-E4 graded A, E5-E8 ungraded. Agencies x and y each have one item over E1-E4, z one
    over E5-E8. Coordination group g: x:P1 and y:P2, A at 50% (2 of 4 each), one seed: both drew E1, E2.
    z:P3 alone, ungraded at 25% (1 of 4): E5. (plan_draws is written by hand: the report counts its rows.)"""
    pool = warehouse / "snapshots" / SNAPSHOT
    pool.mkdir(parents=True)
    (pool / "_snapshot.json").write_text(f'{{"snapshot_id": "{SNAPSHOT}"}}', encoding="utf-8")
    con = duckdb.connect()
    con.execute(f"""copy (select 'E' || i as enterprise_id, 'U' || i as uscc,
                                 case when i <= 4 then 'A' end as credit_grade
                          from range(1, 9) t(i)) to '{pool / 'enterprise_pool.parquet'}' (format parquet)""")
    con.execute(f"""copy (select case when i <= 4 then a else 'z' end as agency,
                                 case when i <= 4 then upper(a) else 'K' end as item_code, 'E' || i as enterprise_id
                          from range(1, 9) t(i), (values ('x'), ('y')) v(a) where i <= 4 or a = 'x')
                    to '{pool / 'item_scope.parquet'}' (format parquet)""")
    records = [("x", "P1", "g", ["X"], strata(A=(4, 0.5, 2))), ("y", "P2", "g", ["Y"], strata(A=(4, 0.5, 2))),
               ("z", "P3", None, ["K"], strata(none=(4, 0.25, 1)))]
    con.execute("""create table draw_records (agency varchar, task_id varchar, coordination varchar, items varchar[],
        seed varchar, seed_sha256 varchar, pool_snapshot_id varchar, scope_size bigint,
        strata struct(stratum varchar, population bigint, ratio double, sample_size bigint)[], algorithm varchar)""")
    for agency, task, group, items, drawn in records:
        con.execute("insert into draw_records values (?, ?, ?, ?, 's', sha256('s'), ?, 4, ?, 'ssj-prn-v1')",
                    [agency, task, group, items, SNAPSHOT, drawn])
    con.execute(f"copy draw_records to '{warehouse / 'published' / 'draw_records.parquet'}' (format parquet)")
    con.execute(f"""copy (select * from (values ('x', 'P1', 'E1', 1), ('x', 'P1', 'E2', 2), ('y', 'P2', 'E1', 1),
                                               ('y', 'P2', 'E2', 2), ('z', 'P3', 'E5', 1))
                          t(agency, task_id, enterprise_id, rank))
                    to '{warehouse / 'published' / 'plan_draws.parquet'}' (format parquet)""")
    con.close()
    return warehouse


def test_draw_burden_against_a_hand_counted_case(drawn_warehouse):
    from pipelines.report import ALL_PLANS, ALONE, build_report, draw_burden

    con = duckdb.connect()
    for f in (drawn_warehouse / "published").glob("*.parquet"):
        con.execute(f"create view {f.stem} as select * from read_parquet('{f}')")
    rows, missing = draw_burden(con, drawn_warehouse)
    assert missing == []
    # (group, plans, sample sizes added up, distinct drawn, independent expected, saved)
    # g independent: each of E1-E4 missed by both plans with probability 1/2 × 1/2, drawn 3/4: 4 × 3/4 = 3
    # P3 alone: 4 × 1/4 = 1, its sample size: nothing to save
    assert rows == [("g", 2, 4, 2, 3.0, 1.0),
                    (f"{ALONE}z:P3", 1, 1, 1, 1.0, 0.0),
                    (ALL_PLANS, 3, 5, 3, 4.0, 1.0)]
    text = build_report(drawn_warehouse)
    assert text.count("<svg") == 10  # the two burden charts
    figure = text[text.index("enterprises drawn by the 3 drawn plans"):]
    assert 'the plans&#x27; sample sizes, added up: 5</title>' in figure
    assert "independent draws, expected distinct: 4.0</title>" in figure
    assert "as drawn, distinct enterprises: 3</title>" in figure
    saved = figure[figure.index("coordination saved"):]
    assert "<title>g: 1.0</title>" in saved and f"<title>{ALL_PLANS}: 1.0</title>" in saved
    assert "z:P3: 0.0" not in saved  # a plan alone saves nothing: only in the table


def test_draw_burden_without_its_pool_snapshot_says_so(drawn_warehouse):
    import shutil

    from pipelines.report import build_report

    shutil.rmtree(drawn_warehouse / "snapshots" / SNAPSHOT)
    text = build_report(drawn_warehouse)
    assert f"pool snapshot not readable: {SNAPSHOT}" in text
    assert "expected distinct" not in text and "<td>—</td>" in text


def test_report_without_a_draw_says_so(warehouse):
    from pipelines.report import build_report

    text = build_report(warehouse)
    assert "no plan is drawn in this warehouse" in text and text.count("<svg") == 8


def test_report_shows_match_methods_and_flags_per_agency_and_the_review_queue(warehouse):
    from pipelines.report import build_report

    published = warehouse / "published"
    duckdb.sql(f"""copy (select * from (values
        ('samr-350102', 'uscc', []::varchar[]), ('samr-350102', 'steward', ['steward_link']),
        ('tax-350102', 'none', ['ambiguous_name']), ('tax-350102', 'name', ['address_mismatch', 'out_of_region']))
        t(agency, match_method, flags)) to '{published / 'draw_entries'}.parquet' (format parquet)""")
    duckdb.sql(f"""copy (select * from (values
        ('tax-350102', 'draw_list', ['ambiguous_name']), ('tax-350102', 'draw_list', ['address_mismatch', 'out_of_region']),
        ('samr-350102', 'draw_list', ['stale_link']))
        t(agency, feed, reasons)) to '{published / 'match_review'}.parquet' (format parquet)""")
    text = build_report(warehouse)
    assert "3 行待人工确认 rows to review" in text
    matching = text[text.index("Matching draw entries to the pool"):text.index("The data steward")]
    # per agency: entries, then steward, uscc, reg_no, name_address, name, former_name, none, plan
    assert "<td>samr-350102</td><td>2</td><td>1</td><td>1</td><td>0</td>" in matching
    assert "<td>tax-350102</td><td>0</td><td>1</td><td>0</td><td>0</td><td>1</td><td>1</td><td>0</td>" in matching
    queue = text[text.index("The data steward"):]
    assert "match_review): 3 行 rows" in queue
    assert "<td>tax-350102</td><td>draw_list</td><td>2</td><td>0</td><td>1</td><td>0</td><td>1</td><td>1</td><td>0</td>" in queue
