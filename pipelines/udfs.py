"""DuckDB functions the dbt models need that SQL alone cannot express well.

Registered on every dbt connection through the dbt-duckdb plugin below, and by
any other code that runs the models' SQL (tests, publish) via ``register``.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines.identifiers import uscc_codes_valid


def nfkc(values: pa.Array) -> pa.Array:
    """Unicode NFKC: full-width letters, digits and brackets become half-width."""
    return pc.utf8_normalize(values, "NFKC")


def matches_pattern(values: pa.Array, patterns: pa.Array) -> pa.Array:
    """``regexp_matches(value, pattern)`` for a pattern read from a table (a seed's rules).

    DuckDB compiles such a pattern again for every row (1M licences against three
    seed patterns: 4.8 s, against 0.09 s with the patterns written in the query);
    here each distinct pattern of the batch is compiled once. The same engine (RE2)
    and the same meaning: true when the pattern matches anywhere in the value, NULL
    when either is NULL."""
    patterns = patterns.combine_chunks() if isinstance(patterns, pa.ChunkedArray) else patterns
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    result = pa.nulls(len(values), pa.bool_())
    for pattern in pc.unique(patterns.drop_null()).to_pylist():
        try:
            matched = pc.match_substring_regex(values, pattern)
        except pa.ArrowInvalid as exc:
            raise ValueError(f"not a valid regular expression: {pattern!r} ({exc})") from None
        result = pc.if_else(pc.equal(patterns, pattern), matched, result)
    return result


def uscc_is_valid(values: pa.Array) -> pa.Array:
    """统一社会信用代码 (GB 32100-2015): 18 characters of its alphabet (upper case: the
    models clean codes first), the last the check character of the first 17; NULL → false.

    The check in numpy over the batch's bytes (pipelines.identifiers, as the generator
    builds them). Written in SQL it was 17 substr/strpos pairs a row: 10M registrations,
    8.9 s against 3.0 s here."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if values.type != pa.string():
        values = values.cast(pa.string())
    n = len(values)
    out = np.zeros(n, dtype=bool)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=n + 1, offset=values.offset * 4)
    lengths = np.diff(offsets)  # in bytes: a non-ASCII character fails the alphabet anyway
    if values.null_count:
        lengths = np.where(values.is_valid().to_numpy(zero_copy_only=False), lengths, 0)
    rows = np.flatnonzero(lengths == 18)
    if len(rows):
        data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
        out[rows] = uscc_codes_valid(data[offsets[rows][:, None] + np.arange(18)])
    return pa.array(out)


def register(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the project's functions on ``conn`` (idempotent)."""
    for name in ("nfkc", "matches_pattern", "uscc_is_valid"):
        try:
            conn.remove_function(name)
        except Exception:  # noqa: BLE001 - not registered yet
            pass
    conn.create_function("nfkc", nfkc, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special")
    conn.create_function("matches_pattern", matches_pattern, ["VARCHAR", "VARCHAR"], "BOOLEAN",
                         type="arrow", null_handling="special")
    conn.create_function("uscc_is_valid", uscc_is_valid, ["VARCHAR"], "BOOLEAN", type="arrow",
                         null_handling="special")


class Plugin(BasePlugin):
    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        register(conn)
