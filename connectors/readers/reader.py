"""``open_drop``: a dropped file's format, encoding and header; ``DropReader.batches()``: its rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from connectors.encoding import FileRejected, detect_csv_encoding
from connectors.feeds import Feed, HeaderMap, MissingColumns, map_headers
from connectors.readers.assemble import Assembler, FORMATS, check_width, reader_schema
from connectors.readers.csv import csv_batches, csv_header
from connectors.readers.jsonl import jsonl_batches, jsonl_header
from connectors.readers.parquet import parquet_batches, parquet_header
from connectors.readers.sheet import open_sheet, sheet_batches


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
        asm = Assembler(self.feed, self.headers, self.header_map, self.batch_rows)
        if self.format == "csv":
            yield from csv_batches(self, asm)
        elif self.format in ("xlsx", "xls"):
            yield from sheet_batches(self, asm)
        elif self.format == "parquet":
            yield from parquet_batches(self, asm)
        elif self.format == "jsonl":
            yield from jsonl_batches(self, asm)
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
        headers, offset = csv_header(path, encoding)
        extra["_data_offset"] = offset
    elif fmt in ("xlsx", "xls"):
        fmt, sheet, headers, header_row = open_sheet(path, fmt)
        extra["_sheet"] = sheet
        extra["_header_row"] = header_row
    elif fmt == "parquet":
        headers = parquet_header(path)
    else:
        headers = jsonl_header(path)

    if not headers:
        raise FileRejected("no_header", "the file has no header row")
    check_width(len(headers))
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
