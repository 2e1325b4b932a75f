"""Read a dropped landing file as Arrow record batches in the raw-Parquet shape.

``open_drop(path, feed)`` reads the file's header, maps it onto the feed's
canonical columns (``connectors.feeds.map_headers``) and returns a
``DropReader`` whose ``batches()`` streams the rows lazily, in bounded memory.
Every batch has exactly the schema ``reader_schema(feed)``:

* every canonical column of the feed, in ``feed.column_names`` order, as
  string — the value as written, untrimmed and unfolded (staging trims and
  NFKC-folds, once); NULL when the file has no such column or the cell is empty
  (an empty string; a whitespace-only cell is kept as is);
* ``_extra`` string — a JSON object ``{"original header": "value", ...}`` of the
  columns outside the contract (``ensure_ascii=False``); NULL when the file has
  no extra column. An empty cell of a named extra column is ``null`` in the
  object; a column whose header is blank (Excel's trailing ``,,,``) appears as
  ``column_<n>`` only in rows where it holds a value, and ``_extra`` is NULL
  when a row has nothing to put in it. Two extra columns with the same header
  are ``h``, ``h_2``, ``h_3``...;
* ``_source_row`` int64 — 1-based number of the data row within the file;
* ``_parse_error`` string — NULL, or why the row could not be split (then the
  canonical columns are NULL and ``_extra`` is ``{"_raw_line": "<the text>"}``).

Row numbering and skipped rows (the same rule for every format): blank lines,
and rows whose every cell is empty or only white space (``,,,,`` lines, empty
spreadsheet rows, all NULL Parquet rows, ``{}`` JSON objects), carry no data and
are skipped;
``_source_row`` numbers the rows the reader emits, in file order, 1, 2, 3, ...
with no gaps, malformed rows included. So ``rows read`` = number of rows
emitted = the last ``_source_row``; nothing that holds data is dropped.

Formats (by extension, case-insensitive):

* ``.csv`` — comma-separated; the encoding is detected (``connectors.encoding``),
  never assumed. Leading blank lines before the header are skipped. Quoted
  fields may hold commas, quotes (``""``) and newlines. A row with the wrong
  number of fields becomes a ``_parse_error`` row ("expected N fields, got M")
  in its place, except that surplus trailing *empty* fields, or missing fields
  under blank headers, are tolerated (Excel exports). Streamed with pyarrow's
  CSV reader in 4 MiB blocks (``CSV_BLOCK_SIZE``: peak memory about 150 MiB
  whatever the file size; a single record larger than a block — in practice an
  unclosed quote in a large file — rejects the file ``unreadable``).
* ``.xlsx`` / ``.xls`` — the first sheet, via python-calamine; the header is
  the first non-empty row; date cells become ``YYYY-MM-DD``, datetime cells
  ``YYYY-MM-DD HH:MM:SS``, integral floats integer text (``2024.0`` ->
  ``2024``), booleans ``true``/``false``. An ``.xlsx`` whose decompressed size
  exceeds ``XLSX_MAX_UNCOMPRESSED`` (or looks like a zip bomb) is rejected
  ``too_large`` before it is opened. A ``.xls`` that is really an ``.xlsx`` (zip)
  is read as one. calamine holds the first sheet as a dense range: an ``.xlsx``
  whose first sheet spans more than ``SHEET_MAX_CELLS`` (rows x columns, from
  the cell references in its XML, scanned before calamine opens it) is rejected
  ``too_large`` (legacy ``.xls`` is capped at 65,536 x 256 by format).
* ``.parquet`` — column names are the headers; a file whose footer counts more
  rows than ``max_file_rows()`` (SSJ_MAX_FILE_ROWS) is rejected ``too_large``
  before any row is decoded (dictionary encoding packs millions of rows in a
  few KiB); values are cast to text
  (dates ``YYYY-MM-DD``, timestamps ``YYYY-MM-DD HH:MM:SS`` in their own time
  zone, integers and integral floats without ``.0``, other floats in shortest
  round-trip form, decimals exactly, nested values as JSON).
* ``.jsonl`` — UTF-8, one JSON object per line; the header is the union of the
  keys of the first 1,000 objects in first-seen order, keys first seen later go
  to ``_extra`` (every extra header key is in a row's ``_extra``, null when the
  line lacks it). Numbers keep their written text; nested values become compact
  JSON; a line that is not a JSON object becomes a ``_parse_error`` row; a line
  nesting values deeper than ``JSONL_MAX_DEPTH`` rejects the file. Read in
  chunks of whole lines (``JSONL_CHUNK_BYTES``): a chunk whose every line is an
  object of text values is parsed by Arrow's JSON reader, any other line by line
  with the same result (``_jsonl_batches``).

A file that cannot be read at all raises ``FileRejected`` with a code:
``unreadable``, ``bad_encoding``, ``empty_file``, ``no_header``,
``missing_columns``, ``unsupported_format``, ``too_large`` (also for a header
row wider than ``MAX_COLUMNS``). Messages never quote the file's values. ``open_drop`` does
every check it can up front (encoding validation included), but ``batches()``
can still raise ``FileRejected("unreadable")`` mid-stream (e.g. a CSV record
larger than the block size after an unclosed quote, an I/O error): callers
must then discard the batches they already took.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import json
import os
import re
import zipfile
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from connectors.encoding import FileRejected, detect_csv_encoding, first_invalid_offset
from connectors.feeds import Feed, HeaderMap, MissingColumns, map_headers

__all__ = [
    "FileRejected",
    "DropReader",
    "open_drop",
    "detect_csv_encoding",
    "reader_schema",
    "FORMATS",
]

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".xls": "xls",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
}

# pyarrow's CSV block. pyarrow reads ~32 blocks ahead, so peak Arrow memory is
# about 36 x this (measured: 4 MiB -> ~150 MiB, whatever the file size); it is
# also the largest single CSV record that can be read.
CSV_BLOCK_SIZE = 4 << 20
MAX_HEADER_BYTES = 8 << 20  # leading blank lines + header record must fit in this
XLSX_MAX_UNCOMPRESSED = 2 << 30  # 2 GiB of XML is already far beyond any real drop
XLSX_BOMB_RATIO = 250  # uncompressed/compressed above this ...
XLSX_BOMB_MIN = 64 << 20  # ... and above this size -> treated as a zip bomb
JSONL_HEADER_LINES = 1000
JSONL_MAX_LINE = 64 << 20  # a longer JSON Lines line rejects the file (bounded memory)
JSONL_CHUNK_BYTES = 16 << 20  # JSON Lines are parsed in pieces of whole lines of about this size
JSONL_MAX_DEPTH = 64  # JSON values nested deeper reject the file (the parsers recurse)
MAX_COLUMNS = 16_384  # a header row wider than this rejects the file (Excel's own limit)
SHEET_MAX_CELLS = 50_000_000
DEFAULT_MAX_FILE_ROWS = 50_000_000
"""Most data rows taken from one file (SSJ_MAX_FILE_ROWS): five times the largest real drop."""
"""The largest rows x columns extent of an .xlsx sheet: calamine holds the sheet as a dense range of
32 bytes a cell (1.6 GB at this bound). Excel's 1,048,576 rows x 47 columns fit."""
_BOM = b"\xef\xbb\xbf"

