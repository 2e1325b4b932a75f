"""Parquet drops: every column rendered as text, as an agency's system wrote it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors.encoding import FileRejected
from connectors.readers.assemble import Assembler, max_file_rows, too_many_rows
from connectors.readers.sheet import cell_text

if TYPE_CHECKING:
    from connectors.readers.reader import DropReader


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(str(path))
    except Exception as e:
        raise FileRejected("unreadable", f"not a readable Parquet file: {e}") from e


def parquet_header(path: Path) -> list[str]:
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
    return cell_text(v)


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


def parquet_batches(reader: DropReader, asm: Assembler) -> Iterator[pa.RecordBatch]:
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
