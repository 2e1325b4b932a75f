"""DuckDB functions the dbt models need that SQL alone cannot express well.

Registered on every dbt connection through the dbt-duckdb plugin (``pipelines/dbt_plugin.py``),
and by any other code that runs the models' SQL (tests, publish, the GX workers) via
``register``. This module imports no dbt: a process that only reads the warehouse
(a GX worker) does not pay for dbt's import.

Personal data: the models mask and screen values with the one definition of a
personal ID number, ``connectors.personal``, through the functions below — the
SQL never spells the rule itself. They are Arrow functions; the two that run on
every text (mask_personal, has_id_number) are SQL macros that call Python
(``ssj_mask_personal_py``, ``ssj_has_id_number_py``) only for the values DuckDB's
RE2 may find a digit run in (``ID_RUN_GUARD_RE2``): a clean value pays one RE2 scan, no call
into Python. The others run on few values (a rejected row's, an ID column's, the
keys of a JSON object being masked). ``mask_personal_few`` is mask_personal without
the SQL guard, for the values a reason quotes (made only on the rows its finding
holds for): DuckDB compiles the guard for every regexp_matches in a query as it
plans it, and a staging model's reasons quote dozens of values; the Python function
runs its own RE2 scan (in Arrow) on the rows it gets.

    mask_personal(text)           mask_text: every digit run → first 4 + stars + last 4
    mask_personal_few(text)       the same, for a reason's quoted values (few rows)
    mask_personal_value(value)    mask_value: a whole personal value → first 4 + stars + last 4
    has_id_number(text)           whether free text holds a personal ID number (false for NULL)
    mask_split_ids(texts, masked, nested)
                                  split_id_spans: ``masked`` (the list ``texts`` masked value by
                                  value) with each ID number split across the values of ``texts``
                                  masked as well; ``nested``: which texts are a nested value's JSON
    holds_split_id(texts, nested) whether an ID number is split across the values of ``texts``
    json_may_hold_split_id(json)  json_may_hold_split_id: the guard before masking a JSON object
                                  for that alone (false for NULL)
    is_personal_header(header)    whether a column header names an identity document
    is_code_header(header)        whether a header is one of an enterprise-code column's
                                  (type uscc or reg_no in feeds.yaml: its name or an alias)
    ssj_id_run_pattern()          ID_RUN_GUARD_RE2, for a cheap regexp_matches guard in SQL (a superset of ID_RUN)
    ssj_split_id_pattern()        SPLIT_GUARD_RE2: 15 digits in all (or one not 0–9), the guard before the two above
    ssj_personal_header_pattern() an RE2 pattern that matches (at least) every text holding
                                  a personal header: the guard before is_personal_header
    ssj_personal_columns(feed)    the feed's columns marked ``personal: true`` in feeds.yaml
"""

from __future__ import annotations

import os
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors import personal
from connectors.feeds import feeds, fold_header


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


# ------------------------------------------------------------------ personal data


def _string_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return values.cast(pa.string()) if values.type != pa.string() else values


def _with_id_run(values: pa.Array) -> pa.Array:
    """Boolean mask (no NULLs) of the values that may hold a digit run (ID_RUN_GUARD_RE2): one RE2 scan."""
    return pc.fill_null(pc.match_substring_regex(values, personal.ID_RUN_GUARD_RE2), False)


def mask_personal(values: pa.Array) -> pa.Array:
    """``personal.mask_text`` of every value; NULL stays NULL."""
    values = _string_array(values)
    hit = _with_id_run(values)
    if not pc.any(hit).as_py():
        return values
    masked = [personal.mask_text(v) for v in values.filter(hit).to_pylist()]
    return pc.replace_with_mask(values, hit, pa.array(masked, pa.string()))