EXTRA = "_extra"
SOURCE_ROW = "_source_row"
PARSE_ERROR = "_parse_error"
RAW_LINE = "_raw_line"


def reader_schema(feed: Feed) -> pa.Schema:
    """The schema of every batch ``DropReader.batches()`` yields for ``feed``."""
    return pa.schema(
        [pa.field(c, pa.string()) for c in feed.column_names]
        + [
            pa.field(EXTRA, pa.string()),
            pa.field(SOURCE_ROW, pa.int64()),
            pa.field(PARSE_ERROR, pa.string()),
        ]
    )


# --------------------------------------------------------------------------- assembling batches


def _is_blank_header(h: Any) -> bool:
    return h is None or str(h).strip() == ""


def _json_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _dumps(obj: Any) -> str:
    """Compact JSON text, non-ASCII kept as is (the form of every ``_extra`` object)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


_CTRL_RE = "[\\x00-\\x1f]"
_OTHER_CTRL = [chr(i) for i in range(32) if chr(i) not in "\n\r\t"]


def _json_escape(arr: pa.Array) -> pa.Array:
    """JSON-escape every string of ``arr`` (vectorised; the quotes are not added)."""
    arr = pc.replace_substring(arr, "\\", "\\\\")
    arr = pc.replace_substring(arr, '"', '\\"')
    arr = pc.replace_substring(arr, "\n", "\\n")
    arr = pc.replace_substring(arr, "\r", "\\r")
    arr = pc.replace_substring(arr, "\t", "\\t")
    if pc.any(pc.match_substring_regex(arr, _CTRL_RE)).as_py():
        for c in _OTHER_CTRL:
            arr = pc.replace_substring(arr, c, f"\\u{ord(c):04x}")
    return arr


class _Assembler:
    """Turns a file's positional string columns into the raw-Parquet batch shape."""

    def __init__(self, feed: Feed, headers: list[Any], hm: HeaderMap, batch_rows: int):
        self.feed = feed
        self.schema = reader_schema(feed)
        self.n_fields = len(headers)
        self.batch_rows = max(1, batch_rows)
        by_name = {name: pos for pos, name in hm.canonical.items()}
        self.canonical_pos: list[int | None] = [by_name.get(c) for c in feed.column_names]
        self.blank_positions = {p for p in range(len(headers)) if _is_blank_header(headers[p])}
        # extra columns: (position, unique JSON key, key already JSON-encoded, omit when empty)
        self.extras: list[tuple[int, str, str, bool]] = []
        seen: set[str] = set()
        for pos in sorted(hm.extras):
            base = hm.extras[pos]
            key, i = base, 2
            while key in seen:
                key, i = f"{base}_{i}", i + 1
            seen.add(key)
            self.extras.append((pos, key, _json_str(key), pos in self.blank_positions))
        self.extra_keys = seen
        self.next_row = 1

    # -- partial tables: canonical columns + _extra + _parse_error (no _source_row yet)

    def partial_from_columns(self, cols: list[pa.Array], mask: bool = True) -> tuple[pa.Table, pa.Array | None]:
        """``cols``: one string array per header position (NULL = empty cell); the rows holding data unless not ``mask``."""
        n = len(cols[0]) if cols else 0
        out: list[pa.Array] = []
        for pos in self.canonical_pos:
            out.append(cols[pos] if pos is not None else pa.nulls(n, pa.string()))
        out.append(self.extra_json(cols, n))
        out.append(pa.nulls(n, pa.string()))
        table = pa.Table.from_arrays(out, schema=self.schema.remove(self.schema.get_field_index(SOURCE_ROW)))
        return table, self.nonempty_mask(cols, n) if mask else None

    def extra_json(self, cols: list[pa.Array], n: int) -> pa.Array:
        if not self.extras or n == 0:
            return pa.nulls(n, pa.string())
        pieces = []
        for pos, _key, key_json, omit_empty in self.extras:
            arr = cols[pos]
            piece = pc.binary_join_element_wise(f",{key_json}:\"", _json_escape(arr), '"', "")
            piece = pc.fill_null(piece, "" if omit_empty else f",{key_json}:null")
            pieces.append(piece)
        inner = pieces[0] if len(pieces) == 1 else pc.binary_join_element_wise(*pieces, "")
        body = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(inner, 1), "}", "")
        return pc.if_else(pc.equal(inner, ""), pa.scalar(None, pa.string()), body)

    @staticmethod
    def nonempty_mask(cols: list[pa.Array], n: int) -> pa.Array:
        if not cols:
            return pa.array([False] * n, pa.bool_())
        mask = None
        for c in cols:
            # a cell holds data when it is not empty once trimmed (the value rules trim every text)
            has = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(c), ""), False)
            mask = has if mask is None else pc.or_(mask, has)
        return mask

    def partial_from_errors(self, errors: list[tuple[str, str]]) -> tuple[pa.Table, pa.Array]:
        """``errors``: (raw line text, reason) per malformed row."""
        n = len(errors)
        out: list[pa.Array] = [pa.nulls(n, pa.string()) for _ in self.canonical_pos]
        out.append(pa.array([_dumps({RAW_LINE: raw}) for raw, _ in errors], pa.string()))
        out.append(pa.array([reason for _, reason in errors], pa.string()))
        schema = self.schema.remove(self.schema.get_field_index(SOURCE_ROW))
        return pa.Table.from_arrays(out, schema=schema), pa.array([True] * n, pa.bool_())

    def partial_from_pylists(
        self, canon: list[list[str | None]], extra: list[str | None], errors: list[str | None]
    ) -> tuple[pa.Table, pa.Array]:
        """Rows built in Python (JSON Lines): canonical value lists, _extra and _parse_error lists."""
        out = [pa.array(v, pa.string()) for v in canon]
        out.append(pa.array(extra, pa.string()))
        out.append(pa.array(errors, pa.string()))
        schema = self.schema.remove(self.schema.get_field_index(SOURCE_ROW))
        table = pa.Table.from_arrays(out, schema=schema)
        return table, self.nonempty_mask([c for c in out], table.num_rows)

    def finish(self, table: pa.Table, mask: pa.Array | None) -> Iterator[pa.RecordBatch]:
        """Drop all-empty rows, number the rest, yield batches of at most ``batch_rows``."""
        if mask is not None and table.num_rows and not pc.all(mask).as_py():
            table = table.filter(mask)
        n = table.num_rows
        if n == 0:
            return
        rows = pa.array(range(self.next_row, self.next_row + n), pa.int64())
        self.next_row += n
        table = table.add_column(self.schema.get_field_index(SOURCE_ROW), SOURCE_ROW, rows)
        for batch in table.combine_chunks().to_batches(max_chunksize=self.batch_rows):
            if batch.num_rows:
                yield batch


