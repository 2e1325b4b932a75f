"""Publish tables as Parquet, replaced atomically: a reader never sees half a file."""

from __future__ import annotations

import logging
import os
import tempfile
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import NamedTuple

import duckdb
import jinja2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.defs.ingest.raw_store import replace_atomically
from pipelines import DBT_PROJECT_DIR

log = logging.getLogger(__name__)


UNIQUE_KEYS = {
    "enterprise_pool": ["enterprise_id"],
    "enterprise_tags": ["tag", "enterprise_id", "value", "source"],
    "enterprise_credit_grades": ["enterprise_id", "domain"],
    "inspector_pool": ["inspector_id"],
    "joint_inspections": ["joint_group_id"],
    "draw_entries": ["agency", "task_id", "enterprise_id", "name_normalized", "uscc"],
    "quarantine": ["feed", "file_sha256", "source_row"],
    "agency_overlap": ["agency_a", "agency_b"],
    "inspector_capacity": ["agency_name", "unit", "specialty"],
    "item_scope": ["agency", "item_code", "enterprise_id"],
    "plan_draws": ["agency", "task_id", "stratum", "rank"],
    "draw_records": ["agency", "task_id"],
    "inspection_results": ["agency", "task_id", "enterprise_id", "uscc", "name"],
    "publicity": ["agency", "task_id", "enterprise_id", "uscc", "name"],
    "missing_results": ["agency", "task_id", "enterprise_id", "uscc", "name"],
    "kpi": ["agency", "year", "figure"],
    "match_review": ["feed", "agency", "source_key", "name", "uscc"],
}
"""The columns each mart's dbt tests hold unique (``unique`` / ``unique_combination`` / ``column_rules`` in
models/marts/*.yml; tests/unit/test_publish_order.py keeps the two in step). A table is
published in the order of its key alone — a total order, since the build stops before
publishing when a test fails. Sorting on every column instead made DuckDB build sort
keys from the wide text columns: most of publishing's time at 10M enterprises."""


RANGE_CELLS = 120_000_000
"""A table of more cells (rows × columns) is sorted and written a key range at a time.
DuckDB sorts a range within its memory limit; one sort of the whole table spills to
disk (10M enterprises, 6 GB limit, alone on the built warehouse: enterprise_tags,
72.6M rows × 6, 147 s in one sort and 94 s in four ranges; enterprise_pool, 9.8M × 44,
39 s in four ranges against 92 s in one sort in the pipeline run)."""
ROW_GROUP = 262_144
"""Rows per row group, whatever the table's size and DuckDB's batches, so the bytes
depend on the rows alone. Writing the sorted rows through Arrow with pyarrow's
writer is also faster than DuckDB's own sorted COPY, whose one-million-row groups
are written by one thread (1M enterprises, idle machine: enterprise_pool 14.6 s →
9.2 s, enterprise_tags 31 s → 21 s)."""


DICTIONARY_PAGE = 256 << 10
"""Bytes of distinct values after which a column chunk is written plain (see the writer)."""


IN_ORDER_FROM = {
    "enterprise_tags": ("enterprise_pool", "pool_tag_rows"),
}
"""Marts some of whose key ranges are rows of a mart published before them, read in its
published order: (that mart, the macro in dbt_project/macros/<macro>.sql that the
model renders over it, rendered here over its file). enterprise_tags' six pool tags
are one row per enterprise each: read from the published pool, sorted on
enterprise_id, they come in the order they are published in (tag, then enterprise_id)
and are not sorted again (10M enterprises, 9.8M rows a tag: 4.3 s a tag sorted from
the view, 1.5 s read in order). A range is taken so only when it has the rows the view
has there, each enterprise_id after the one before (checked as they stream), and only
when the table is cut a value of its first key column at a time (big enough for ranges)."""


