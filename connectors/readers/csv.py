"""CSV drops (UTF-8, UTF-8 with BOM or GB18030): the header record, then pyarrow's streaming reader, with every record it cannot parse kept as a row of its own."""

from __future__ import annotations

import csv
import io
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pacsv

from connectors.encoding import FileRejected
from connectors.readers.assemble import Assembler

if TYPE_CHECKING:
    from connectors.readers.reader import DropReader

# pyarrow's CSV block. pyarrow reads ~32 blocks ahead, so peak Arrow memory is
# about 36 x this (measured: 4 MiB -> ~150 MiB, whatever the file size); it is
# also the largest single CSV record that can be read.
CSV_BLOCK_SIZE = 4 << 20
MAX_HEADER_BYTES = 8 << 20  # leading blank lines + header record must fit in this
BOM = b"\xef\xbb\xbf"


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


def csv_header(path: Path, encoding: str) -> tuple[list[str], int]:
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


def csv_batches(reader: DropReader, asm: Assembler) -> Iterator[pa.RecordBatch]:
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


def _bad_partial(asm: Assembler, bad: list[_Bad]) -> tuple[pa.Table, pa.Array, dict[int, int]] | None:
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
    asm: Assembler, batch: pa.RecordBatch, first: int, pending: deque[_Bad]
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