# --------------------------------------------------------------------------- the reader


@dataclass
class DropReader:
    """A dropped file whose header has been read and mapped; ``batches()`` streams its rows."""

    format: str  # csv | xlsx | xls | parquet | jsonl
    encoding: str | None  # utf-8 | utf-8-sig | gb18030 for csv, None otherwise
    header_map: HeaderMap
    path: Path = field(repr=False, default=None)  # type: ignore[assignment]
    feed: Feed = field(repr=False, default=None)  # type: ignore[assignment]
    headers: list[str] = field(repr=False, default_factory=list)  # the header row as read
    batch_rows: int = field(repr=False, default=100_000)
    _data_offset: int = field(repr=False, default=0)  # csv: byte offset of the first data record
    _sheet: Any = field(repr=False, default=None)  # xlsx/xls: the calamine sheet
    _header_row: int = field(repr=False, default=0)  # xlsx/xls: index of the header row in iter_rows

    @property
    def schema(self) -> pa.Schema:
        return reader_schema(self.feed)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the file's rows as record batches of ``reader_schema(feed)``, lazily."""
        asm = _Assembler(self.feed, self.headers, self.header_map, self.batch_rows)
        if self.format == "csv":
            yield from _csv_batches(self, asm)
        elif self.format in ("xlsx", "xls"):
            yield from _sheet_batches(self, asm)
        elif self.format == "parquet":
            yield from _parquet_batches(self, asm)
        elif self.format == "jsonl":
            yield from _jsonl_batches(self, asm)
        else:  # pragma: no cover - open_drop never builds one
            raise FileRejected("unsupported_format", f"unsupported format {self.format!r}")


