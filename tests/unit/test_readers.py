"""Unit tests for connectors.readers: every format, encodings, messy headers and rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connectors.feeds import feeds
from tests.corpus.make_hostile import write_workbook, write_xlsx
from connectors.readers import csv as csv_reader
from connectors.readers import jsonl as jsonl_reader
from connectors.readers import reader as drop_reader
from connectors.readers import sheet as sheet_reader
from connectors.readers import (
    DropReader,
    FileRejected,
    detect_csv_encoding,
    open_drop,
    reader_schema,
)

REG = feeds()["registration"]
CREDIT = feeds()["credit_risk"]


def read_all(path: Path, feed=REG, **kw) -> tuple[DropReader, list[dict]]:
    reader = open_drop(path, feed, **kw)
    rows: list[dict] = []
    for batch in reader.batches():
        assert batch.schema == reader_schema(feed)
        rows.extend(batch.to_pylist())
    return reader, rows


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def extra(row: dict) -> dict | None:
    return None if row["_extra"] is None else json.loads(row["_extra"])


# ----------------------------------------------------------------------------- CSV encodings


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_csv_encodings(tmp_path, encoding, expected):
    name = "福州𠮷祥（中国）有限公司" if encoding == "gb18030" else "福州鼓楼（中国）有限公司"
    p = write_csv(tmp_path / "a.csv", [["统一社会信用代码", "企业名称", "住所"], ["91350100M000100Y43", name, "鼓楼区"]], encoding)
    assert detect_csv_encoding(p) == expected
    reader, rows = read_all(p)
    assert reader.format == "csv" and reader.encoding == expected
    assert len(rows) == 1
    assert rows[0]["name"] == name
    assert rows[0]["uscc"] == "91350100M000100Y43"
    assert rows[0]["address"] == "鼓楼区"
    assert rows[0]["_source_row"] == 1 and rows[0]["_parse_error"] is None and rows[0]["_extra"] is None
    assert rows[0]["reg_no"] is None  # column absent from the file


def test_gbk_detected_when_non_utf8_bytes_appear_late(tmp_path):
    # a long ASCII prefix, then GBK: detection must look at the whole file, not a sample
    rows = [["企业名称", "n"]] + [["abc", str(i)] for i in range(200_000)] + [["甲乙丙", "x"]]
    p = write_csv(tmp_path / "late.csv", rows, "gb18030")
    assert detect_csv_encoding(p) == "gb18030"
    _, out = read_all(p)
    assert len(out) == 200_001 and out[-1]["name"] == "甲乙丙"
    assert [r["_source_row"] for r in out[:3]] == [1, 2, 3] and out[-1]["_source_row"] == 200_001


def test_bad_encoding_names_offset(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes("企业名称\n".encode() + b"ok\n\x81\x20broken\n")
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "bad_encoding"
    assert "offset" in e.value.message


def test_utf16_rejected(tmp_path):
    p = tmp_path / "u16.csv"
    p.write_bytes("企业名称\n甲\n".encode("utf-16"))
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "bad_encoding"


# ----------------------------------------------------------------------------- CSV headers and rows


def test_headers_fullwidth_spaces_case(tmp_path):
    p = write_csv(tmp_path / "h.csv", [["  ＵＳＣＣ ", "企业名称　", " Reg_No"], ["x", "甲", "1"]])
    reader, rows = read_all(p)
    assert reader.header_map.original == {"uscc": "  ＵＳＣＣ ", "name": "企业名称　", "reg_no": " Reg_No"}
    assert (rows[0]["uscc"], rows[0]["name"], rows[0]["reg_no"]) == ("x", "甲", "1")


def test_values_kept_as_written(tmp_path):
    p = write_csv(tmp_path / "v.csv", [["企业名称", "住所", "注册资本"], ["  甲（中国） ", "   ", ""]])
    _, rows = read_all(p)
    assert rows[0]["name"] == "  甲（中国） "  # no trim, no NFKC
    assert rows[0]["address"] == "   "  # whitespace-only kept; staging trims
    assert rows[0]["reg_capital"] is None  # empty cell -> NULL


def test_missing_required_column(tmp_path):
    p = write_csv(tmp_path / "m.csv", [["统一社会信用代码", "住所"], ["x", "y"]])
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "missing_columns"
    msg = e.value.message
    assert "name" in msg and "企业名称" in msg and "市场主体名称" in msg
    assert "2 field(s)" in msg and "住所" not in msg  # how many fields were found, never what they hold


def test_headerless_file_never_shows_its_first_row(tmp_path):
    p = write_csv(tmp_path / "h.csv", [["91350102MA2Y000071", "甲公司", "350102199001011234"]])
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "missing_columns"
    assert "3 field(s)" in e.value.message and "企业名称" in e.value.message
    for value in ("91350102MA2Y000071", "甲公司", "350102199001011234"):
        assert value not in e.value.message


def test_missing_two_required_columns(tmp_path):
    p = write_csv(tmp_path / "m.csv", [["企业名称"], ["x"]])
    with pytest.raises(FileRejected) as e:
        open_drop(p, CREDIT)
    assert "uscc" in e.value.message and "grade" in e.value.message and "风险等级" in e.value.message


def test_extra_columns_and_duplicates(tmp_path):
    p = write_csv(
        tmp_path / "x.csv",
        [["企业名称", "备注", "名称", "备注", "联系电话", ""], ["甲", "r1", "乙", "r2", "", ""], ["丙", "", "", "", "", "z"]],
    )
    _, rows = read_all(p)
    assert rows[0]["name"] == "甲"
    # the second header matching `name` is kept as an extra, duplicates get suffixes
    assert extra(rows[0]) == {"备注": "r1", "名称": "乙", "备注_2": "r2", "联系电话": None}
    assert extra(rows[1]) == {"备注": None, "名称": None, "备注_2": None, "联系电话": None, "column_6": "z"}


def test_extra_json_escaping(tmp_path):
    nasty = 'a"b\\c\nd\te\x01f'
    p = write_csv(tmp_path / "e.csv", [["企业名称", "备注"], ["甲", nasty]])
    _, rows = read_all(p)
    assert extra(rows[0]) == {"备注": nasty}
    assert "\\u" not in rows[0]["_extra"].replace("\\u0001", "")  # ensure_ascii=False


def test_quoted_newlines_and_commas(tmp_path):
    p = write_csv(tmp_path / "q.csv", [["企业名称", "住所"], ["甲,乙", "第一行\n第二行"], ['说"明"', "x\r\ny"], ["丙", "z"]])
    _, rows = read_all(p)
    assert [r["name"] for r in rows] == ["甲,乙", '说"明"', "丙"]
    assert rows[0]["address"] == "第一行\n第二行"
    assert rows[1]["address"] == "x\r\ny"
    assert [r["_source_row"] for r in rows] == [1, 2, 3]


def test_malformed_rows_captured_not_lost(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(
        "企业名称,住所,成立日期\n甲,a,2024-01-01\n乙,b\n丙,c,2024-01-02,extra\n\"丁\n公司\",d,2024\n戊,e,f\n",
        encoding="utf-8",
    )
    _, rows = read_all(p)
    assert len(rows) == 5  # rows in == rows out
    assert [r["_source_row"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["name"] for r in rows] == ["甲", None, None, "丁\n公司", "戊"]
    assert rows[1]["_parse_error"] == "expected 3 fields, got 2"
    assert extra(rows[1]) == {"_raw_line": "乙,b"}
    assert rows[2]["_parse_error"] == "expected 3 fields, got 4"
    assert extra(rows[2]) == {"_raw_line": "丙,c,2024-01-02,extra"}
    assert rows[0]["_parse_error"] is None and rows[3]["_parse_error"] is None


def test_malformed_rows_keep_order_across_blocks(tmp_path):
    lines = ["企业名称,住所"]
    expected = []
    for i in range(1, 3001):
        if i % 700 == 0:
            lines.append(f"bad{i}")
            expected.append(None)
        elif i % 333 == 0:
            lines.append(f'"多\n行{i}",x')
            expected.append(f"多\n行{i}")
        else:
            lines.append(f"n{i},x")
            expected.append(f"n{i}")
    p = tmp_path / "blocks.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")

    old = csv_reader.CSV_BLOCK_SIZE
    csv_reader.CSV_BLOCK_SIZE = 4096  # many blocks
    try:
        _, rows = read_all(p, batch_rows=250)
    finally:
        csv_reader.CSV_BLOCK_SIZE = old
    assert [r["name"] for r in rows] == expected
    assert [r["_source_row"] for r in rows] == list(range(1, 3001))
    bad = [r for r in rows if r["_parse_error"]]
    assert [extra(r)["_raw_line"] for r in bad] == ["bad700", "bad1400", "bad2100", "bad2800"]


def test_unclosed_quote_is_one_parse_error(tmp_path):
    p = tmp_path / "uq.csv"
    p.write_text('企业名称,住所\n甲,a\n"乙,b\n丙,c\n', encoding="utf-8")
    _, rows = read_all(p)
    assert len(rows) == 2
    assert rows[1]["_parse_error"] is not None
    assert extra(rows[1])["_raw_line"].startswith('"乙,b')


def test_excel_trailing_commas_tolerated(tmp_path):
    p = tmp_path / "t.csv"
    # header with a trailing empty column, rows with and without the trailing comma, and ,,, lines
    p.write_text("企业名称,住所,\n甲,a,\n乙,b\n丙,c,,,\n,,\n", encoding="utf-8")
    _, rows = read_all(p)
    assert [(r["name"], r["address"], r["_parse_error"]) for r in rows] == [
        ("甲", "a", None),
        ("乙", "b", None),
        ("丙", "c", None),
    ]
    assert all(r["_extra"] is None for r in rows)
    assert [r["_source_row"] for r in rows] == [1, 2, 3]


def test_leading_blank_lines_and_blank_lines_inside(tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes("\r\n\r\n,,\n  \n企业名称,住所\r\n甲,a\r\n\r\n乙,b\r\n".encode())
    _, rows = read_all(p)
    assert [r["name"] for r in rows] == ["甲", "乙"]
    assert [r["_source_row"] for r in rows] == [1, 2]


def test_header_only_yields_no_rows(tmp_path):
    for body in ("企业名称,住所", "企业名称,住所\n", "企业名称,住所\r\n\r\n\r\n"):
        p = tmp_path / "h.csv"
        p.write_text(body, encoding="utf-8")
        reader, rows = read_all(p)
        assert rows == []
        assert reader.header_map.original["name"] == "企业名称"


def test_empty_file(tmp_path):
    for ext in (".csv", ".xlsx", ".xls", ".parquet", ".jsonl"):
        p = tmp_path / f"e{ext}"
        p.write_bytes(b"")
        with pytest.raises(FileRejected) as e:
            open_drop(p, REG)
        assert e.value.code == "empty_file"


def test_blank_lines_only_is_empty(tmp_path):
    p = tmp_path / "blank.csv"
    p.write_text("\n\n  \n", encoding="utf-8")
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "empty_file"


@pytest.mark.parametrize(
    "payload",
    [
        bytes(range(256)) * 50,
        b"\x89PNG\r\n\x1a\n" + bytes((i * 37) % 256 for i in range(5000)),
        b"\xff\xfe\xfd" * 1000,
        b"PK\x03\x04" + b"\x00\x01" * 100,
    ],
)
def test_garbage_csv_rejected(tmp_path, payload):
    p = tmp_path / "garbage.csv"
    p.write_bytes(payload)
    with pytest.raises(FileRejected) as e:
        reader = open_drop(p, REG)
        list(reader.batches())
    assert e.value.code in {"unreadable", "bad_encoding"}


def test_gb18030_decodable_junk_is_missing_columns(tmp_path):
    p = tmp_path / "junk.csv"
    p.write_bytes(bytes([0xB0, 0xA1, 0xC4, 0xE3]) * 500)  # valid GBK text, but no usable header
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "missing_columns"


def test_unsupported_extension(tmp_path):
    for name in ("a.txt", "a.xlsm", "a", "a.csv.gz"):
        p = tmp_path / name
        p.write_text("企业名称\n甲\n", encoding="utf-8")
        with pytest.raises(FileRejected) as e:
            open_drop(p, REG)
        assert e.value.code == "unsupported_format"


def test_extension_case_insensitive(tmp_path):
    p = write_csv(tmp_path / "A.CSV", [["企业名称"], ["甲"]])
    reader, rows = read_all(p)
    assert reader.format == "csv" and rows[0]["name"] == "甲"


def test_batches_bounded_and_rereadable(tmp_path):
    p = write_csv(tmp_path / "n.csv", [["企业名称"]] + [[f"e{i}"] for i in range(1000)])
    reader = open_drop(p, REG, batch_rows=128)
    sizes = [b.num_rows for b in reader.batches()]
    assert max(sizes) <= 128 and sum(sizes) == 1000
    assert sum(b.num_rows for b in reader.batches()) == 1000  # a second pass works too


# ----------------------------------------------------------------------------- XLSX / XLS


def make_xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "登记"
    ws.append([])  # a leading empty row
    ws.append(["统一社会信用代码", "企业名称", "成立日期", "从业人数", "网店", "更新时间", "注册资本", "备注"])
    ws.append(["91350100M000100Y43", "甲公司", dt.date(2024, 3, 5), 12, True, dt.datetime(2024, 1, 2, 3, 4, 5), 2.5, None])
    ws.append([])  # an empty row between data rows
    ws.append(["91350100M000100Y44", "乙公司", None, 2024.0, False, None, 12345678901234, "x"])
    wb.create_sheet("second").append(["ignored"])
    wb.save(path)
    return path


def test_xlsx(tmp_path):
    reader, rows = read_all(make_xlsx(tmp_path / "a.xlsx"))
    assert reader.format == "xlsx" and reader.encoding is None
    assert len(rows) == 2
    a, b = rows
    assert a["uscc"] == "91350100M000100Y43" and a["name"] == "甲公司"
    assert a["established_on"] == "2024-03-05"
    assert a["employees"] == "12"
    assert a["online_shop"] == "true"
    assert a["updated_at"] == "2024-01-02 03:04:05"
    assert a["reg_capital"] == "2.5"
    assert a["_extra"] == '{"备注":null}'
    assert b["established_on"] is None
    assert b["employees"] == "2024"
    assert b["online_shop"] == "false"
    assert b["reg_capital"] == "12345678901234"
    assert extra(b) == {"备注": "x"}
    assert [r["_source_row"] for r in rows] == [1, 2]


def test_xls(tmp_path):
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("s")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for c, h in enumerate(["企业名称", "成立日期", "从业人数"]):
        ws.write(1, c, h)  # header on the second row: the first is empty
    ws.write(2, 0, "甲公司")
    ws.write(2, 1, dt.date(2023, 12, 31), date_style)
    ws.write(2, 2, 30)
    ws.write(3, 0, "乙公司")
    ws.write(3, 2, 7.5)
    p = tmp_path / "a.xls"
    wb.save(str(p))
    reader, rows = read_all(p)
    assert reader.format == "xls"
    assert [(r["name"], r["established_on"], r["employees"]) for r in rows] == [
        ("甲公司", "2023-12-31", "30"),
        ("乙公司", None, "7.5"),
    ]


def test_xlsx_missing_column(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["统一社会信用代码"])
    wb.active.append(["x"])
    p = tmp_path / "m.xlsx"
    wb.save(p)
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "missing_columns"


def test_truncated_xlsx(tmp_path):
    good = make_xlsx(tmp_path / "good.xlsx").read_bytes()
    p = tmp_path / "bad.xlsx"
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "unreadable"


def test_garbage_xls_and_html_xls(tmp_path):
    p = tmp_path / "g.xls"
    p.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "unreadable"
    p.write_text("<html><table><tr><td>企业名称</td></tr></table></html>", encoding="utf-8")
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "unreadable" and "HTML" in e.value.message


def test_xlsx_zip_bomb_rejected(tmp_path):
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            chunk = b"\x00" * (1 << 20)
            for _ in range(80):  # 80 MiB of zeros compresses ~1000-fold
                f.write(chunk)
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "too_large"


def test_far_away_cell_rejected_before_calamine_allocates(tmp_path, monkeypatch):
    import python_calamine

    class Untouchable:
        @staticmethod
        def from_filelike(f):
            raise AssertionError("calamine must not see this workbook")

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Untouchable)
    p = tmp_path / "far.xlsx"
    write_xlsx(p, [("A1", "企业名称"), ("A2", "甲公司"), ("XFD1048576", "x")])
    assert p.stat().st_size < 5000
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "too_large"
    assert "1048576 rows x 16384 columns" in e.value.message and "甲公司" not in e.value.message


def test_sheet_extent_follows_excels_placement(tmp_path, monkeypatch):
    """Cells and rows without ``r`` come after the previous ones; elements may carry a namespace prefix."""

    monkeypatch.setattr(sheet_reader, "SHEET_MAX_CELLS", 100)
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

    def sheet(rows: str) -> Path:
        p = tmp_path / "s.xlsx"
        write_workbook(p, f'<x:worksheet xmlns:x="{main}"><x:sheetData>{rows}</x:sheetData></x:worksheet>')
        return p

    with zipfile.ZipFile(sheet("")) as zf:
        assert sheet_reader._first_sheet_part(zf) == ["xl/worksheets/data.xml"]
    sixty = "<x:c><x:v>1</x:v></x:c>" * 30 + '<x:c t="n"/>' * 30
    sheet_reader._check_sheet_extent(sheet(f"<x:row>{sixty}</x:row>"))  # 1 x 60
    for rows in (f"<x:row>{sixty}</x:row><x:row><x:c/></x:row>",  # 2 x 60
                 '<x:row r="3"><x:c r="AX3"/></x:row>',  # 3 x 50
                 '<x:row r="1"><x:c r="A1"/><x:c/></x:row><x:row r="51"><x:c r="A51"/></x:row>',  # 51 x 2
                 "<x:row r='3'><x:c r = 'AX3'/></x:row>",  # 3 x 50, quoted as XML also allows
                 '<x:row r="3"><x:c\nr="AX3"/></x:row>',
                 '<x:row r="3"><y:c xmlns:y="' + main + '" r="AX3"/></x:row>'):  # another prefix
        with pytest.raises(FileRejected) as e:
            sheet_reader._check_sheet_extent(sheet(rows))
        assert e.value.code == "too_large"
    with pytest.raises(FileRejected, match="not A1-style"):
        sheet_reader._check_sheet_extent(sheet('<x:row r="1"><x:c r="&#65;X1"/></x:row>'))
    dimension = f'<worksheet xmlns="{main}"><dimension ref="A1:CV100"/><sheetData/></worksheet>'
    p = tmp_path / "d.xlsx"
    write_workbook(p, dimension)
    with pytest.raises(FileRejected, match="100 rows x 100 columns"):
        sheet_reader._check_sheet_extent(p)


@pytest.mark.parametrize("name", ["a.csv", "a.xlsx", "a.jsonl", "a.parquet"])
def test_a_file_read_through_its_descriptor_reads_the_same(tmp_path, name):
    """A landing file is read through its descriptor, as /proc/self/fd/<fd>, its name given apart."""
    table = [["统一社会信用代码", "企业名称"], ["91350102MA2Y000071", "甲公司"], ["91350102MA2Y00008X", "乙公司"]]
    p = tmp_path / name
    if name.endswith(".csv"):
        write_csv(p, table)
    elif name.endswith(".xlsx"):
        write_xlsx(p, [(f"{col}{r + 1}", v) for r, row in enumerate(table) for col, v in zip("AB", row)])
    elif name.endswith(".jsonl"):
        p.write_text("".join(json.dumps(dict(zip(table[0], row)), ensure_ascii=False) + "\n" for row in table[1:]))
    else:
        pq.write_table(pa.table({h: [row[i] for row in table[1:]] for i, h in enumerate(table[0])}), p)
    fd = os.open(p, os.O_RDONLY)
    try:
        by_fd = read_all(Path(f"/proc/self/fd/{fd}"), name=name)[1]
    finally:
        os.close(fd)
    assert by_fd == read_all(p)[1] and [r["name"] for r in by_fd] == ["甲公司", "乙公司"]


def test_jsonl_nested_too_deep_rejected(tmp_path):
    p = tmp_path / "deep.jsonl"
    p.write_text('{"企业名称": "甲", "x": ' + "[" * 5000 + "]" * 5000 + "}\n", encoding="utf-8")
    with pytest.raises(FileRejected, match="levels deep") as e:
        open_drop(p, REG)
    assert e.value.code == "unreadable"
    fine = tmp_path / "fine.jsonl"
    brackets = "[" * 200  # inside a string: not nesting
    fine.write_text("".join(json.dumps({"企业名称": f"甲{i}", "x": [[[i]]], "y": brackets}) + "\n" for i in range(100)))
    _, rows = read_all(fine)
    assert len(rows) == 100 and extra(rows[0])["x"] == "[[[0]]]"


def test_header_too_wide_rejected(tmp_path):
    p = tmp_path / "wide.csv"
    p.write_text("企业名称," + ",".join(f"c{i}" for i in range(20_000)) + "\n甲\n", encoding="utf-8")
    with pytest.raises(FileRejected, match="20001 fields") as e:
        open_drop(p, REG)
    assert e.value.code == "too_large"


def test_xls_that_is_really_xlsx(tmp_path):
    src = make_xlsx(tmp_path / "a.xlsx")
    p = tmp_path / "renamed.xls"
    p.write_bytes(src.read_bytes())
    reader, rows = read_all(p)
    assert reader.format == "xlsx" and len(rows) == 2


# ----------------------------------------------------------------------------- Parquet


def test_parquet(tmp_path):
    table = pa.table(
        {
            "统一社会信用代码": pa.array(["91350100M000100Y43", None, "x"]),
            "企业名称": pa.array(["甲", "乙", ""]),
            "成立日期": pa.array([dt.date(2024, 3, 5), None, dt.date(1999, 1, 1)], pa.date32()),
            "从业人数": pa.array([12, None, 3], pa.int64()),
            "注册资本": pa.array([2.5, 100.0, 0.1], pa.float64()),
            "更新时间": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 678), None, None], pa.timestamp("us")),
            "网店": pa.array([True, False, None]),
            "标签": pa.array([["a", "b"], None, []], pa.list_(pa.string())),
        }
    )
    p = tmp_path / "a.parquet"
    pq.write_table(table, p)
    reader, rows = read_all(p)
    assert reader.format == "parquet"
    assert [r["established_on"] for r in rows] == ["2024-03-05", None, "1999-01-01"]
    assert [r["employees"] for r in rows] == ["12", None, "3"]
    assert [r["reg_capital"] for r in rows] == ["2.5", "100", "0.1"]
    assert rows[0]["updated_at"] == "2024-01-02 03:04:05"
    assert [r["online_shop"] for r in rows] == ["true", "false", None]
    assert rows[2]["name"] is None  # "" is an empty cell
    assert extra(rows[0]) == {"标签": '["a","b"]'}
    assert extra(rows[1]) == {"标签": None}
    assert [r["_source_row"] for r in rows] == [1, 2, 3]


def test_parquet_garbage(tmp_path):
    p = tmp_path / "a.parquet"
    p.write_bytes(b"PAR1 not really")
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "unreadable"


# ----------------------------------------------------------------------------- JSON Lines


def test_jsonl(tmp_path):
    lines = [
        json.dumps({"统一社会信用代码": "91350100M000100Y43", "企业名称": "甲", "注册资本": 1.10, "备注": {"a": [1, 2]}}, ensure_ascii=False),
        "",
        '{"企业名称": "乙", "从业人数": 12, "注册资本": 1.10, "网店": true, "住所": null}',
        "[1, 2]",
        "{not json",
        "{}",
        '{"企业名称": "丙", "从业人数": 3}',
    ]
    p = tmp_path / "a.jsonl"
    p.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    reader, rows = read_all(p)
    assert reader.format == "jsonl"
    assert [r["name"] for r in rows] == ["甲", "乙", None, None, "丙"]
    assert rows[0]["reg_capital"] == "1.1"  # json.dumps wrote 1.1
    assert rows[1]["reg_capital"] == "1.10"  # the number's text is kept exactly
    assert rows[1]["employees"] == "12" and rows[1]["online_shop"] == "true" and rows[1]["address"] is None
    assert extra(rows[0]) == {"备注": '{"a":[1,2]}'}
    assert rows[2]["_parse_error"].startswith("not a JSON object")
    assert extra(rows[2]) == {"_raw_line": "[1, 2]"}
    assert rows[3]["_parse_error"].startswith("invalid JSON")
    assert [r["_source_row"] for r in rows] == [1, 2, 3, 4, 5]


def test_jsonl_late_keys_go_to_extra(tmp_path):
    lines = [json.dumps({"企业名称": f"e{i}"}, ensure_ascii=False) for i in range(1000)]
    lines.append(json.dumps({"企业名称": "late", "住所": "addr"}, ensure_ascii=False))
    p = tmp_path / "late.jsonl"
    p.write_text("\n".join(lines), encoding="utf-8")
    _, rows = read_all(p)
    assert len(rows) == 1001
    assert rows[-1]["address"] is None and extra(rows[-1]) == {"住所": "addr"}


def test_jsonl_bad_utf8(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_bytes('{"企业名称": "甲"}\n'.encode("gbk"))
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "bad_encoding"


def test_jsonl_string_objects_take_arrows_parser(tmp_path, monkeypatch):
    """A chunk of text-valued objects is parsed by Arrow; a chunk with a number goes line by line."""

    calls = []
    real = jsonl_reader._JsonlLines.read
    monkeypatch.setattr(jsonl_reader._JsonlLines, "read", lambda self, lines: calls.append(1) or real(self, lines))
    monkeypatch.setattr(jsonl_reader, "JSONL_CHUNK_BYTES", 200)
    lines = [json.dumps({"企业名称": f"公司{i}", "住所": "路" * 10, "备注": "x"}, ensure_ascii=False) for i in range(40)]
    lines[30] = '{"企业名称": "有数", "从业人数": 12}'
    p = tmp_path / "s.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, rows = read_all(p)
    assert [r["name"] for r in rows][:3] == ["公司0", "公司1", "公司2"] and len(rows) == 40
    assert rows[30]["employees"] == "12" and extra(rows[30]) == {"备注": None}
    assert extra(rows[0]) == {"备注": "x"}
    assert 0 < len(calls) < 10  # most chunks went through Arrow


jsonl_key = st.sampled_from(["统一社会信用代码", "企业名称", "住所", "备注", "extra2"])
jsonl_value = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list('a 甲\t\u3000\x1c"\\/\n{}[]')), max_size=5),
    st.integers(-10, 10**20), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(0, 3), max_size=2),
)
jsonl_line = st.one_of(
    st.dictionaries(jsonl_key, jsonl_value, max_size=5).map(lambda d: json.dumps(d, ensure_ascii=False)),
    st.dictionaries(jsonl_key, st.one_of(st.none(), st.text(alphabet="ab甲 ", max_size=4)), max_size=5)
    .map(lambda d: json.dumps(d, ensure_ascii=False, indent=None)),
    st.sampled_from(["", "   ", "\u3000", "null", "[1]", '"s"', "{", '{"企业名称":"a"}{"企业名称":"b"}',
                     '{"企业名称":"a","企业名称":"b"}', '{"企业名称":"a"} junk', ' {"企业名称":"sp"} ', "{}"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(jsonl_line, min_size=1, max_size=30), chunk=st.sampled_from([64, 256, 1 << 20]),
       crlf=st.booleans(), bom=st.booleans())
def test_jsonl_arrow_path_reads_as_the_line_path(tmp_path, monkeypatch, lines, chunk, crlf, bom):
    """Whatever the lines, Arrow's path (where it takes a chunk) gives exactly the line-by-line rows."""

    p = tmp_path / "prop.jsonl"
    head = json.dumps({"企业名称": "头", "住所": "", "备注": None}, ensure_ascii=False)  # a header with an extra key
    p.write_bytes((("\ufeff" if bom else "") + ("\r\n" if crlf else "\n").join([head, *lines]) + "\n").encode("utf-8"))
    monkeypatch.setattr(jsonl_reader, "JSONL_CHUNK_BYTES", chunk)
    got = {}
    for arrow in (True, False):
        monkeypatch.setattr(jsonl_reader, "JSONL_ARROW", arrow)
        try:
            got[arrow] = read_all(p)[1]
        except FileRejected as e:
            got[arrow] = e.code
    assert got[True] == got[False]