def has_id_number(values: pa.Array) -> pa.Array:
    """``personal.has_id_number`` of every value (false for NULL, as in Python)."""
    values = _string_array(values)
    hit = _with_id_run(values)
    if not pc.any(hit).as_py():
        return pa.array([False] * len(values), pa.bool_())
    found = [personal.has_id_number(v) for v in values.filter(hit).to_pylist()]
    return pc.replace_with_mask(hit, hit, pa.array(found, pa.bool_()))


def _lists(values: pa.Array | pa.ChunkedArray) -> list:
    return (values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values).to_pylist()


def mask_split_ids(texts: pa.Array, masked: pa.Array, nested: pa.Array) -> pa.Array:
    """``personal.mask_split_ids`` of every row's lists; NULL stays NULL."""
    return pa.array([None if t is None else personal.mask_split_ids(t, m, [bool(x) for x in n or [False] * len(t)])
                     for t, m, n in zip(_lists(texts), _lists(masked), _lists(nested))], pa.list_(pa.string()))


def holds_split_id(texts: pa.Array, nested: pa.Array) -> pa.Array:
    """``personal.holds_split_id`` of every row's lists (false for NULL)."""
    return pa.array([t is not None and personal.holds_split_id(t, [bool(x) for x in n or [False] * len(t)])
                     for t, n in zip(_lists(texts), _lists(nested))], pa.bool_())


def json_may_hold_split_id(values: pa.Array) -> pa.Array:
    """``personal.json_may_hold_split_id`` of every value (false for NULL), in Python only for
    the values holding 15 digits in all (SPLIT_GUARD_RE2: one RE2 scan)."""
    values = _string_array(values)
    hit = pc.fill_null(pc.match_substring_regex(values, personal.SPLIT_GUARD_RE2), False)
    if not pc.any(hit).as_py():
        return pa.array([False] * len(values), pa.bool_())
    found = [personal.json_may_hold_split_id(v) for v in values.filter(hit).to_pylist()]
    return pc.replace_with_mask(hit, hit, pa.array(found, pa.bool_()))


def mask_personal_value(values: pa.Array) -> pa.Array:
    """``personal.mask_value`` of every value (a personal value is masked whole); NULL stays NULL."""
    return pa.array([personal.mask_value(v) for v in _string_array(values).to_pylist()], pa.string())


def is_personal_header(values: pa.Array) -> pa.Array:
    """``personal.is_personal_header`` of every value (false for NULL)."""
    return pa.array([personal.is_personal_header(v) for v in _string_array(values).to_pylist()], pa.bool_())


CODE_TYPES = ("uscc", "reg_no")
"""The column types whose values are enterprise codes validated by their own check characters."""


@cache
def _code_headers() -> frozenset[str]:
    return frozenset(fold_header(h) for feed in feeds().values() for c in feed.columns
                     if c.type in CODE_TYPES for h in c.accepted_headers)


def is_code_header(values: pa.Array) -> pa.Array:
    """Whether each header (folded as readers fold them) is a name or alias of an enterprise-code column."""
    headers = _code_headers()
    return pa.array([v is not None and fold_header(v) in headers for v in _string_array(values).to_pylist()],
                    pa.bool_())


def personal_header_prefilter() -> str:
    """PERSONAL_HEADER for RE2, case-insensitive, as a guard: it matches every text
    that Python's PERSONAL_HEADER matches (RE2's ``\\s`` and ``\\b`` are ASCII-only:
    the white-space class is widened to every Unicode separator and control
    character, and an ASCII ``\\b`` is a boundary wherever Python's Unicode one is);
    is_personal_header then decides on the keys it lets through."""
    return "(?i:" + personal.PERSONAL_HEADER.pattern.replace(r"\s", r"\s\pZ\pC") + ")"


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


FUNCTION_CATALOG = "ssj_functions"
"""An in-memory catalog attached to the database instance that holds the SQL macros below.

Macros created there are made once per database instance (a dbt command's or a
warehouse connection's) and are shared by every cursor of it; a temporary macro is
per connection, and dbt-duckdb opens a cursor for every node (~280 per build). Binding
the two macros that compile the digit-run guard takes a millisecond each, and creating
them all on every cursor was the larger part of dbt-duckdb's per-node cost. A cursor finds
them through ``search_path`` (``SEARCH_PATH``), a per-connection setting."""

