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