# ----------------------------------------------------------------------------- property: CSV round trip

cell = st.text(
    alphabet=st.sampled_from(list('ab ,"\n\r\t;；、（）甲乙丙企业公司𠮷1209-\'')),
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(cell, min_size=3, max_size=3), min_size=0, max_size=25),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_csv_round_trip(tmp_path, rows, encoding):
    header = ["企业名称", "住所", "备注"]
    p = write_csv(tmp_path / "rt.csv", [header, *rows], encoding)
    _, out = read_all(p)
    # rows whose every cell is empty or white space carry no data and are skipped by design
    kept = [r for r in rows if any(v.strip() != "" for v in r)]
    assert len(out) == len(kept)
    for src, got in zip(kept, out):
        assert got["_parse_error"] is None
        assert got["name"] == (src[0] or None)
        assert got["address"] == (src[1] or None)
        assert extra(got) == {"备注": src[2] or None}
    assert [r["_source_row"] for r in out] == list(range(1, len(kept) + 1))


def line_of(row: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(row)  # as write_csv writes it
    return buf.getvalue()[:-2]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell, min_size=1, max_size=5), min_size=0, max_size=40))
@example(rows=[["\r"], [" "], [","], ["a", "b"], ["", "", "", ""], ["x", "y", "z", "", ""], ["\t", " "]])
def test_csv_ragged_rows_never_lost(tmp_path, rows):
    """Rows of every width, across many tiny blocks: each comes back, in order, once."""

    p = write_csv(tmp_path / "ragged.csv", [["企业名称", "住所", "备注"], *rows], "utf-8")
    old = csv_reader.CSV_BLOCK_SIZE
    csv_reader.CSV_BLOCK_SIZE = 1024
    try:
        _, out = read_all(p, batch_rows=7)
    finally:
        csv_reader.CSV_BLOCK_SIZE = old
    expected = []  # (name, parse error?) per row the reader should emit
    kept_rows = []
    for r in rows:
        if all(v.strip() == "" for v in r):
            continue  # no data (every cell empty or white space): skipped like a blank line
        kept_rows.append(r)
        if len(r) == 3 or (len(r) > 3 and all(v == "" for v in r[3:])):
            expected.append((r[0] or None, False))
        else:
            expected.append((None, True))
    assert [(o["name"], o["_parse_error"] is not None) for o in out] == expected
    assert [o["_source_row"] for o in out] == list(range(1, len(expected) + 1))
    for o, r in zip(out, kept_rows):
        if o["_parse_error"]:
            raw = extra(o)["_raw_line"]
            assert next(csv.reader(io.StringIO(raw, newline=""))) == r


