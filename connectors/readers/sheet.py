"""Spreadsheet drops (.xlsx, .xls) through python-calamine: the first sheet, bounded before calamine allocates it (zip size, zip bombs, the sheet's extent)."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from connectors.encoding import FileRejected
from connectors.readers.assemble import Assembler

if TYPE_CHECKING:
    from connectors.readers.reader import DropReader

XLSX_MAX_UNCOMPRESSED = 2 << 30  # 2 GiB of XML is already far beyond any real drop
XLSX_BOMB_RATIO = 250  # uncompressed/compressed above this ...
XLSX_BOMB_MIN = 64 << 20  # ... and above this size -> treated as a zip bomb
SHEET_MAX_CELLS = 50_000_000
"""The largest rows x columns extent of an .xlsx sheet: calamine holds the sheet as a dense range of
32 bytes a cell (1.6 GB at this bound). Excel's 1,048,576 rows x 47 columns fit."""


def _check_zip(path: Path) -> None:
    """Bound an .xlsx's decompressed size before anything decompresses it."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise FileRejected("unreadable", f"not a readable .xlsx workbook (damaged or truncated zip): {e}") from e
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > XLSX_MAX_UNCOMPRESSED:
        raise FileRejected(
            "too_large",
            f"the workbook decompresses to {total} bytes, above the limit of {XLSX_MAX_UNCOMPRESSED}; "
            "split it or send CSV",
        )
    if total > XLSX_BOMB_MIN and total > XLSX_BOMB_RATIO * max(packed, 1):
        raise FileRejected(
            "too_large", f"the workbook decompresses {total / max(packed, 1):.0f}-fold ({total} bytes): refused"
        )


_PREFIXED = rb"<(?:[A-Za-z_][\w.-]*:)?"  # an element, with or without a namespace prefix
_SHEET_PREFIX = re.compile(rb"<([A-Za-z_][\w.-]*:)?(?:sheetData|worksheet)\b")
_ANY_PLACED = re.compile(_PREFIXED + rb"(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb"\sr\s*=\s*[\"']([A-Z]*)(\d+)[\"']")
_HAS_R = re.compile(rb"\sr\s*=")
_DIMENSION = re.compile(_PREFIXED + rb'dimension\b[^>]*?\sref="(?:[A-Z]+\d+:)?([A-Z]+)(\d+)"')
_SHEET = re.compile(_PREFIXED + rb"sheet(?=[\s/>])([^>]*)>")
_RELATIONSHIP = re.compile(_PREFIXED + rb"Relationship(?=[\s/>])([^>]*)>")
_ATTRIBUTE = re.compile(rb"""\s([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")  # either quote, as XML allows
_UNCERTAIN = (b"<!--", b"<![CDATA[", b"&")
"""What the patterns do not read as an XML parser would (a commented-out <sheet>, an escaped id): seen
in workbook.xml or its relationships, the first sheet is not taken as known."""
_AFTER_NAME = (b" ", b"\n", b"\r", b"\t", b">", b"/")
SHEET_SCAN_CHUNK = 1 << 20
_PART_LIMIT = 16 << 20  # workbook.xml and its relationships are a few KiB in real workbooks


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _tags(data: bytes, name: bytes) -> int:
    """How many times ``name`` follows ``<`` or a namespace prefix's ``:`` and ends there: at least
    the number of such elements (text like ``a:c d`` counts too, which only sends a chunk to the walk)."""
    return sum(data.count(start + name + end) for start in (b"<", b":") for end in _AFTER_NAME)


class _SheetExtent:
    """The largest row and column a worksheet's XML refers to, read chunk by chunk.

    Cells and rows carry their place (``r="XFD1048576"``, ``r="12"``); one without
    it is the next after the previous one, as calamine places it. A chunk whose
    every ``<c>`` and ``<row>`` starts with its ``r="..."`` (what Excel and the
    libraries write) is scanned by compiled patterns and counts (C speed, well
    under a second a million cells); any other is walked element by element."""

    def __init__(self, prefix: bytes) -> None:
        self.rows = self.cols = 0
        self.row = self.col = 0  # the current place
        c, row = re.escape(b"<" + prefix + b"c"), re.escape(b"<" + prefix + b"row")
        self._cell_cols = re.compile(c + rb' r="([A-Z]+)')
        self._cell_rows = re.compile(c + rb' r="[A-Z]+(\d+)"')
        self._row_refs = re.compile(row + rb' r="(\d+)"')

    def feed(self, data: bytes) -> None:
        cols, rows = self._cell_cols.findall(data), self._row_refs.findall(data)
        if len(cols) != _tags(data, b"c") or len(rows) != _tags(data, b"row"):
            self._walk(data)
            return
        if rows:
            self.row = int(rows[-1])
            self.rows = max(self.rows, max(map(int, rows)))
        if cols:
            self.cols = max(self.cols, _column_number(max(set(cols), key=lambda b: (len(b), b))))
            self.rows = max(self.rows, max(map(int, self._cell_rows.findall(data))))
            self.col = _column_number(cols[-1])

    def _walk(self, data: bytes) -> None:
        for match in _ANY_PLACED.finditer(data):
            attributes = match.group(2)
            ref = _R_ATTR.search(attributes)
            if ref is None and _HAS_R.search(attributes):
                raise FileRejected("unreadable", "the sheet holds a cell or row reference that is not A1-style")
            if match.group(1) == b"row":
                self.row = int(ref.group(2)) if ref else self.row + 1
                self.col = 0
            else:
                self.col = _column_number(ref.group(1)) if ref and ref.group(1) else self.col + 1
                if ref:
                    self.row = int(ref.group(2))
            self.rows, self.cols = max(self.rows, self.row), max(self.cols, self.col)

    def note_dimension(self, data: bytes) -> None:
        if (m := _DIMENSION.search(data)) is not None:
            self.rows, self.cols = max(self.rows, int(m.group(2))), max(self.cols, _column_number(m.group(1)))

    @property
    def cells(self) -> int:
        return self.rows * self.cols


def _attributes(attributes: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _ATTRIBUTE.finditer(attributes)}


def _first_sheet_part(zf: zipfile.ZipFile) -> list[str]:
    """The zip member of the workbook's first sheet (xl/workbook.xml's first <sheet>, through
    xl/_rels/workbook.xml.rels); every worksheet part when that cannot be told with certainty
    (then the largest of them bounds the workbook)."""
    names = set(zf.namelist())
    every = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    try:
        workbook = zf.open("xl/workbook.xml").read(_PART_LIMIT)
        rels = zf.open("xl/_rels/workbook.xml.rels").read(_PART_LIMIT)
    except KeyError:
        return every
    relationships = [_attributes(r) for r in _RELATIONSHIP.findall(rels)]
    every = sorted(set(every) | {part for a in relationships if a.get(b"Type", b"").endswith(b"/worksheet")
                                 and (part := _zip_part(a.get(b"Target", b"").decode("utf-8", "replace"))) in names})
    if any(mark in workbook or mark in rels for mark in _UNCERTAIN):
        return every
    sheet = _SHEET.search(workbook)
    if sheet is None:
        return every
    ids = [v for k, v in _attributes(sheet.group(1)).items() if k.endswith(b":id")]
    if len(ids) != 1:
        return every
    targets = [a.get(b"Target") for a in relationships if a.get(b"Id") == ids[0]]
    if len(targets) != 1 or targets[0] is None:
        return every
    part = _zip_part(targets[0].decode("utf-8", "replace"))
    return [part] if part in names else every


def _zip_part(target: str) -> str:
    """A relationship target (relative to xl/, or absolute from the package root) as a zip member name."""
    parts: list[str] = [] if target.startswith("/") else ["xl"]
    for piece in target.strip("/").split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _check_sheet_extent(path: Path) -> None:
    """Reject an .xlsx whose first sheet spans more than SHEET_MAX_CELLS cells, before calamine
    allocates its dense range (one far-away cell, ``XFD1048576``, would make it 17 billion cells)."""
    try:
        with zipfile.ZipFile(path) as zf:
            for part in _first_sheet_part(zf):
                extent = _scan_sheet(zf, part)
                if extent.cells > SHEET_MAX_CELLS:
                    raise FileRejected(
                        "too_large",
                        f"the first sheet spans {extent.rows} rows x {extent.cols} columns "
                        f"({extent.cells} cells, counting from A1), above the limit of {SHEET_MAX_CELLS} cells; "
                        "a stray cell far from the data? Delete the empty rows and columns after the data, "
                        "or send CSV",
                    )
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError) as e:
        raise FileRejected("unreadable", f"not a readable .xlsx workbook (damaged or truncated zip: "
                                         f"{type(e).__name__})") from e


def _scan_sheet(zf: zipfile.ZipFile, part: str) -> _SheetExtent:
    extent: _SheetExtent | None = None
    carry = b""
    with zf.open(part) as fh:
        while block := fh.read(SHEET_SCAN_CHUNK):
            data = carry + block
            if extent is None:
                prefix = _SHEET_PREFIX.search(data)
                extent = _SheetExtent(prefix.group(1) or b"" if prefix else b"")
                extent.note_dimension(data)
            cut = data.rfind(b"<")
            complete = cut < 0 or data.find(b">", cut) >= 0
            carry = b"" if complete else data[cut:]
            if len(carry) > SHEET_SCAN_CHUNK:
                raise FileRejected("unreadable", f"the sheet's XML holds an element longer than "
                                                 f"{SHEET_SCAN_CHUNK} bytes; not a workbook Excel writes")
            extent.feed(data if complete else data[:cut])
            if extent.cells > SHEET_MAX_CELLS:
                break  # rows and columns only grow: the sheet is already too large
    return extent or _SheetExtent(b"")


def _sniff(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(8)


def open_sheet(path: Path, fmt: str) -> tuple[str, Any, list[str], int]:
    """Open the first sheet: (actual format, sheet, header row, index of the header row)."""
    from python_calamine import CalamineWorkbook

    magic = _sniff(path)
    if magic.startswith(b"PK\x03\x04") or (fmt == "xlsx" and magic[:2] == b"PK"):
        fmt = "xlsx"
        _check_zip(path)
        _check_sheet_extent(path)
    elif magic.startswith(b"\xd0\xcf\x11\xe0"):
        if fmt == "xlsx":  # an encrypted xlsx is an OLE container too
            raise FileRejected("unreadable", "the .xlsx is not a zip workbook (password-protected or legacy .xls?)")
        fmt = "xls"
    else:
        head = magic.lstrip().lower()
        hint = " (it looks like an HTML page saved as Excel)" if head.startswith((b"<", b"\xef\xbb\xbf<")) else ""
        raise FileRejected("unreadable", f"not an Excel {fmt} workbook{hint}")
    try:
        with open(path, "rb") as f:  # the contents decide the format, whatever the path's name
            wb = CalamineWorkbook.from_filelike(f)
        if not wb.sheet_names:
            raise FileRejected("no_header", "the workbook has no sheet")
        sheet = wb.get_sheet_by_index(0)
        for i, row in enumerate(sheet.iter_rows()):
            if any(not _empty_cell(v) for v in row):
                headers = [cell_text(v) or "" for v in row]
                return fmt, sheet, headers, i
    except FileRejected:
        raise
    except Exception as e:  # calamine raises its own error types and Rust panics as exceptions
        # calamine's message may quote a cell: only its kind is said
        raise FileRejected("unreadable", f"the {fmt} workbook could not be read (damaged, truncated or not a "
                                         f"workbook: {type(e).__name__})") from e
    raise FileRejected("empty_file", "the first sheet is empty")


def _empty_cell(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v == "")


def _float_text(v: float) -> str:
    if v != v or v in (float("inf"), float("-inf")):
        return repr(v)
    if v.is_integer():
        return str(int(v))
    return repr(v)


def cell_text(v: Any) -> str | None:
    """A spreadsheet cell as text (see the module docstring); None for an empty cell."""
    if v is None:
        return None
    if isinstance(v, str):
        return v if v != "" else None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float_text(v)
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None, microsecond=0).isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.replace(microsecond=0).isoformat()
    return str(v)


def sheet_batches(reader: DropReader, asm: Assembler) -> Iterator[pa.RecordBatch]:
    sheet = reader._sheet
    if sheet is None:  # pragma: no cover - open_drop always sets it
        _, sheet, _, _ = open_sheet(reader.path, reader.format)
    n = asm.n_fields
    start = reader._header_row + 1
    buf: list[list[str | None]] = [[] for _ in range(n)]
    count = 0
    try:
        for i, row in enumerate(sheet.iter_rows()):
            if i < start:
                continue
            texts = [cell_text(v) for v in row[:n]]
            if all(t is None for t in texts):
                # a fully empty row (or one with cells only beyond the header's width: none exist, calamine
                # rows are as wide as the sheet's used range, which the header row spans)
                continue
            texts.extend([None] * (n - len(texts)))
            for col, t in zip(buf, texts):
                col.append(t)
            count += 1
            if count >= asm.batch_rows:
                yield from _flush_sheet(asm, buf)
                buf = [[] for _ in range(n)]
                count = 0
    except FileRejected:
        raise
    except Exception as e:
        raise FileRejected("unreadable", f"the workbook could not be read after data row {asm.next_row - 1} "
                                         f"({type(e).__name__})") from e
    if count:
        yield from _flush_sheet(asm, buf)


def _flush_sheet(asm: Assembler, buf: list[list[str | None]]) -> Iterator[pa.RecordBatch]:
    cols = [pa.array(c, pa.string()) for c in buf]
    table, mask = asm.partial_from_columns(cols)
    yield from asm.finish(table, mask)
