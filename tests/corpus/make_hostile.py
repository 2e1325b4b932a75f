"""Build the hostile landing files that are not committed: too big, too odd or not files at all.

    python -m tests.corpus.make_hostile DIR   # DIR/landing/<agency>/<feed>/... and DIR/secret.csv

``build(root)`` copies the committed corpus (tests/corpus/hostile/) into
``root/landing/samr-350102/registration/`` beside a good file and adds every
case below; ``EXPECTED`` says what ingestion must make of each (by file name).
tests/integration/test_hostile_input.py runs one `ssj run` over the result.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import zipfile
from pathlib import Path

from tests.support import make_uscc

HERE = Path(__file__).resolve().parent / "hostile"
AGENCY_FEED = "samr-350102/registration"
HEADER = "统一社会信用代码,企业名称,成立日期"
GOOD = f"{HEADER}\n91350102MA2Y000071,正常有限公司,2024-01-01\n"
ID_NUMBER = "350102199001011234"
"""A personal ID number in the first row of a file without a header row: it must not reach any message."""
NOT_UTF8_NAME = b"\xd5\xc5\xc8\xfd.csv"  # 张三.csv in GBK, as a Windows share or zip hands it over
NOT_UTF8_FOLDER = b"\xb2\xe2\xca\xd4"  # 测试 in GBK, as an agency folder
READER_MEMORY = "1GiB"
"""SSJ_READER_MEMORY for a run over this corpus: memory_hog.xlsx needs more, every other file far less."""

EXPECTED = {  # file name as recorded -> (status, error_code or codes)
    "good.csv": ("ingested", None),
    "empty.csv": ("rejected", "empty_file"),
    "header_only.csv": ("ingested", None),
    "binary_garbage.csv": ("rejected", {"unreadable", "bad_encoding"}),
    "nul_bytes.csv": ("rejected", "unreadable"),
    "mixed_encodings.csv": ("rejected", "bad_encoding"),
    "truncated.xlsx": ("rejected", "unreadable"),
    "formula_cells.csv": ("ingested", None),
    "long_line.csv": ("rejected", "unreadable"),
    "zip_bomb.xlsx": ("rejected", "too_large"),
    "outside.csv": ("rejected", "symlink"),
    "bad\nname.csv": ("rejected", "bad_name"),
    "bad..name.csv": ("ingested", None),  # '..' inside a name is harmless; only a '..' path segment escapes
    "far_cell.xlsx": ("rejected", "too_large"),  # one cell at XFD1048576: refused before calamine allocates
    "memory_hog.xlsx": ("rejected", "too_large"),  # within the cell bound, above the reader's memory limit
    "\\xd5\\xc5\\xc8\\xfd.csv": ("rejected", "bad_name"),
    "in_gbk_folder.csv": ("rejected", "bad_name"),
    "pipe.csv": ("rejected", "not_a_file"),
    "socket.csv": ("rejected", "not_a_file"),
    "dev_zero.csv": ("rejected", "symlink"),
    "linked_folder": ("rejected", "symlink"),
    "no_header.csv": ("rejected", "missing_columns"),
    "deep.jsonl": ("rejected", "unreadable"),
    "wide.csv": ("rejected", "too_large"),
    "deep_tree": ("rejected", "bad_location"),  # a folder in the feed folder: one entry, never walked
    "single_quoted.xlsx": ("rejected", "too_large"),  # its first sheet named with ' quotes is the one bounded
}
NOT_REGULAR = {"outside.csv", "dev_zero.csv", "linked_folder", "pipe.csv", "socket.csv"}


def build(root: Path) -> Path:
    """Every case under ``root/landing``; return the agency's feed folder."""
    folder = root / "landing" / AGENCY_FEED
    folder.mkdir(parents=True)
    for f in HERE.iterdir():
        if f.suffix != ".md":
            shutil.copy(f, folder / f.name)
    (folder / "good.csv").write_text(GOOD, encoding="utf-8")
    other = GOOD.replace("91350102MA2Y000071", make_uscc("91350102MA2Y00008")).replace("正常", "另一")
    (folder / "bad..name.csv").write_text(other, encoding="utf-8")
    (folder / "bad\nname.csv").write_text(GOOD, encoding="utf-8")
    write_long_line(folder / "long_line.csv")
    write_zip_bomb(folder / "zip_bomb.xlsx")
    write_xlsx(folder / "far_cell.xlsx", [("A1", "企业名称"), ("A2", "甲公司"), ("XFD1048576", "x")])
    write_xlsx(folder / "memory_hog.xlsx", [("A1", "企业名称"), ("A2", "甲公司"), ("AN1000000", "x")])
    write_two_sheet_workbook(folder / "single_quoted.xlsx",
                             sheet_xml([("A1", "企业名称"), ("A2", "甲公司"), ("XFD1048576", "x")]),
                             sheet_xml([("A1", "统一社会信用代码"), ("B1", "企业名称")]))
    write_deep_tree(folder / "deep_tree")
    (folder / "no_header.csv").write_text(f"91350102MA2Y000071,某某公司,{ID_NUMBER}\n", encoding="utf-8")
    (folder / "deep.jsonl").write_text('{"企业名称": ' + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    (folder / "wide.csv").write_text(",".join(f"c{i}" for i in range(100_000)) + "\n", encoding="utf-8")
    secret = root / "secret.csv"
    secret.write_text(GOOD, encoding="utf-8")
    (folder / "outside.csv").symlink_to(secret)
    (folder / "dev_zero.csv").symlink_to("/dev/zero")
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "a.csv").write_text(GOOD, encoding="utf-8")
    (folder / "linked_folder").symlink_to(root / "elsewhere", target_is_directory=True)
    os.mkfifo(folder / "pipe.csv")
    make_socket(folder / "socket.csv")
    with open(os.fsencode(folder) + b"/" + NOT_UTF8_NAME, "wb") as f:
        f.write(GOOD.encode("gbk"))
    gbk_folder = os.fsencode(root / "landing") + b"/" + NOT_UTF8_FOLDER + b"/registration"
    os.makedirs(gbk_folder)
    with open(gbk_folder + b"/in_gbk_folder.csv", "wb") as f:
        f.write(GOOD.encode())
    return folder