def test_jsonl_line_longer_than_arrows_block_still_goes_through_arrow(tmp_path, monkeypatch):

    monkeypatch.setattr(jsonl_reader._JsonlLines, "read", lambda self, lines: pytest.fail("went line by line"))
    p = tmp_path / "long.jsonl"
    p.write_text(json.dumps({"企业名称": "甲"}, ensure_ascii=False) + "\n"
                 + json.dumps({"企业名称": "乙", "经营范围": "食" * (1 << 20)}, ensure_ascii=False) + "\n", encoding="utf-8")
    _, rows = read_all(p)
    assert [r["name"] for r in rows] == ["甲", "乙"] and len(rows[1]["business_scope"]) == 1 << 20


# ----------------------------------------------------------------------------- the first sheet, however quoted

FAR = [("A1", "企业名称"), ("A2", "甲公司"), ("XFD1048576", "x")]
SMALL = [("A1", "统一社会信用代码"), ("B1", "企业名称"), ("A2", "91350102MA2Y000071"), ("B2", "甲公司")]


@pytest.mark.parametrize(("quote", "rels_quote"), [("'", '"'), ("'", "'"), ('"', "'"), ('"', '"')])
def test_the_first_sheet_is_found_whichever_quote_its_attributes_use(tmp_path, quote, rels_quote):
    from tests.corpus.make_hostile import sheet_xml, write_two_sheet_workbook

    p = tmp_path / "a.xlsx"
    write_two_sheet_workbook(p, sheet_xml(FAR), sheet_xml(SMALL), quote=quote, rels_quote=rels_quote)
    with zipfile.ZipFile(p) as zf:
        assert sheet_reader._first_sheet_part(zf) == ["xl/worksheets/data.xml"]
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "too_large"
    # a big second sheet is not what is read
    write_two_sheet_workbook(p, sheet_xml(SMALL), sheet_xml(FAR), quote=quote, rels_quote=rels_quote)
    _, rows = read_all(p)
    assert [r["name"] for r in rows] == ["甲公司"]