SEARCH_PATH = f"set search_path = 'main,{FUNCTION_CATALOG}.main'"


def _macros(schema: str = f"{FUNCTION_CATALOG}.main") -> list[str]:
    """The macros' DDL: in ``schema``, or temporary (``schema=None``)."""
    create = "create or replace temp macro " if schema is None else f"create or replace macro {schema}."
    personal_columns = ", ".join(
        f"{_sql_literal(name)}: [{', '.join(_sql_literal(c) for c in feed.personal)}]::varchar[]"
        for name, feed in feeds().items())
    return [
        f"{create}ssj_id_run_pattern() as {_sql_literal(personal.ID_RUN_GUARD_RE2)}",
        f"{create}ssj_split_id_pattern() as {_sql_literal(personal.SPLIT_GUARD_RE2)}",
        f"{create}ssj_personal_header_pattern() as {_sql_literal(personal_header_prefilter())}",
        f"{create}ssj_personal_columns(feed) as "
        f"coalesce(map {{{personal_columns}}}[feed], []::varchar[])",
        # Python only for the values RE2 finds a digit run in: a call into Python costs even when
        # its own prefilter finds nothing (10M registrations: 38 text columns cost ~4x staging).
        # A CASE, not AND: DuckDB evaluates both sides of an AND on every row, and a CASE's branch
        # only on the rows its condition holds for (none: no call at all)
        f"{create}mask_personal(text) as "
        "case when regexp_matches(text, ssj_id_run_pattern()) then ssj_mask_personal_py(text) else text end",
        f"{create}has_id_number(text) as "
        "case when regexp_matches(text, ssj_id_run_pattern()) then ssj_has_id_number_py(text) else false end",
        # Python only for the lists holding 15 digits in all (the texts of most JSON objects do not)
        f"{create}mask_split_ids(texts, masked, nested) as "
        "case when regexp_matches(array_to_string(texts, ''), ssj_split_id_pattern()) "
        "then ssj_mask_split_ids_py(texts, masked, nested) else masked end",
        f"{create}holds_split_id(texts, nested) as "
        "case when regexp_matches(array_to_string(texts, ''), ssj_split_id_pattern()) "
        "then ssj_holds_split_id_py(texts, nested) else false end",
        f"{create}json_may_hold_split_id(json) as "
        "case when regexp_matches(json, ssj_split_id_pattern()) then ssj_json_may_hold_split_id_py(json) else false end",
    ]


def create_macros(conn: duckdb.DuckDBPyConnection) -> bool:
    """The SQL macros, shared by the instance's cursors when its catalog can hold them
    (``FUNCTION_CATALOG``; True), else temporary, for ``conn`` alone (a read-only
    database cannot attach an in-memory one; False)."""
    try:
        conn.execute(f"attach if not exists ':memory:' as {FUNCTION_CATALOG}")
    except duckdb.Error:
        for sql in _macros(None):
            conn.execute(sql)
        return False
    conn.execute(SEARCH_PATH)  # before the macros: each is bound on creation, finding those before it
    present = {name for (name,) in conn.execute(
        "select function_name from duckdb_functions() where database_name = ?", [FUNCTION_CATALOG]).fetchall()}
    if present != MACRO_NAMES:
        for sql in _macros():
            conn.execute(sql)
    refuse_shadowing(conn)
    return True


