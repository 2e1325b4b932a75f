"""Rows to Arrow batches of one shape, whatever the format: the assembler, the reader schema and the limits every format shares."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.encoding import FileRejected
from connectors.feeds import Feed, HeaderMap

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".xls": "xls",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
}
MAX_COLUMNS = 16_384  # a header row wider than this rejects the file (Excel's own limit)
DEFAULT_MAX_FILE_ROWS = 50_000_000
"""Most data rows taken from one file (SSJ_MAX_FILE_ROWS): five times the largest real drop."""

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


def _is_blank_header(h: Any) -> bool:
    return h is None or str(h).strip() == ""


def _json_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def dumps(obj: Any) -> str:
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


class Assembler:
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
        self.extras: list[tuple[int, str, str, bool]] = [
            (pos, key, _json_str(key), pos in self.blank_positions) for pos, key in hm.extra_keys()]
        self.extra_keys = {key for _, key, _, _ in self.extras}
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
        out.append(pa.array([dumps({RAW_LINE: raw}) for raw, _ in errors], pa.string()))
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


def max_file_rows() -> int:
    value = os.environ.get("SSJ_MAX_FILE_ROWS")
    return int(value) if value else DEFAULT_MAX_FILE_ROWS


def too_many_rows(rows: int, limit: int) -> FileRejected:
    return FileRejected("too_large", f"the file holds {rows} rows or more, above the limit of {limit} "
                                     "(SSJ_MAX_FILE_ROWS); split it")


def check_width(columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise FileRejected(
            "too_large", f"the header row has {columns} fields; at most {MAX_COLUMNS} columns are accepted"
        )
