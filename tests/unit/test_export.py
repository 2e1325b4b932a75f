"""`ssj export`: spreadsheets bureau staff open safely (formula injection neutralised)."""

from __future__ import annotations

import csv
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from pipelines.cli import main
from pipelines.export import export_table

NAMES = ["=HYPERLINK(\"http://evil\",\"点我\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "福州（鼓楼）正常有限公司"]
SAFE = ["'" + n for n in NAMES[:5]] + [NAMES[5]]


@pytest.fixture
def warehouse(tmp_path):
    table = pa.table({
        "enterprise_id": [f"E{i}" for i in range(len(NAMES))],
        "name": NAMES,
        "agencies": [["=evil", "samr-350102"]] + [["samr-350102"]] * (len(NAMES) - 1),
        "licence_count": [-1, 0, 1, 2, 3, 4],
        "window_start": [date(2026, 3, 1)] * len(NAMES),
    })
    (tmp_path / "published").mkdir()
    pq.write_table(table, tmp_path / "published" / "joint_inspections.parquet")
    return tmp_path


def test_csv_neutralises_formulas_and_keeps_chinese(warehouse, tmp_path):
    out = tmp_path / "out" / "联合检查.csv"
    assert export_table(warehouse, "joint_inspections", out) == len(NAMES)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with a BOM
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(keepends=True)))
    assert [r["name"] for r in rows] == SAFE
    assert rows[0]["agencies"] == "'=evil;samr-350102"
    assert rows[0]["licence_count"] == "-1"  # numbers are numbers, not text to neutralise


def test_xlsx_has_no_formula_cells(warehouse, tmp_path):
    out = tmp_path / "联合检查.xlsx"
    assert main(["export", "--warehouse", str(warehouse), "--table", "joint_inspections", "--out", str(out)]) == 0
    ws = load_workbook(out).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][:2] == ["enterprise_id", "name"]
    assert [r[1] for r in values[1:]] == SAFE
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_unknown_table_is_a_clear_error(warehouse, tmp_path, capsys):
    assert main(["export", "--warehouse", str(warehouse), "--table", "nope", "--out", str(tmp_path / "x.csv")]) == 2
    assert "nope" in capsys.readouterr().err
