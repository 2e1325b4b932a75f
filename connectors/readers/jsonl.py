"""JSON Lines drops: one object per line, numbers kept as written, parsed by Arrow where the lines allow and line by line where they do not."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.encoding import FileRejected, first_invalid_offset
from connectors.readers.assemble import Assembler, RAW_LINE, dumps
from connectors.readers.csv import BOM

if TYPE_CHECKING:
    from connectors.readers.reader import DropReader

JSONL_HEADER_LINES = 1000
JSONL_MAX_LINE = 64 << 20  # a longer JSON Lines line rejects the file (bounded memory)
JSONL_CHUNK_BYTES = 16 << 20  # JSON Lines are parsed in pieces of whole lines of about this size
JSONL_MAX_DEPTH = 64  # JSON values nested deeper reject the file (the parsers recurse)


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
                    while data.startswith(BOM):
                        data = data[len(BOM):]
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


def jsonl_header(path: Path) -> list[str]:
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


def jsonl_batches(reader: DropReader, asm: Assembler) -> Iterator[pa.RecordBatch]:
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

    def __init__(self, reader: DropReader, asm: Assembler):
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
                self.extra.append(dumps({RAW_LINE: line}))
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
                self.extra.append(dumps(extras) if extras else None)
                self.errors.append(None)
            if len(self.errors) >= asm.batch_rows:
                yield from self.flush()