def test_a_first_sheet_not_known_for_certain_is_bounded_by_every_sheet(tmp_path):
    from tests.corpus.make_hostile import sheet_xml, write_two_sheet_workbook

    p = tmp_path / "a.xlsx"
    write_two_sheet_workbook(p, sheet_xml(SMALL), sheet_xml(FAR), sheet_name="R&amp;D")  # an entity: not parsed here
    with zipfile.ZipFile(p) as zf:
        assert sheet_reader._first_sheet_part(zf) == ["xl/worksheets/data.xml", "xl/worksheets/other.xml"]
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "too_large"


def test_a_parquet_file_counting_too_many_rows_is_refused_from_its_footer(tmp_path, monkeypatch):
    p = tmp_path / "a.parquet"
    names = pa.array(["甲公司"] * 1000).dictionary_encode()
    pq.write_table(pa.table({"统一社会信用代码": pa.array(["91350102MA2Y000071"] * 1000), "企业名称": names}), p)
    monkeypatch.setenv("SSJ_MAX_FILE_ROWS", "999")
    monkeypatch.setattr(drop_reader, "parquet_batches", lambda *a: pytest.fail("no row may be decoded"))
    with pytest.raises(FileRejected) as e:
        open_drop(p, REG)
    assert e.value.code == "too_large" and "1000 rows" in e.value.message and "SSJ_MAX_FILE_ROWS" in e.value.message
    monkeypatch.setenv("SSJ_MAX_FILE_ROWS", "1000")
    assert open_drop(p, REG).format == "parquet"