def open_drop(path: Path, feed: Feed, *, batch_rows: int = 100_000, name: str | None = None) -> DropReader:
    """Open a dropped file: detect its format (and encoding), read and map its header.

    ``name`` is the file's name when ``path`` does not carry it (``/proc/self/fd/N``,
    a landing file read through its descriptor): its extension decides the format.

    Raises FileRejected when the file cannot be read at all or lacks a required
    column (``missing_columns``: the message names each missing column and the
    headers accepted for it, and how many fields the header row has — never the
    file's values: a file without a header row would show its first record).
    """
    path = Path(path)
    suffix = Path(name).suffix if name is not None else path.suffix
    fmt = FORMATS.get(suffix.lower())
    if fmt is None:
        accepted = ", ".join(FORMATS)
        raise FileRejected(
            "unsupported_format", f"unsupported file type {suffix or '(none)'!r}; accepted: {accepted}"
        )
    try:
        size = path.stat().st_size
    except OSError as e:
        raise FileRejected("unreadable", f"cannot open file: {e.strerror}") from e
    if size == 0:
        raise FileRejected("empty_file", "the file is empty (0 bytes)")

    encoding: str | None = None
    extra: dict[str, Any] = {}
    if fmt == "csv":
        encoding = detect_csv_encoding(path)
        headers, offset = _csv_header(path, encoding)
        extra["_data_offset"] = offset
    elif fmt in ("xlsx", "xls"):
        fmt, sheet, headers, header_row = _open_sheet(path, fmt)
        extra["_sheet"] = sheet
        extra["_header_row"] = header_row
    elif fmt == "parquet":
        headers = _parquet_header(path)
    else:
        headers = _jsonl_header(path)

    if not headers:
        raise FileRejected("no_header", "the file has no header row")
    _check_width(len(headers))
    try:
        hm = map_headers(feed, headers)
    except MissingColumns as e:
        raise FileRejected(
            "missing_columns",
            f"{e}; the file's header row (its first non-empty row) has {len(headers)} field(s), not shown here:"
            " in a file without a header row they would be data",
        ) from e
    return DropReader(
        format=fmt,
        encoding=encoding,
        header_map=hm,
        path=path,
        feed=feed,
        headers=[h if h is None else str(h) for h in headers],
        batch_rows=batch_rows,
        **extra,
    )