def write_deep_tree(top: Path, depth: int = 40) -> None:
    """``depth`` nested folders of 250-character names, a long-named file at the bottom: its path is
    some 10,000 bytes, beyond PATH_MAX (each made relative to the folder above it)."""
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(depth):
            name = f"{i:03d}" + "d" * 247
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        leaf = os.open("f" * 200 + ".csv", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, GOOD.encode())
        os.close(leaf)
    finally:
        os.close(fd)


def write_long_line(path: Path) -> None:
    """One 50 MB record after the header, then a good one."""
    with open(path, "wb") as f:
        f.write(HEADER.encode() + b"\n")
        f.write(b"91350102MA2Y000071," + b"x" * (50 << 20) + b",2024-01-01\n")


def write_zip_bomb(path: Path) -> None:
    """80 MiB of zeros packed into a few hundred KiB."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            for _ in range(80):
                f.write(b"\x00" * (1 << 20))


def make_socket(path: Path) -> None:
    """A Unix socket left at ``path`` (bound, then closed: the file stays)."""
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
    finally:
        sock.close()


_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def write_xlsx(path: Path, cells: list[tuple[str, str]]) -> None:
    """A minimal workbook: one sheet of inline-string ``cells`` given as (reference, text), in order."""
    write_workbook(path, sheet_xml(cells))


def write_workbook(path: Path, sheet_xml: str) -> None:
    """A minimal workbook whose one sheet is ``sheet_xml``, reached as Excel does (workbook.xml, its rels)."""
    _write_package(
        path,
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheets><sheet name="数据" sheetId="1" r:id="rId7"/></sheets></workbook>',
        f'<Relationships xmlns="{_RELS}"><Relationship Id="rId7" Type="{_DOC}/worksheet" '
        'Target="worksheets/data.xml"/></Relationships>',
        {"data.xml": sheet_xml})


def write_two_sheet_workbook(path: Path, first_xml: str, second_xml: str, *, quote: str = "'",
                             rels_quote: str = '"', sheet_name: str = "数据") -> None:
    """A workbook of two sheets: the first ``first_xml`` (part data.xml), the second ``second_xml``.
    The first <sheet>'s attributes are quoted with ``quote`` (XML allows ' as well as "), the second
    <sheet>'s with ", the relationships' with ``rels_quote``: a pattern that knows only " finds the
    second sheet first."""
    q, rq = quote, rels_quote
    workbook = (f'<workbook xmlns={q}{_MAIN}{q} xmlns:r={q}{_DOC}{q}><sheets>'
                f'<sheet name={q}{sheet_name}{q} sheetId={q}1{q} r:id={q}rId7{q}/>'
                '<sheet name="other" sheetId="2" r:id="rId8"/></sheets></workbook>')
    rels = (f'<Relationships xmlns="{_RELS}">'
            f'<Relationship Id={rq}rId7{rq} Type={rq}{_DOC}/worksheet{rq} Target={rq}worksheets/data.xml{rq}/>'
            f'<Relationship Id={rq}rId8{rq} Type={rq}{_DOC}/worksheet{rq} Target={rq}worksheets/other.xml{rq}/>'
            '</Relationships>')
    _write_package(path, workbook, rels, {"data.xml": first_xml, "other.xml": second_xml})


def _write_package(path: Path, workbook: str, rels: str, sheets: dict[str, str]) -> None:
    """The zip package of a workbook: content types, the root relationship, ``workbook`` and its
    ``rels``, and each worksheet part of ``sheets`` (file name under xl/worksheets/ -> XML)."""
    overrides = "".join(f'<Override PartName="/xl/worksheets/{name}" ContentType="{_CT}.worksheet+xml"/>'
                        for name in sheets)
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>{overrides}</Types>'),
        "_rels/.rels": (f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_DOC}/officeDocument" '
                        'Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": rels,
        **{f"xl/worksheets/{name}": xml for name, xml in sheets.items()},
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + text)


def sheet_xml(cells: list[tuple[str, str]]) -> str:
    """A worksheet's XML: inline-string ``cells`` given as (reference, text), in order."""
    rows: dict[int, list[str]] = {}
    for ref, text in cells:
        number = int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        rows.setdefault(number, []).append(f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>')
    data = "".join(f'<row r="{n}">{"".join(cs)}</row>' for n, cs in sorted(rows.items()))
    return f'<worksheet xmlns="{_MAIN}"><sheetData>{data}</sheetData></worksheet>'


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