def test_a_raw_file_expanding_far_beyond_its_landing_file_is_refused_while_written(tmp_path, monkeypatch):
    import datetime as _dt

    from pipelines.defs.ingest import raw_store

    p = tmp_path / "a.parquet"
    n = 200_000
    pq.write_table(pa.table({"统一社会信用代码": pa.array(["91350102MA2Y000071"] * n).dictionary_encode(),
                             "企业名称": pa.array(["甲" * 200] * n).dictionary_encode()}), p)
    monkeypatch.setattr(raw_store, "RAW_EXPANSION", 5)  # its raw file is some 40 times its size
    monkeypatch.setattr(raw_store, "RAW_EXPANSION_MIN", 64 << 10)
    reader = open_drop(p, REG, batch_rows=10_000)
    with pytest.raises(FileRejected) as e:
        raw_store.write_raw_file(tmp_path / "wh", "registration", reader.batches(), agency="a", source_file="a",
                                 sha256="0" * 64, mtime=_dt.datetime(2026, 1, 1), ingested_at=_dt.datetime(2026, 1, 1),
                                 source_bytes=p.stat().st_size)
    assert e.value.code == "too_large" and "expansion" in e.value.message
    assert list((tmp_path / "wh" / "raw" / "registration").iterdir()) == []  # nothing left, not even a temp file