def _check_width(columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise FileRejected(
            "too_large", f"the header row has {columns} fields; at most {MAX_COLUMNS} columns are accepted"
        )


# --------------------------------------------------------------------------- CSV

_RECORD_SCAN = re.compile(rb'["\r\n]')
_BLANK_CHARS = " \t\r\n,\"'\u3000\ufeff"


def _pyarrow_encoding(encoding: str) -> str:
    return "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding


def _record_end(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(end of record content, start of next record) for the CSV record at ``pos``, or None.

    Byte-level scanning is safe for UTF-8 and GB18030 alike: ``"``, CR and LF are
    never trail bytes of a multi-byte character in either encoding.
    """
    quoted = False
    for m in _RECORD_SCAN.finditer(buf, pos):
        ch = buf[m.start()]
        if ch == 0x22:
            quoted = not quoted
        elif not quoted:
            end = m.start()
            if ch == 0x0D and buf[end + 1 : end + 2] == b"\n":
                return end, end + 2
            return end, end + 1
    return None


def _csv_header(path: Path, encoding: str) -> tuple[list[str], int]:
    """Read the header record (after any blank lines): (header fields, byte offset of the data)."""
    start = 3 if encoding == "utf-8-sig" else 0
    py_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    with open(path, "rb") as f:
        f.seek(start)
        buf = f.read(MAX_HEADER_BYTES + 1)
    eof = len(buf) <= MAX_HEADER_BYTES
    pos = 0
    while True:
        if pos >= len(buf):
            if eof:
                raise FileRejected("empty_file", "the file holds only blank lines")
            raise FileRejected("no_header", f"no header row within the first {MAX_HEADER_BYTES} bytes")
        found = _record_end(buf, pos)
        if found is None:
            if not eof:
                raise FileRejected(
                    "no_header", f"the first record is longer than {MAX_HEADER_BYTES} bytes (unclosed quote?)"
                )
            found = (len(buf), len(buf))
        end, nxt = found
        text = buf[pos:end].decode(py_encoding)
        if text.strip(_BLANK_CHARS) == "":
            pos = nxt
            continue
        try:
            headers = next(csv.reader(io.StringIO(text, newline="")))
        except (csv.Error, StopIteration) as e:
            raise FileRejected("no_header", f"cannot parse the header row: {e}") from e
        return headers, start + nxt


@dataclass
class _Bad:
    """A record pyarrow could not split: placed back at its record number."""

    number: int
    kind: str  # "error" | "salvaged" | "blank"
    raw: str = ""
    reason: str = ""
    fields: list[str | None] | None = None


def _classify_invalid(row: Any, n_fields: int, blank_positions: set[int]) -> _Bad:
    text: str = row.text
    number = row.number
    if text.strip() == "":
        return _Bad(number, "blank")  # a whitespace-only line is a blank line
    try:
        parsed = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        parsed = None
    if parsed is not None:
        if all(v.strip() == "" for v in parsed):
            return _Bad(number, "blank")  # every cell empty or blank (e.g. `""` or `,,` lines): no data
        got = len(parsed)
        if got > n_fields and all(v == "" for v in parsed[n_fields:]):
            return _Bad(number, "salvaged", fields=[v if v != "" else None for v in parsed[:n_fields]])
        if got < n_fields and all(p in blank_positions for p in range(got, n_fields)):
            padded = [v if v != "" else None for v in parsed] + [None] * (n_fields - got)
            return _Bad(number, "salvaged", fields=padded)
    reason = f"expected {row.expected_columns} fields, got {row.actual_columns}"
    return _Bad(number, "error", raw=text, reason=reason)


def _csv_batches(reader: DropReader, asm: _Assembler) -> Iterator[pa.RecordBatch]:
    path = reader.path
    n = asm.n_fields
    if reader._data_offset >= path.stat().st_size:
        return
    names = [f"f{i}" for i in range(n)]
    pending: deque[_Bad] = deque()
    problems: list[Exception] = []

    def on_invalid(row: Any) -> str:
        try:
            if row.number is None:  # only with use_threads=True, which we never set
                raise RuntimeError("pyarrow gave no record number for a malformed row")
            pending.append(_classify_invalid(row, n, asm.blank_positions))
            return "skip"
        except Exception as e:  # never let an exception escape into pyarrow's C++ frames
            problems.append(e)
            return "error"

    read_options = pacsv.ReadOptions(
        column_names=names,
        block_size=CSV_BLOCK_SIZE,
        use_threads=False,  # keeps record numbers for malformed rows
        encoding=_pyarrow_encoding(reader.encoding or "utf-8"),
    )
    parse_options = pacsv.ParseOptions(
        delimiter=",",
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=True,
        ignore_empty_lines=True,
        invalid_row_handler=on_invalid,
    )
    convert_options = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        check_utf8=True,
    )
    source = pa.OSFile(str(path))
    try:
        source.seek(reader._data_offset)
        try:
            stream = pacsv.open_csv(
                source, read_options=read_options, parse_options=parse_options, convert_options=convert_options
            )
        except pa.ArrowInvalid as e:
            if "Empty CSV file" in str(e):
                return
            raise
        next_record = 1  # pyarrow's record number (1-based, blank lines not counted)
        while True:
            try:
                batch = stream.read_next_batch()
            except StopIteration:
                break
            if problems:
                raise problems[0]
            table, mask, next_record = _place_batch(asm, batch, next_record, pending)
            yield from asm.finish(table, mask)
        if problems:
            raise problems[0]
        if pending:
            placed = _bad_partial(asm, list(pending))
            pending.clear()
            if placed is not None:
                yield from asm.finish(placed[0], placed[1])
    except FileRejected:
        raise
    except (pa.ArrowException, UnicodeDecodeError, OSError, RuntimeError, csv.Error) as e:
        msg = str(e)
        # the library's message may quote a record: only what is known to hold no value is said
        if "straddling" in msg or "block size" in msg.lower():
            msg = (
                f"a single CSV record is larger than {CSV_BLOCK_SIZE >> 20} MiB "
                f"(an unclosed quote?) after data row {asm.next_row - 1}"
            )
        elif "UTF8" in msg or isinstance(e, UnicodeDecodeError):
            msg = f"invalid {reader.encoding or 'UTF-8'} text after data row {asm.next_row - 1}"
        else:
            msg = f"CSV could not be read after data row {asm.next_row - 1} ({type(e).__name__})"
        raise FileRejected("unreadable", msg) from e
    finally:
        source.close()


def _bad_partial(asm: _Assembler, bad: list[_Bad]) -> tuple[pa.Table, pa.Array, dict[int, int]] | None:
    """Partial table of the non-blank malformed rows, with record number -> row index."""
    salvaged = [b for b in bad if b.kind == "salvaged"]
    errors = [b for b in bad if b.kind == "error"]
    parts: list[tuple[pa.Table, pa.Array]] = []
    if salvaged:
        cols = [pa.array([b.fields[i] for b in salvaged], pa.string()) for i in range(asm.n_fields)]  # type: ignore[index]
        parts.append(asm.partial_from_columns(cols))
    if errors:
        parts.append(asm.partial_from_errors([(b.raw, b.reason) for b in errors]))
    if not parts:
        return None
    index = {b.number: i for i, b in enumerate(salvaged + errors)}
    table = pa.concat_tables([t for t, _ in parts])
    mask = pa.concat_arrays([m for _, m in parts])
    # reorder by record number so a flush at the end of the file keeps file order
    by_number = sorted(index)
    take = [index[num] for num in by_number]
    table, mask = table.take(take), mask.take(pa.array(take, pa.int64()))
    return table, mask, {num: i for i, num in enumerate(by_number)}


def _place_batch(
    asm: _Assembler, batch: pa.RecordBatch, first: int, pending: deque[_Bad]
) -> tuple[pa.Table, pa.Array, int]:
    """Interleave ``batch`` (valid records from record number ``first`` on) with the malformed
    records pyarrow reported in between; return (partial table, non-empty mask, next record number)."""
    k = batch.num_rows
    consumed: list[_Bad] = []
    end = first + k - 1  # last record number this batch covers
    while pending and pending[0].number <= end:
        consumed.append(pending.popleft())
        end += 1
    table, mask = asm.partial_from_columns(list(batch.columns))
    if not consumed:
        return table, mask, end + 1
    bad_numbers = {b.number for b in consumed}
    placed = _bad_partial(asm, consumed)
    take: list[int] = []
    i = 0
    for num in range(first, end + 1):
        if num in bad_numbers:
            if placed is not None and num in placed[2]:
                take.append(k + placed[2][num])
        else:
            take.append(i)
            i += 1
    if placed is not None:
        table = pa.concat_tables([table, placed[0]])
        mask = pa.concat_arrays([mask, placed[1]])
    idx = pa.array(take, pa.int64())
    return table.take(idx), mask.take(idx), end + 1


# --------------------------------------------------------------------------- XLSX / XLS


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


def _open_sheet(path: Path, fmt: str) -> tuple[str, Any, list[str], int]:
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
                headers = [_cell_text(v) or "" for v in row]
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


def _cell_text(v: Any) -> str | None:
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


def _sheet_batches(reader: DropReader, asm: _Assembler) -> Iterator[pa.RecordBatch]:
    sheet = reader._sheet
    if sheet is None:  # pragma: no cover - open_drop always sets it
        _, sheet, _, _ = _open_sheet(reader.path, reader.format)
    n = asm.n_fields
    start = reader._header_row + 1
    buf: list[list[str | None]] = [[] for _ in range(n)]
    count = 0
    try:
        for i, row in enumerate(sheet.iter_rows()):
            if i < start:
                continue
            texts = [_cell_text(v) for v in row[:n]]
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


def _flush_sheet(asm: _Assembler, buf: list[list[str | None]]) -> Iterator[pa.RecordBatch]:
    cols = [pa.array(c, pa.string()) for c in buf]
    table, mask = asm.partial_from_columns(cols)
    yield from asm.finish(table, mask)


# --------------------------------------------------------------------------- Parquet


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(str(path))
    except Exception as e:
        raise FileRejected("unreadable", f"not a readable Parquet file: {e}") from e


def max_file_rows() -> int:
    value = os.environ.get("SSJ_MAX_FILE_ROWS")
    return int(value) if value else DEFAULT_MAX_FILE_ROWS


def too_many_rows(rows: int, limit: int) -> FileRejected:
    return FileRejected("too_large", f"the file holds {rows} rows or more, above the limit of {limit} "
                                     "(SSJ_MAX_FILE_ROWS); split it")


def _parquet_header(path: Path) -> list[str]:
    pf = _parquet_file(path)
    limit = max_file_rows()
    if pf.metadata.num_rows > limit:  # said by the footer: nothing is decoded
        raise too_many_rows(pf.metadata.num_rows, limit)
    return list(pf.schema_arrow.names)


def _py_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="backslashreplace")
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=str)
    return _cell_text(v)


def _to_text(arr: pa.Array) -> pa.Array:
    """Cast one Parquet column to text (NULL stays NULL, "" becomes NULL like an empty cell)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    try:
        if pa.types.is_null(t):
            return pa.nulls(len(arr), pa.string())
        if pa.types.is_float16(t):
            arr, t = arr.cast(pa.float32()), pa.float32()
        if pa.types.is_timestamp(t):
            secs = arr.cast(pa.timestamp("s", tz=t.tz), safe=False)
            out = pc.strftime(secs, format="%Y-%m-%d %H:%M:%S")
        elif (
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_boolean(t)
            or pa.types.is_integer(t)
            or pa.types.is_floating(t)
            or pa.types.is_decimal(t)
            or pa.types.is_date(t)
            or pa.types.is_time(t)
            or pa.types.is_string_view(t)
        ):
            out = arr.cast(pa.string())
        elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            try:
                out = arr.cast(pa.string())
            except pa.ArrowInvalid:
                out = pa.array([_py_text(v) for v in arr.to_pylist()], pa.string())
        else:
            out = pa.array([_py_text(v) for v in arr.to_pylist()], pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        out = pa.array([_py_text(v) for v in arr.to_pylist()], pa.string())
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    if out.type != pa.string():
        out = out.cast(pa.string())
    return pc.if_else(pc.equal(out, ""), pa.scalar(None, pa.string()), out)


def _parquet_batches(reader: DropReader, asm: _Assembler) -> Iterator[pa.RecordBatch]:
    pf = _parquet_file(reader.path)
    try:
        for batch in pf.iter_batches(batch_size=asm.batch_rows):
            cols = [_to_text(batch.column(i)) for i in range(batch.num_columns)]
            table, mask = asm.partial_from_columns(cols)
            yield from asm.finish(table, mask)
    except FileRejected:
        raise
    except Exception as e:  # the library's message may quote a value: only its kind is said
        raise FileRejected(
            "unreadable", f"the Parquet file could not be read after data row {asm.next_row - 1} ({type(e).__name__})"
        ) from e


# --------------------------------------------------------------------------- JSON Lines


_EXACT_DECODER = json.JSONDecoder(parse_float=str, parse_int=str, parse_constant=str)


def _json_loads_exact(text: str) -> Any:
    """Parse one JSON text, numbers kept as their exact text (one decoder for every line)."""
    return _EXACT_DECODER.decode(text)


def _jsonl_lines(path: Path) -> Iterator[str]:
    """The non-blank lines of a (UTF-8-validated) JSON Lines file, without line terminators."""
    for chunk in _jsonl_chunks(path):
        yield from _chunk_lines(chunk)


def _jsonl_chunks(path: Path) -> Iterator[bytes]:
    """The file in pieces of whole lines of about ``JSONL_CHUNK_BYTES`` (the file's BOM removed).

    A line longer than ``JSONL_MAX_LINE`` bytes (its line end included) rejects the
    file: only such a line can make a piece much larger than a chunk."""
    try:
        with open(path, "rb") as f:
            carry, first = b"", True
            while block := f.read(JSONL_CHUNK_BYTES):
                data = carry + block
                if first:
                    while data.startswith(_BOM):
                        data = data[len(_BOM):]
                    first = False
                cut = data.rfind(b"\n")
                if cut < 0:  # no line end yet: the line goes on into the next block
                    if len(data) > JSONL_MAX_LINE:
                        raise FileRejected("unreadable", f"a JSON Lines line is longer than {JSONL_MAX_LINE} bytes")
                    carry = data
                    continue
                if carry and data.find(b"\n") + 1 > JSONL_MAX_LINE:  # the line carried over (any other fits a block)
                    raise FileRejected("unreadable", f"a JSON Lines line is longer than {JSONL_MAX_LINE} bytes")
                yield _check_depth(data[: cut + 1])
                carry = data[cut + 1:]
            if len(carry) > JSONL_MAX_LINE:
                raise FileRejected("unreadable", f"a JSON Lines line is longer than {JSONL_MAX_LINE} bytes")
            if carry:
                yield _check_depth(carry)
    except OSError as e:
        raise FileRejected("unreadable", f"the file could not be read: {e}") from e


_JSON_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}\n")


def _check_depth(chunk: bytes) -> bytes:
    """``chunk``, once no line of it nests JSON values deeper than ``JSONL_MAX_DEPTH``.

    Both JSON parsers recurse into nested values: a line of 100,000 ``[`` would
    exhaust the stack. Text inside strings is left out; each line counts on its own."""
    opens = chunk.count(b"{") + chunk.count(b"[")
    if opens <= JSONL_MAX_DEPTH or opens == _object_lines(chunk):  # at most one object per line, nothing nested
        return chunk
    import numpy as np

    brackets = np.frombuffer(_JSON_STRING.sub(b"", chunk).translate(None, _NOT_BRACKET), np.uint8)
    step = np.isin(brackets, (ord("["), ord("{"))).astype(np.int64) - np.isin(brackets, (ord("]"), ord("}")))
    depth = np.cumsum(step)
    newline = brackets == ord("\n")
    last_newline = np.maximum.accumulate(np.where(newline, np.arange(len(brackets)), -1))
    line_depth = depth - np.where(last_newline >= 0, depth[np.maximum(last_newline, 0)], 0)
    if len(line_depth) and int(line_depth.max()) > JSONL_MAX_DEPTH:
        raise FileRejected("unreadable", f"a JSON Lines line nests values more than {JSONL_MAX_DEPTH} levels deep")
    return chunk


def _chunk_lines(chunk: bytes) -> Iterator[str]:
    for line in chunk.decode("utf-8").split("\n"):
        line = line.rstrip("\r\n")
        if line.strip() != "":
            yield line


def _jsonl_header(path: Path) -> list[str]:
    bad = first_invalid_offset(path, "utf-8")
    if bad is not None:
        raise FileRejected("bad_encoding", f"JSON Lines must be UTF-8; invalid UTF-8 at byte offset {bad}")
    keys: dict[str, None] = {}
    seen_any = False
    for i, line in enumerate(_jsonl_lines(path)):
        if i >= JSONL_HEADER_LINES:
            break
        seen_any = True
        try:
            obj = _json_loads_exact(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            for k in obj:
                keys.setdefault(k, None)
    if not seen_any:
        raise FileRejected("empty_file", "the file holds only blank lines")
    if not keys:
        raise FileRejected("no_header", f"none of the first {JSONL_HEADER_LINES} lines is a JSON object with keys")
    return list(keys)


def _json_value_text(v: Any, nested_source: dict | None, key: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v if v != "" else None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        src = nested_source[key] if nested_source is not None else v
        return json.dumps(src, ensure_ascii=False, separators=(",", ":"))
    return str(v)


def _all_blank(values: Iterable[str | None]) -> bool:
    """Every value empty or white space (the "no data" rule, see the module docstring)."""
    return all(t is None or t.isspace() or t == "" for t in values)


# the characters str.isspace() holds white space, as a regular expression class (for Arrow)
_SPACE_CLASS = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_NONSPACE_RE = f"[^{_SPACE_CLASS}]"


def _jsonl_batches(reader: DropReader, asm: _Assembler) -> Iterator[pa.RecordBatch]:
    """JSON Lines, a chunk of whole lines at a time: by Arrow's JSON parser where it can, else line by line.

    Arrow's parser takes a chunk when every line of it is an object of text (or null)
    values under the header's keys — what most exports write. It parses such a chunk
    exactly as the line-by-line path does (tests/unit/test_readers.py compares them
    on generated files); any line it cannot read so — a number or true/false (whose
    written text Arrow does not keep), a nested value, a key outside the header, a
    duplicate key, a line that is not one object — sends the whole chunk to the line
    path, which makes a ``_parse_error`` row of what is not JSON."""
    by_line = _JsonlLines(reader, asm)
    arrow = _ArrowJsonl(reader.headers) if JSONL_ARROW and not asm.blank_positions else None
    # Every line the Python path reads makes a few small lists and dicts and keeps one
    # until its batch is flushed: Python's cycle collector would rescan them over and
    # over (a third of the reading time). They form no cycles: paused while reading.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for chunk in _jsonl_chunks(reader.path):
            cols = arrow.parse(chunk) if arrow is not None else None
            if cols is None:
                yield from by_line.read(_chunk_lines(chunk))
                continue
            yield from by_line.flush()
            table, _ = asm.partial_from_columns(cols, mask=False)
            yield from asm.finish(table, _nonblank_mask(cols, table.num_rows))
        yield from by_line.flush()
    except UnicodeDecodeError as e:
        raise FileRejected("unreadable", f"the file could not be read after data row {asm.next_row - 1}: {e}") from e
    finally:
        if collecting:
            gc.enable()


JSONL_ARROW = True  # tests turn it off to compare the two paths


def _nonblank_mask(cols: list[pa.Array], n: int) -> pa.Array:
    """Rows holding a value that is not only white space (``_all_blank``'s rule, vectorised)."""
    mask = pa.array([False] * n, pa.bool_())
    for c in cols:
        mask = pc.or_(mask, pc.fill_null(pc.match_substring_regex(c, _NONSPACE_RE), False))
    return mask


class _ArrowJsonl:
    """Arrow's JSON parser over a chunk, every header key read as text; None where it cannot be exact."""

    def __init__(self, headers: list[str]):
        import pyarrow.json as pajson

        self._pajson = pajson
        self._options = pajson.ParseOptions(
            explicit_schema=pa.schema([pa.field(h, pa.string()) for h in headers]),
            unexpected_field_behavior="error",
            newlines_in_values=False,
        )

    def parse(self, chunk: bytes) -> list[pa.Array] | None:
        # Arrow reads only objects here: a line that is not one goes by line (a bare null
        # crashes pyarrow 26's parser; two objects on one line it reads as two rows).
        lines = _object_lines(chunk)
        if not lines:
            return None
        try:
            table = self._read(chunk, 1 << 20)
        except pa.ArrowException as e:
            if "straddl" not in str(e):  # not a line longer than a block: what Arrow cannot read exactly
                return None
            try:
                table = self._read(chunk, len(chunk) + 1)
            except pa.ArrowException:
                return None
        if table.num_rows != lines:  # e.g. two objects on one line
            return None
        return [_empty_as_null(table.column(i).combine_chunks()) for i in range(table.num_columns)]


    def _read(self, chunk: bytes, block_size: int) -> pa.Table:
        return self._pajson.read_json(pa.BufferReader(chunk), parse_options=self._options,
                                      read_options=self._pajson.ReadOptions(block_size=block_size))


_LINE_NOT_OBJECT = re.compile(rb"\n[ \t\r\f\v]*[^{\s]")  # a line whose first character is not {
_OBJECT_LINE = re.compile(rb"\n[ \t\r\f\v]*\{")


def _object_lines(chunk: bytes) -> int | None:
    """How many lines of ``chunk`` are not blank, when each of them starts with ``{``; else None."""
    text = b"\n" + chunk
    if _LINE_NOT_OBJECT.search(text):
        return None
    return len(_OBJECT_LINE.findall(text))


def _empty_as_null(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


class _JsonlLines:
    """The line-by-line path: every JSON value kept as its exact text."""

    def __init__(self, reader: DropReader, asm: _Assembler):
        self.asm = asm
        headers = reader.headers
        self.pos_of = {h: i for i, h in enumerate(headers)}
        self.canon_of_pos = {pos: ci for ci, pos in enumerate(asm.canonical_pos) if pos is not None}
        self.extra_of_pos = {pos: key for pos, key, _kj, _omit in asm.extras}
        self.n_canon = len(asm.canonical_pos)
        # The fast line: its keys are the header, in its order, with no nested value
        # (most exports write every key on every line). Its values are picked by position.
        self.header_keys = tuple(headers)
        missing = len(headers)  # index of the None appended to a fast line's values
        self.canon_src = [missing if pos is None else pos for pos in asm.canonical_pos]
        self.extra_src = [(pos, key) for pos, key, _kj, _omit in asm.extras]
        self.extra_order = [key for _pos, key in self.extra_src]
        self.rows: list[list[str | None]] = []
        self.extra: list[str | None] = []
        self.errors: list[str | None] = []

    def flush(self) -> Iterator[pa.RecordBatch]:
        if not self.errors:
            return
        canon = [list(col) for col in zip(*self.rows)] if self.rows else [[] for _ in range(self.n_canon)]
        table, _mask = self.asm.partial_from_pylists(canon, self.extra, self.errors)
        self.rows, self.extra, self.errors = [], [], []
        yield from self.asm.finish(table, None)

    def read(self, lines: Iterable[str]) -> Iterator[pa.RecordBatch]:
        asm, n_canon = self.asm, self.n_canon
        for line in lines:
            reason = None
            try:
                obj = _json_loads_exact(line)
                if not isinstance(obj, dict):
                    reason = f"not a JSON object (a {type(obj).__name__ if obj is not None else 'null'})"
            except ValueError as e:
                reason = f"invalid JSON: {e}"
            if reason is not None:
                self.rows.append([None] * n_canon)
                self.extra.append(_dumps({RAW_LINE: line}))
                self.errors.append(reason)
            elif tuple(obj) == self.header_keys and "{" not in line[1:] and "[" not in line:
                values = [None if v == "" else v for v in obj.values()]
                if True in values or False in values:
                    values = [("true" if v else "false") if v is True or v is False else v for v in values]
                values.append(None)
                row = [values[i] for i in self.canon_src]
                extras = {key: values[pos] for pos, key in self.extra_src}
            else:
                nested = None
                if any(isinstance(v, (dict, list)) for v in obj.values()):
                    nested = json.loads(line)  # nested values keep JSON numbers as numbers
                row = [None] * n_canon
                extras = dict.fromkeys(self.extra_order)  # every extra header key, null when the line lacks it
                for k, v in obj.items():
                    text = _json_value_text(v, nested, k)
                    pos = self.pos_of.get(k)
                    if pos is not None and pos in self.canon_of_pos:
                        row[self.canon_of_pos[pos]] = text
                    elif pos is not None:
                        extras[self.extra_of_pos[pos]] = text
                    else:  # a key first seen after the header scan
                        key, i = k, 2
                        while key in asm.extra_keys or key in extras:
                            key, i = f"{k}_{i}", i + 1
                        extras[key] = text
            if reason is None:
                if _all_blank(row) and _all_blank(extras.values()):
                    continue  # {} or an object of empty / white-space values: no data (see module docstring)
                self.rows.append(row)
                self.extra.append(_dumps(extras) if extras else None)
                self.errors.append(None)
            if len(self.errors) >= asm.batch_rows:
                yield from self.flush()