def refuse_shadowing(conn: duckdb.DuckDBPyConnection) -> None:
    """The search path finds ``main`` first: a macro of one of these names saved in the warehouse
    (left by someone trying a query in the DuckDB CLI, say) would replace the masking of ID
    numbers for every model — and so would one of a Python function's name (``mask_personal_few``,
    ``ssj_mask_personal_py`` …). Such a warehouse is refused, with the statement that repairs it."""
    names = ", ".join(_sql_literal(n) for n in sorted(MACRO_NAMES | {f[0] for f in _python_functions()}))
    found = conn.execute(
        f"select distinct database_name, schema_name, function_name from duckdb_functions() "
        f"where function_name in ({names}) and database_name not in ('{FUNCTION_CATALOG}', 'temp', 'system')"
    ).fetchall()
    if found:
        drops = "; ".join(f"drop macro {d}.{s}.{f}" for d, s, f in found)
        raise RuntimeError(f"the warehouse defines its own {', '.join(f for _, _, f in found)}, which would replace "
                           f"shuangsuiji's functions of the same names; remove them ({drops}) and run again")


MACRO_NAMES = frozenset({"ssj_id_run_pattern", "ssj_split_id_pattern", "ssj_personal_header_pattern",
                         "ssj_personal_columns", "mask_personal", "has_id_number", "mask_split_ids",
                         "holds_split_id", "json_may_hold_split_id"})


def run_variables_sql(conn: duckdb.DuckDBPyConnection) -> str:
    """The statements that set the run's values the models read at run time, not at parse time
    (so one parse serves every warehouse and date): ``ssj_raw_dir``, the raw store beside the
    connection's database file, and ``ssj_as_of``, the date every date rule is judged on
    (``SSJ_AS_OF``; today when unset)."""
    rows = conn.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()
    database = rows[0][0] if rows else None
    raw = str(Path(database).resolve().parent / "raw") if database and database != ":memory:" else None
    as_of = date.fromisoformat(os.environ.get("SSJ_AS_OF") or date.today().isoformat())
    return ("set variable ssj_raw_dir = " + ("null" if raw is None else _sql_literal(raw))
            + f"; set variable ssj_as_of = date '{as_of.isoformat()}'")


def set_run_variables(conn: duckdb.DuckDBPyConnection) -> None:
    """Set the run's variables on ``conn`` (``run_variables_sql``)."""
    conn.execute(run_variables_sql(conn))


def _python_functions() -> list[tuple]:
    """The Python functions the models call: (name, function, parameter types, return type)."""
    return [
        ("nfkc", nfkc, ["VARCHAR"], "VARCHAR"),
        ("matches_pattern", matches_pattern, ["VARCHAR", "VARCHAR"], "BOOLEAN"),
        ("ssj_mask_personal_py", mask_personal, ["VARCHAR"], "VARCHAR"),
        ("mask_personal_few", mask_personal, ["VARCHAR"], "VARCHAR"),
        ("mask_personal_value", mask_personal_value, ["VARCHAR"], "VARCHAR"),
        ("ssj_has_id_number_py", has_id_number, ["VARCHAR"], "BOOLEAN"),
        ("ssj_mask_split_ids_py", mask_split_ids, ["VARCHAR[]", "VARCHAR[]", "BOOLEAN[]"], "VARCHAR[]"),
        ("ssj_holds_split_id_py", holds_split_id, ["VARCHAR[]", "BOOLEAN[]"], "BOOLEAN"),
        ("ssj_json_may_hold_split_id_py", json_may_hold_split_id, ["VARCHAR"], "BOOLEAN"),
        ("is_personal_header", is_personal_header, ["VARCHAR"], "BOOLEAN"),
        ("is_code_header", is_code_header, ["VARCHAR"], "BOOLEAN"),
    ]


def register(conn: duckdb.DuckDBPyConnection) -> bool:
    """Create the project's functions and run variables on ``conn`` (idempotent). True when
    the macros are shared by the instance's cursors (``create_macros``)."""
    refuse_shadowing(conn)  # before the Python functions: a macro of one's name would make creating it fail
    functions = _python_functions()
    for name, *_ in functions:
        try:
            conn.remove_function(name)
        except Exception:  # noqa: BLE001 - not registered yet
            pass
    for name, function, parameters, returns in functions:
        conn.create_function(name, function, parameters, returns, type="arrow", null_handling="special")
    shared = create_macros(conn)
    set_run_variables(conn)
    return shared