def sort_key(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The table's unique key, or every column for a table without one: a total order."""
    return UNIQUE_KEYS.get(table) or _columns(con, table)


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [name for (name,) in con.execute(
        "select column_name from information_schema.columns where table_schema = 'main' and table_name = ? "
        "order by ordinal_position", [table]).fetchall()]


def publish_parquet(con: duckdb.DuckDBPyConnection, table: str, out_dir: Path,
                    published: Mapping[str, Path] | None = None) -> int:
    """Write ``table`` in a total order (byte-identical for identical rows); return its row count.

    ``published``: the marts already published from this warehouse state, by name, for
    the tables read in order from one of them (IN_ORDER_FROM)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{table}.parquet"
    # one pass for the row count and each column's NULL count (a view is computed once)
    names = _columns(con, table)
    rows, *nulls = con.execute(
        f"select count(*), {', '.join(f'count(*) - count({_q(n)})' for n in names)} from main.{table}").fetchall()[0]
    # DuckDB's COPY marks a column required when it holds no NULL; the Arrow export
    # marks none: the same rule here, so a reader sees the schema COPY would write
    nullable = {name: n > 0 for name, n in zip(names, nulls)}
    fd, tmp = tempfile.mkstemp(prefix=f".{table}.", suffix=".parquet.tmp", dir=out_dir)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        source = _in_order_source(table, published or {})
        try:
            _write_sorted(con, table, rows, nullable, tmp_path, ties=True, source=source)
        except _NotInOrder as exc:  # not what the view holds: every range sorted by DuckDB
            log.warning("%s: %s; written again, sorted", table, exc)
            _write_sorted(con, table, rows, nullable, tmp_path, ties=True)
        except _LongRun:  # a first sort value of too many rows: DuckDB sorts on the whole order
            _write_sorted(con, table, rows, nullable, tmp_path, ties=False)
        replace_atomically(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return rows


BOUNDS_SAMPLE = 100_000
"""Rows sampled for the range bounds. Concatenating the sorted ranges in bound order
is the sorted table whatever the bounds are, so they need not be exact (nor the same
from run to run): only the ranges' sizes depend on them. Exact quantiles of
enterprise_tags' 72.6M keys took 6.5 s; a sample's, one scan."""

FEW_VALUES = 64
"""A first key column with at most this many distinct values (by a sketch) cuts the
table one value at a time (a value too big for one range is cut again on the next
key column): within a value the rest of the key is the order. DuckDB sorts each
range on the order's first column alone and _Ties orders what that leaves tied."""


class _Range(NamedTuple):
    where: str
    params: list
    order: list[str]  # the order within the range
    few_ties: bool  # the order's first column has at most two rows a value on average (by a sketch)
    rows: int | None = None  # known when the range is one value of the key's first column


def _ranges(con: duckdb.DuckDBPyConnection, table: str, key: list[str], rows: int, columns: int) -> list[_Range]:
    """The table as consecutive key ranges: in this order and each sorted on its order, the
    ranges are the table sorted on ``key``. Where there are few ties DuckDB sorts on the
    order's first column alone and _Ties orders the rest."""
    most = max(1, RANGE_CELLS // max(columns, 1))  # rows per range
    first = _q(key[0])
    [(distinct,)] = con.execute(f"select approx_count_distinct({first}) from main.{table}").fetchall()
    if rows <= most:
        return [_Range("true", [], key, 2 * distinct >= rows)]
    if len(key) == 1 or distinct > FEW_VALUES:
        return [_Range(cond, params, key, 2 * distinct >= rows)
                for cond, params in _split(con, table, key[0], -(-rows // most), "true", [])]
    ranges = []
    for value, count, next_distinct in con.execute(
            f"select {first}, count(*), approx_count_distinct({_q(key[1])}) from main.{table} "
            "group by 1 order by 1 nulls last").fetchall():
        cond, params = (f"{first} is null", []) if value is None else (f"{first} = ?", [value])
        subs = _split(con, table, key[1], -(-count // most), cond, params)
        for sub, sub_params in subs:
            ranges.append(_Range(f"{cond} and ({sub})", params + sub_params, key[1:], 2 * next_distinct >= count,
                                 count if len(subs) == 1 else None))
    return ranges


def _split(con: duckdb.DuckDBPyConnection, table: str, column: str, parts: int, where: str,
           params: list) -> list[tuple[str, list]]:
    """The rows matching ``where`` cut into ``parts`` consecutive ranges of ``column``, at
    quantiles of a sample (NULLs, which ORDER BY puts last, go with the last range)."""
    if parts <= 1:
        return [("true", [])]
    col = _q(column)
    quantiles = ", ".join(str(i / parts) for i in range(1, parts))
    bounds = sorted({v for (v,) in con.execute(
        f"select unnest(quantile_disc({col}, [{quantiles}])) from "
        f"(select {col} from main.{table} where {where} using sample reservoir({BOUNDS_SAMPLE} rows))",
        params).fetchall() if v is not None})
    edges = [None, *bounds, None]
    out = []
    for lo, hi in zip(edges, edges[1:]):
        conds, values = [], []
        if lo is not None:
            conds.append(f"{col} >= ?")
            values.append(lo)
        if hi is not None:
            conds.append(f"{col} < ?")
            values.append(hi)
        cond = " and ".join(conds) or "true"
        if hi is None and lo is not None:
            cond = f"({cond}) or {col} is null"
        out.append((cond, values))
    return out


ARROW_ORDERED_TYPES = ("VARCHAR", "JSON", "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT",
                       "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "DATE", "TIMESTAMP")
"""DuckDB types that pyarrow sorts as DuckDB's ORDER BY does (bytes, numbers, time). Not an
ENUM (DuckDB orders it by position, Arrow by its text), nor lists, structs, intervals."""


def _column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return dict(con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = 'main' "
        "and table_name = ?", [table]).fetchall())


def _sortable_in_arrow(types: dict[str, str], columns: list[str]) -> bool:
    """Whether pyarrow orders these columns (of these DuckDB types) as DuckDB does (ARROW_ORDERED_TYPES)."""
    return all(types[c].split("(")[0].split(" ")[0] in ARROW_ORDERED_TYPES and not types[c].endswith("]")
               for c in columns)


LONG_RUN = 4 * ROW_GROUP
"""More rows than this sharing a range's first sort value: held back whole in memory, so
the table is written again with DuckDB sorting on the whole order instead (_Ties)."""


class _LongRun(Exception):
    pass


class _Ties:
    """Rows DuckDB sorted on the first column of ``order`` alone, put in the whole order here.

    DuckDB sorts on one text column about twice as fast as on several (10M enterprises:
    enterprise_tags' carrier rows, 9.8M, 4.1 s on enterprise_id against 7.9 s on
    enterprise_id, value, source), and within most ranges of a mart's key that column
    is unique: asking DuckDB first whether it is (a count(distinct) a range) cost
    enterprise_tags 6.9 s of its 51 s; here it costs a comparison of neighbours. A run
    of equal first values may cross a batch: the run a batch ends with is held back
    (``carry``) and goes in front of the next. A batch holding no two equal first
    values passes as it came; one that does is sorted by pyarrow on the whole order
    (NULLs last, as DuckDB's ORDER BY)."""

    def __init__(self, order: list[str]):
        self.first = order[0]
        self.keys = [(c, "ascending", "at_end") for c in order]
        self.carry: pa.Table | None = None

    def settle(self, batch: pa.RecordBatch) -> pa.Table:
        rows = pa.Table.from_batches([batch])
        if self.carry is not None:
            rows = pa.concat_tables([self.carry, rows])
        firsts = rows[self.first]
        last = firsts[len(firsts) - 1]
        tail = pc.sum(pc.equal(firsts, last) if last.is_valid else pc.is_null(firsts)).as_py()
        if tail > LONG_RUN:
            raise _LongRun(self.first)
        self.carry = rows.slice(len(rows) - tail)
        return self._sorted(rows.slice(0, len(rows) - tail))

    def rest(self) -> pa.Table | None:
        carry, self.carry = self.carry, None
        return None if carry is None else self._sorted(carry)

    def _sorted(self, rows: pa.Table) -> pa.Table:
        firsts = rows[self.first]
        if firsts.null_count > 1 or (len(rows) > 1 and pc.any(
                pc.equal(firsts.slice(1), firsts.slice(0, len(rows) - 1))).as_py()):
            rows = rows.take(pc.sort_indices(rows, sort_keys=self.keys))
        return rows


class _NotInOrder(Exception):
    pass


class _InOrderSource(NamedTuple):
    table: str  # the mart read in order
    sql: str  # the rows over its published file (IN_ORDER_FROM's macro)


@cache
def _macro(name: str):
    """A plain-Jinja macro of dbt_project/macros/<name>.sql, rendered without dbt."""
    text = (DBT_PROJECT_DIR / "macros" / f"{name}.sql").read_text(encoding="utf-8")
    return getattr(jinja2.Environment().from_string(text).module, name)


def _in_order_source(table: str, published: Mapping[str, Path]) -> _InOrderSource | None:
    if table not in IN_ORDER_FROM or IN_ORDER_FROM[table][0] not in published:
        return None
    mart, macro = IN_ORDER_FROM[table]
    file = str(published[mart]).replace("'", "''")
    return _InOrderSource(mart, str(_macro(macro)(f"read_parquet('{file}')")))


def _in_order(con: duckdb.DuckDBPyConnection, source: _InOrderSource, rng: _Range):
    """The range's rows from ``source`` as they come (the batches of its file, in its order),
    each checked to follow the one before on the order's first column; nothing when the
    source has no rows there. Raises _NotInOrder when they are not in order or not all the
    range's rows."""
    first = rng.order[0]
    previous = None
    seen = 0
    setting = con.execute("select current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("set preserve_insertion_order = true")  # the file's order
    try:
        with con.sql(f"select * from ({source.sql}) as in_order where {rng.where}",
                     params=rng.params).to_arrow_reader(ROW_GROUP) as reader:
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                values = batch.column(first)
                if values.null_count or (previous is not None and not pc.less(previous, values[0]).as_py()) or (
                        len(values) > 1 and not pc.all(pc.less(values.slice(0, len(values) - 1), values.slice(1))).as_py()):
                    raise _NotInOrder(f"{source.table}'s rows are not in {first} order")
                previous = values[len(values) - 1]
                seen += batch.num_rows
                yield batch
    finally:
        con.execute(f"set preserve_insertion_order = {setting}")
    if seen and seen != rng.rows:
        raise _NotInOrder(f"{seen} rows where {rng.where} in {source.table}, {rng.rows} in the view")


WRITES_AHEAD = 1
"""Row groups handed to the writer thread and not yet written. pyarrow encodes and
compresses a row group on one core while DuckDB sorts and streams the next on the
other (10M enterprises, alone on the built warehouse: enterprise_pool 37.0 → 34.1 s,
enterprise_tags 56.1 → 51.1 s). Two in flight were no faster and held 0.3 GB more."""


def _write_sorted(con: duckdb.DuckDBPyConnection, table: str, rows: int, nullable: dict[str, bool],
                  path: Path, ties: bool, source: _InOrderSource | None = None) -> None:
    """The table sorted on its key, written range by range (see _ranges), each range sorted by
    DuckDB or read in order from ``source`` (IN_ORDER_FROM).

    Row groups have ROW_GROUP rows whatever the ranges and DuckDB's batches, so the
    file's bytes depend on the rows alone. One thread writes them, in order, while this
    one reads the next from DuckDB (both release the GIL)."""
    key = sort_key(con, table)
    types = _column_types(con, table)
    # a JSON column reaches Arrow as text; COPY writes it with Parquet's JSON type, and so does this
    json = {name for name, data_type in types.items() if data_type == "JSON"}
    arrow_schema = con.sql(f"select * from main.{table} limit 0").to_arrow_table().schema
    schema = pa.schema([f.with_nullable(nullable[f.name]).with_type(pa.json_()) if f.name in json
                        else f.with_nullable(nullable[f.name]) for f in arrow_schema])
    writer: pq.ParquetWriter | None = None
    pending: list[pa.RecordBatch] = []
    held = 0
    in_flight: deque[Future] = deque()

    def write_group(group: pa.Table) -> None:
        # one chunk per row group: pages are cut the same way however the rows arrived
        writer.write_table(group.combine_chunks(), row_group_size=group.num_rows)

    def add(rows: pa.RecordBatch | pa.Table) -> None:
        nonlocal held
        for batch in (rows.to_batches() if isinstance(rows, pa.Table) else [rows]):
            pending.append(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
            held += batch.num_rows
        flush(final=False)

    def flush(final: bool) -> None:
        nonlocal pending, held
        while held >= ROW_GROUP or (final and held):
            batch = pa.Table.from_batches(pending, schema=schema)
            size = min(held, ROW_GROUP)
            in_flight.append(thread.submit(write_group, batch.slice(0, size)))
            while len(in_flight) > (0 if final else WRITES_AHEAD):
                in_flight.popleft().result()  # a failed write raises here
            rest = batch.slice(size)
            pending, held = rest.to_batches(), rest.num_rows

    def read_in_order(rng: _Range) -> bool:
        """Add the range's rows from ``source`` in the order they come; False when it has none."""
        if source is None or rng.rows is None or not _sortable_in_arrow(types, rng.order[:1]):
            return False
        found = False
        batches = _in_order(con, source, rng)
        try:
            for batch in batches:
                if batch.schema.names != arrow_schema.names or batch.schema.types != arrow_schema.types:
                    raise _NotInOrder(f"the rows read from {source.table} have other columns than {table}")
                found = True
                add(batch)
        finally:
            batches.close()  # the reader closed and the setting restored before the connection is used again
        return found

    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"publish-{table}") as thread:
            # min/max only for the key: the file is sorted on it, so only its values
            # prune row groups; on the rest (bases, addresses, names) statistics
            # prune nothing and took a quarter of the encoding (10M enterprises,
            # alone: enterprise_pool 64.8 → 60.0 s, enterprise_tags 86.3 → 81.5 s).
            # A column gives up its dictionary at 256 KiB (pyarrow: 1 MiB): ids,
            # names and row numbers stop being hashed sooner; code lists and tag
            # values stay far below it (2M pool rows: 6.47 → 6.02 s, 155 → 152 MiB)
            writer = pq.ParquetWriter(path, schema, compression="zstd", write_statistics=key,
                                      dictionary_pagesize_limit=DICTIONARY_PAGE)
            for rng in _ranges(con, table, key, rows, len(nullable)):
                if read_in_order(rng):
                    continue
                order = rng.order
                settle = (_Ties(order) if ties and rng.few_ties and len(order) > 1 and _sortable_in_arrow(types, order)
                          else None)
                reader = con.sql(
                    f"select * from main.{table} where {rng.where} "
                    f"order by {', '.join(_q(c) for c in (order[:1] if settle else order))}",
                    params=rng.params,
                ).to_arrow_reader(ROW_GROUP)
                with reader:  # closed on the way out: a retry (_LongRun) needs the connection back
                    for batch in reader:
                        add(settle.settle(batch) if settle else batch)
                if settle and (rest := settle.rest()) is not None:
                    add(rest)
            flush(final=True)
    finally:  # the thread's pool has waited for its writes on the way out
        if writer is not None:
            writer.close()
