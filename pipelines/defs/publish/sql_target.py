"""Publish a snapshot to a downstream database (``SSJ_TARGET_URL``): every table in one transaction.

``publish_snapshot(folder, url)`` copies every table of a snapshot folder
(``<warehouse>/snapshots/<id>``, read as Parquet) into the database at ``url``
(any SQLAlchemy URL; PostgreSQL through psycopg 3, MariaDB/MySQL through
PyMySQL), with the one-row table ``ssj_snapshot`` (``snapshot_id``, ``as_of``,
``created_at``) saying which snapshot the tables hold; a table whose file is the
one the database already holds (same SHA-256) is not loaded again.

The published tables stay the same database objects from run to run: each run
empties them and fills them again, so the privileges granted on them and the
views downstream teams define over them survive every publish.

PostgreSQL: one transaction does it all.

1. A published table that does not exist yet is created (with its primary key
   and indexes, ``KEYS``); a column the snapshot has and the table lacks is added
   (``ALTER TABLE ... ADD COLUMN``; readers of that table wait for the COMMIT, in
   the run that adds it). A column the table has and the snapshot lacks is kept
   and left NULL (a view may use it).
2. Every table is emptied with ``DELETE`` and refilled with ``COPY ... FROM STDIN
   (FORMAT csv)`` streamed from DuckDB in Arrow batches (every value rendered to
   text by DuckDB, written by Arrow's C++ CSV writer), in primary-key order so the
   key's index grows at its right edge; ``ssj_snapshot`` is replaced; COMMIT.

MariaDB commits DDL implicitly, so it works in three steps: every table is
bulk-loaded into a temporary table of the session (multi-row INSERTs in large
batches, PyMySQL ``executemany``); step 1 as above, each statement committing on
its own (a new table is visible, empty, until the data commits); then one
transaction empties every table and fills it from its staging table with
``INSERT ... SELECT``. A failure anywhere before the data's COMMIT leaves the
previous snapshot in the database, whole, on both.

Tables are emptied with ``DELETE``, not ``TRUNCATE``: readers keep reading the
previous snapshot until the COMMIT and never wait for a publish, at any isolation
level (``TRUNCATE`` would make them wait for the whole refill, and a ``REPEATABLE
READ`` transaction begun before it would then see the tables empty). The price is
one dead copy of each table until autovacuum / InnoDB's purge reclaims it. What it
costs against loading a fresh table, keying it and renaming it in (which loses
grants and views) is measured by ``python -m benchmarks.target``; the figures are
in docs/performance.md.

Types: VARCHAR -> TEXT (PostgreSQL) / LONGTEXT, or VARCHAR(255) for key and
indexed columns (MariaDB); integers -> BIGINT (HUGEINT/UBIGINT -> NUMERIC);
FLOAT/DOUBLE -> DOUBLE; DECIMAL(p,s) -> NUMERIC(p,s); BOOLEAN; DATE;
TIMESTAMP -> TIMESTAMP / DATETIME(6); TIMESTAMPTZ -> TIMESTAMPTZ / DATETIME(6)
in UTC; TIME; lists, structs, maps, JSON -> JSONB / JSON (JSON text);
anything else -> text.

Connection errors (``OperationalError``: refused, dropped, lock timeout) are
retried with exponential backoff (``RetryPolicy``); a publish is idempotent.
Messages name the database as ``connectors.sql.mask_url`` shows it (no user,
password or query parameters).
"""

import hashlib
import io
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from connectors.personal import mask_text
from connectors.sql import RetryPolicy, SqlSourceError, make_engine, mask_url, normalize_url, scrub, with_retries

from .snapshots import SNAPSHOT_FILE, SNAPSHOT_ID, read_manifest

log = logging.getLogger(__name__)

# Primary key and indexes per published table, made when the table is created.
KEYS: dict[str, dict[str, Any]] = {
    "enterprise_pool": {"primary_key": ["enterprise_id"], "indexes": [["uscc"]]},
    "joint_inspections": {"primary_key": ["joint_group_id"], "indexes": [["enterprise_id"]]},
    "draw_entries": {"indexes": [["joint_group_id"], ["enterprise_id"]]},
    "inspector_pool": {"primary_key": ["inspector_id"]},
    "changes": {"primary_key": ["table_name", "key"]},
}
SNAPSHOT_TABLE = "ssj_snapshot"
STAGE_PREFIX = "ssj_stage__"

BATCH_ROWS = 100_000  # Arrow batch size streamed from DuckDB
MYSQL_INSERT_ROWS = 5_000  # rows per executemany call (PyMySQL packs them into multi-row INSERTs)
MYSQL_KEY_VARCHAR = 255
LOCK_TIMEOUT = "60s"
PG_MAX_IDENT = 63


class TargetError(SqlSourceError):
    """Publishing to the target database failed; the message names the snapshot and the (masked) URL."""


@dataclass(frozen=True)
class SnapshotRow:
    """The one row of ``ssj_snapshot``: which snapshot the published tables hold."""

    snapshot_id: str
    as_of: str | None  # ISO date
    created_at: str  # ISO 8601 with its offset


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    duck_type: str
    kind: str  # text | int | bignum | float | decimal | bool | date | timestamp | timestamptz | time | json | blob


@dataclass(frozen=True)
class Load:
    """What replaces one published table's rows: ``rows`` (a DuckDB relation) and, for a
    delta, ``gone`` (a relation of primary keys whose rows go first); ``gone is None``
    means every row goes."""

    rows: str
    gone: str | None = None


def _kind(duck_type: str) -> str:
    t = duck_type.upper().strip()
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION")) or t == "JSON":
        return "json"
    if t in ("VARCHAR", "TEXT", "STRING", "UUID") or t.startswith("VARCHAR") or t.startswith("ENUM"):
        return "text"
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"):
        return "int"
    if t in ("UBIGINT", "HUGEINT", "UHUGEINT"):
        return "bignum"
    if t in ("FLOAT", "REAL", "DOUBLE"):
        return "float"
    if t.startswith("DECIMAL") or t.startswith("NUMERIC"):
        return "decimal"
    if t == "BOOLEAN":
        return "bool"
    if t == "DATE":
        return "date"
    if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return "timestamptz"
    if t.startswith("TIMESTAMP") or t == "DATETIME":
        return "timestamp"
    if t.startswith("TIME"):
        return "time"
    if t == "BLOB":
        return "blob"
    return "text"


def duckdb_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[ColumnSpec]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'main' and table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    return [ColumnSpec(name, dtype, _kind(dtype)) for name, dtype in rows]


def _arrow_reader(con: duckdb.DuckDBPyConnection, select: str) -> pa.RecordBatchReader:
    """Stream a query's result as Arrow batches (DuckDB >= 1.4 names it to_arrow_reader)."""
    rel = con.sql(select)
    if hasattr(rel, "to_arrow_reader"):
        return rel.to_arrow_reader(BATCH_ROWS)
    return rel.fetch_arrow_reader(BATCH_ROWS)


def _duck_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def key_columns(table: str, columns: Iterable[str]) -> tuple[list[str], list[list[str]]]:
    """(primary key, indexes) of ``table`` restricted to the columns it has."""
    have = set(columns)
    spec = KEYS.get(table, {})
    pk = list(spec.get("primary_key") or [])
    if not pk or not all(c in have for c in pk):
        if pk:
            log.warning("%s: primary key column(s) %s missing; no primary key created", table, pk)
        pk = []
    indexes = [list(ix) for ix in spec.get("indexes") or [] if ix and all(c in have for c in ix)]
    return pk, indexes




# --------------------------------------------------------------------------- PostgreSQL


def _pg_type(c: ColumnSpec) -> str:
    if c.kind == "decimal":
        return c.duck_type.upper().replace("DECIMAL", "NUMERIC")
    return {
        "text": "TEXT",
        "int": "BIGINT",
        "bignum": "NUMERIC(39,0)",
        "float": "DOUBLE PRECISION",
        "bool": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP(6)",
        "timestamptz": "TIMESTAMPTZ",
        "time": "TIME(6)",
        "json": "JSONB",
        "blob": "TEXT",
    }[c.kind]


def _export_expr(c: ColumnSpec, **by_kind: str) -> str:
    """The DuckDB expression a target reads column ``c`` as: JSON as its text, a blob as hex, in
    every target; ``by_kind`` (kind -> expression over ``{col}``) the target's own, ``other`` the rest."""
    exprs = {"json": "to_json({col})::VARCHAR", "blob": "hex({col})", **by_kind}
    return exprs.get(c.kind, exprs["other"]).format(col=_duck_ident(c.name))


def _pg_export_expr(c: ColumnSpec) -> str:
    return _export_expr(c, timestamptz="strftime(timezone('UTC', {col}), '%Y-%m-%d %H:%M:%S.%f') || '+00'",
                        other="{col}::VARCHAR")


def _short_name(name: str) -> str:
    if len(name.encode()) <= PG_MAX_IDENT:
        return name
    return name[:40] + "_" + hashlib.sha256(name.encode()).hexdigest()[:12]


def _publish_pg(con: duckdb.DuckDBPyConnection, specs: Mapping[str, list[ColumnSpec]], loads: Mapping[str, Load],
                snapshot: SnapshotRow, engine: Any, schema: str | None) -> None:
    from psycopg import sql as psql

    def q(name: str) -> Any:
        return psql.Identifier(schema, name) if schema else psql.Identifier(name)

    def names(columns: Iterable[str]) -> Any:
        return psql.SQL(", ").join(psql.Identifier(c) for c in columns)

    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        pg.autocommit = False
        started = time.monotonic()
        with pg.cursor() as cur:
            cur.execute("SET LOCAL client_encoding TO 'UTF8'")
            # 1. tables and columns the database does not have yet
            cur.execute("SELECT table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = COALESCE(%s, current_schema())", (schema,))
            live: dict[str, set[str]] = {}
            for table, column in cur.fetchall():
                live.setdefault(table, set()).add(column)
            for table, cols in specs.items():
                if table not in live:
                    pk, indexes = key_columns(table, [c.name for c in cols])
                    defs = [psql.SQL("{} {}").format(psql.Identifier(c.name), psql.SQL(_pg_type(c))) for c in cols]
                    if pk:
                        defs.append(psql.SQL("CONSTRAINT {} PRIMARY KEY ({})").format(
                            psql.Identifier(_short_name(f"{table}_pkey")), names(pk)))
                    cur.execute(psql.SQL("CREATE TABLE {} ({})").format(q(table), psql.SQL(", ").join(defs)))
                    for ix in indexes:
                        cur.execute(psql.SQL("CREATE INDEX {} ON {} ({})").format(
                            psql.Identifier(_short_name(f"{table}_{'_'.join(ix)}_idx")), q(table), names(ix)))
                    continue
                for c in cols:
                    if c.name not in live[table]:
                        log.info("%s: new column %s", table, c.name)
                        cur.execute(psql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                            q(table), psql.Identifier(c.name), psql.SQL(_pg_type(c))))
                _warn_kept_columns(table, live[table], cols)
            cur.execute(psql.SQL("CREATE TABLE IF NOT EXISTS {} (snapshot_id TEXT PRIMARY KEY, as_of DATE, "
                                 "created_at TIMESTAMPTZ NOT NULL)").format(q(SNAPSHOT_TABLE)))
            # 2. the rows: each table emptied (or its changed keys deleted) and refilled by COPY
            cur.execute(psql.SQL("SET LOCAL lock_timeout = {}").format(psql.Literal(LOCK_TIMEOUT)))
            cur.execute(psql.SQL("DELETE FROM {}").format(q(SNAPSHOT_TABLE)))
            for table, cols in specs.items():
                pk, _ = key_columns(table, [c.name for c in cols])
                load = loads[table]
                if load.gone is None:
                    cur.execute(psql.SQL("DELETE FROM {}").format(q(table)))
                else:
                    keys = psql.Identifier(STAGE_PREFIX + table)
                    key_cols = [c for c in cols if c.name in pk]
                    cur.execute(psql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(keys, psql.SQL(", ").join(
                        psql.SQL("{} {}").format(psql.Identifier(c.name), psql.SQL(_pg_type(c))) for c in key_cols)))
                    _pg_copy(cur, psql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(keys, names(pk)),
                             con, key_cols, load.gone, pk)
                    cur.execute(psql.SQL("DELETE FROM {} t USING {} k WHERE {}").format(
                        q(table), keys, psql.SQL(" AND ").join(
                            psql.SQL("t.{} = k.{}").format(psql.Identifier(c), psql.Identifier(c)) for c in pk)))
                _pg_copy(cur, psql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                    q(table), names(c.name for c in cols)), con, cols, load.rows, pk)
            cur.execute(psql.SQL("INSERT INTO {} (snapshot_id, as_of, created_at) VALUES (%s, %s, %s)").format(
                q(SNAPSHOT_TABLE)), (snapshot.snapshot_id, snapshot.as_of, snapshot.created_at))
            for table in specs:
                if loads[table].gone is None:  # a delta leaves the statistics to autovacuum
                    cur.execute(psql.SQL("ANALYZE {}").format(q(table)))
        pg.commit()
        log.info("snapshot %s: tables replaced in %.1f s", snapshot.snapshot_id, time.monotonic() - started)
    except BaseException:
        try:
            raw.driver_connection.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the server rolls back anyway
            pass
        raise
    finally:
        raw.close()


def _pg_copy(cur: Any, copy_sql: Any, con: duckdb.DuckDBPyConnection, cols: list[ColumnSpec], relation: str,
             order: list[str]) -> None:
    """COPY ``relation``'s ``cols`` (in ``order``: an index on it grows at its right edge) through ``copy_sql``."""
    reader = _arrow_reader(con, "select " + ", ".join(_pg_export_expr(c) for c in cols) + f" from {relation}"
                           + (" order by " + ", ".join(_duck_ident(c) for c in order) if order else ""))
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    with reader, cur.copy(copy_sql) as copy:  # the reader closed: DuckDB's connection is free again
        for batch in reader:
            if batch.num_rows:
                buf = io.BytesIO()
                pacsv.write_csv(pa.Table.from_batches([batch]), buf, options)
                copy.write(buf.getbuffer())


def _warn_kept_columns(table: str, live: set[str], cols: list[ColumnSpec]) -> None:
    gone = sorted(live - {c.name for c in cols})
    if gone:
        log.warning("%s: column(s) %s are no longer published; kept in the target, NULL from now on",
                    table, ", ".join(gone))


# --------------------------------------------------------------------------- MariaDB / MySQL


def _my_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _my_type(c: ColumnSpec, keyed: bool) -> str:
    if c.kind == "text":
        return f"VARCHAR({MYSQL_KEY_VARCHAR})" if keyed else "LONGTEXT"
    if c.kind == "decimal":
        return c.duck_type.upper().replace("NUMERIC", "DECIMAL")
    return {
        "int": "BIGINT",
        "bignum": "DECIMAL(39,0)",
        "float": "DOUBLE",
        "bool": "BOOLEAN",
        "date": "DATE",
        "timestamp": "DATETIME(6)",
        "timestamptz": "DATETIME(6)",
        "time": "TIME(6)",
        "json": "JSON",
        "blob": "LONGTEXT",
    }[c.kind]


def _my_export_expr(c: ColumnSpec) -> str:
    return _export_expr(c, timestamptz="timezone('UTC', {col})", bignum="{col}::DECIMAL(38,0)", other="{col}")


def _rows(reader: pa.RecordBatchReader) -> Iterator[list[tuple]]:
    for batch in reader:
        if batch.num_rows == 0:
            continue
        cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        rows = list(zip(*cols))
        for start in range(0, len(rows), MYSQL_INSERT_ROWS):
            yield rows[start : start + MYSQL_INSERT_ROWS]


def _publish_mysql(con: duckdb.DuckDBPyConnection, specs: Mapping[str, list[ColumnSpec]], loads: Mapping[str, Load],
                   snapshot: SnapshotRow, engine: Any, schema: str | None) -> None:
    def q(name: str) -> str:
        return f"{_my_ident(schema)}.{_my_ident(name)}" if schema else _my_ident(name)

    def names(columns: Iterable[str]) -> str:
        return ", ".join(_my_ident(c) for c in columns)

    table_options = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"
    raw = engine.raw_connection()
    try:
        my = raw.driver_connection
        my.autocommit(False)
        with my.cursor() as cur:
            # 1. staging tables of this session (TEMPORARY: gone when it ends)
            for table, cols in specs.items():
                pk, indexes = key_columns(table, [c.name for c in cols])
                keyed = set(pk) | {c for ix in indexes for c in ix}
                stages = [(STAGE_PREFIX + table, cols, loads[table].rows)]
                if loads[table].gone is not None:
                    stages.append((STAGE_PREFIX + "gone__" + table, [c for c in cols if c.name in pk], loads[table].gone))
                for stage, stage_cols, relation in stages:
                    cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {_my_ident(stage)}")
                    cur.execute(f"CREATE TEMPORARY TABLE {_my_ident(stage)} ("
                                f"{', '.join(f'{_my_ident(c.name)} {_my_type(c, c.name in keyed)}' for c in stage_cols)}) "
                                f"{table_options}")
                    reader = _arrow_reader(con, "select " + ", ".join(_my_export_expr(c) for c in stage_cols)
                                           + f" from {relation}")
                    insert = (f"INSERT INTO {_my_ident(stage)} ({names(c.name for c in stage_cols)}) "
                              f"VALUES ({', '.join(['%s'] * len(stage_cols))})")
                    with reader:
                        for chunk in _rows(reader):
                            cur.executemany(insert, chunk)
            my.commit()
            # 2. tables and columns the database does not have yet (DDL: each commits on its own)
            cur.execute("SELECT table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = COALESCE(%s, DATABASE())", (schema,))
            live: dict[str, set[str]] = {}
            for table, column in cur.fetchall():
                live.setdefault(table, set()).add(column)
            for table, cols in specs.items():
                pk, indexes = key_columns(table, [c.name for c in cols])
                keyed = set(pk) | {c for ix in indexes for c in ix}
                if table not in live:
                    defs = [f"{_my_ident(c.name)} {_my_type(c, c.name in keyed)}" for c in cols]
                    defs += [f"PRIMARY KEY ({names(pk)})"] if pk else []
                    defs += [f"INDEX {_my_ident(('ix_' + '_'.join(ix))[:64])} ({names(ix)})" for ix in indexes]
                    cur.execute(f"CREATE TABLE {q(table)} ({', '.join(defs)}) {table_options}")
                    continue
                for c in cols:
                    if c.name not in live[table]:
                        log.info("%s: new column %s", table, c.name)
                        cur.execute(f"ALTER TABLE {q(table)} ADD COLUMN {_my_ident(c.name)} {_my_type(c, False)}")
                _warn_kept_columns(table, live[table], cols)
            cur.execute(f"CREATE TABLE IF NOT EXISTS {q(SNAPSHOT_TABLE)} (snapshot_id VARCHAR({MYSQL_KEY_VARCHAR}) "
                        f"PRIMARY KEY, as_of DATE, created_at DATETIME(6) NOT NULL) {table_options}")
            # 3. the data, in one transaction
            staged = time.monotonic()
            cur.execute("START TRANSACTION")
            for table, cols in specs.items():
                if loads[table].gone is None:
                    cur.execute(f"DELETE FROM {q(table)}")
                else:
                    pk, _ = key_columns(table, [c.name for c in cols])
                    cur.execute(f"DELETE t FROM {q(table)} t JOIN {_my_ident(STAGE_PREFIX + 'gone__' + table)} k "
                                f"USING ({names(pk)})")
                cur.execute(f"INSERT INTO {q(table)} ({names(c.name for c in cols)}) "
                            f"SELECT {names(c.name for c in cols)} FROM {_my_ident(STAGE_PREFIX + table)}")
            cur.execute(f"DELETE FROM {q(SNAPSHOT_TABLE)}")
            cur.execute(f"INSERT INTO {q(SNAPSHOT_TABLE)} (snapshot_id, as_of, created_at) VALUES (%s, %s, %s)",
                        (snapshot.snapshot_id, snapshot.as_of, _utc_naive(snapshot.created_at)))
        my.commit()
        log.info("snapshot %s: tables replaced in %.1f s", snapshot.snapshot_id, time.monotonic() - staged)
    except BaseException:
        try:
            raw.driver_connection.rollback()
        except Exception:  # noqa: BLE001
            pass
        raise
    finally:
        raw.close()


def _utc_naive(iso: str) -> str:
    """An ISO 8601 time with offset as MariaDB's DATETIME(6) in UTC."""
    return datetime.fromisoformat(iso).astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


# --------------------------------------------------------------------------- entry points

DELTA_MAX_SHARE = 0.5  # above this share of changed rows a table is replaced whole


def _plan_load_or_whole(con: duckdb.DuckDBPyConnection, table: str, cols: list[ColumnSpec],
                        previous: str | None) -> Load:
    """``_plan_load``, or the whole table when the previous snapshot's file cannot be read."""
    try:
        return _plan_load(con, table, cols, previous)
    except duckdb.Error as exc:
        log.warning("%s: the previous snapshot's rows are unreadable (%s); the table is filled whole",
                    table, type(exc).__name__)
        return Load(rows=f"main.{_duck_ident(table)}")


def _is_integrity_error(exc: BaseException) -> bool:
    """A constraint the rows broke (a key the target already holds), from either driver."""
    import psycopg
    import pymysql

    orig = getattr(exc, "orig", None) or exc
    return isinstance(orig, (psycopg.IntegrityError, pymysql.err.IntegrityError))


def _plan_load(con: duckdb.DuckDBPyConnection, table: str, cols: list[ColumnSpec], previous: str | None) -> Load:
    """All of ``table``'s rows, or, when the target holds ``previous`` and the table has a primary
    key and the same columns, the delta: the rows of ``previous`` not in ``table`` (changed or gone)
    are deleted by key, the rows of ``table`` not in ``previous`` (changed or new) inserted. Rows
    equal in both stay untouched in the target: the cost is that of the change, not of the table."""
    whole = Load(rows=f"main.{_duck_ident(table)}")
    pk, _ = key_columns(table, [c.name for c in cols])
    if previous is None or not pk:
        return whole
    if [(c.name, c.duck_type) for c in cols] != con.execute(
            f"select column_name, column_type from (describe select * from {previous})").fetchall():
        return whole
    rows, gone = f"ssj_delta__{table}", f"ssj_gone__{table}"
    columns = ", ".join(_duck_ident(c.name) for c in cols)
    con.execute(f"create or replace temporary table {_duck_ident(rows)} as "
                f"select {columns} from main.{_duck_ident(table)} except select {columns} from {previous}")
    con.execute(f"create or replace temporary table {_duck_ident(gone)} as "
                f"select {', '.join(_duck_ident(c) for c in pk)} from "
                f"(select {columns} from {previous} except select {columns} from main.{_duck_ident(table)})")
    changed, total = con.execute(f"select (select count(*) from {_duck_ident(rows)}) + "
                                 f"(select count(*) from {_duck_ident(gone)}), "
                                 f"(select count(*) from main.{_duck_ident(table)})").fetchall()[0]
    if changed > DELTA_MAX_SHARE * max(total, 1):
        return whole
    return Load(rows=_duck_ident(rows), gone=_duck_ident(gone))



def publish_snapshot(folder: Path, url: str, *, schema: str | None = None,
                     retry: RetryPolicy | None = None) -> dict[str, int]:
    """Publish the snapshot in ``folder`` (its Parquet files) to ``url``; return rows per table.

    A table whose file has the same SHA-256 as in the snapshot the database holds
    (``ssj_snapshot``, when that snapshot is still kept beside ``folder``) already has
    these rows there and is not loaded again: an incremental build sends only the
    draw-list tables (and ``ssj_snapshot``)."""
    manifest = read_manifest(folder)
    held = _held_snapshot(Path(folder).parent, url, schema)
    unchanged = sorted(t for t, d in manifest["tables"].items()
                       if held and held["tables"].get(t, {}).get("sha256") == d["sha256"] and t in held["present"])
    if unchanged:
        log.info("unchanged since snapshot %s in the target, not loaded again: %s",
                 held["snapshot_id"], ", ".join(unchanged))
    con = duckdb.connect(config={"memory_limit": os.environ.get("SSJ_DUCKDB_MEMORY", "8GB")})
    try:
        for table in manifest["tables"]:
            path = str(Path(folder) / f"{table}.parquet").replace("'", "''")
            con.execute(f"create view main.{_duck_ident(table)} as select * from read_parquet('{path}')")
        previous = {}
        for table in (held or {}).get("tables", {}):
            old = Path(folder).parent / held["snapshot_id"] / f"{table}.parquet"
            if table in held["present"] and old.is_file():
                previous[table] = f"read_parquet('{str(old).replace(chr(39), chr(39) * 2)}')"
        row = SnapshotRow(manifest["snapshot_id"], manifest["as_of"], manifest["created_at"])
        counts = publish_to_target(con, sorted(set(manifest["tables"]) - set(unchanged)), url, snapshot=row,
                                   schema=schema, retry=retry, previous=previous)
    finally:
        con.close()
    return {t: counts.get(t, d["rows"]) for t, d in sorted(manifest["tables"].items())}


def _held_snapshot(snapshots: Path, url: str, schema: str | None) -> dict | None:
    """The manifest of the snapshot the database holds (its ``ssj_snapshot`` row), with ``present``:
    the tables the database has; None when unknown (no such table, no longer kept, unreachable)."""
    engine = make_engine(url)
    try:
        inspector = sa.inspect(engine)
        present = set(inspector.get_table_names(schema=schema))
        if SNAPSHOT_TABLE not in present:
            return None
        name = f"{engine.dialect.identifier_preparer.quote_schema(schema)}." if schema else ""
        with engine.connect() as c:
            held = c.execute(sa.text(f"select snapshot_id from {name}{SNAPSHOT_TABLE}")).scalar()
        if held is None or not SNAPSHOT_ID.match(held) or not (snapshots / held / SNAPSHOT_FILE).exists():
            return None
        folder = snapshots / held
        return {**read_manifest(folder), "present": present}
    except sa.exc.SQLAlchemyError:  # publish_to_target retries and reports what is wrong with the database
        return None
    finally:
        engine.dispose()


def publish_to_target(
    con: duckdb.DuckDBPyConnection,
    tables: list[str],
    url: str,
    *,
    snapshot: SnapshotRow,
    schema: str | None = None,
    retry: RetryPolicy | None = None,
    previous: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Publish ``tables`` (DuckDB schema ``main`` of ``con``) as ``snapshot`` to ``url``, all in one
    transaction (see the module doc); return rows per table.

    ``previous``: for a table, a DuckDB relation holding exactly the rows the target holds
    now (the snapshot its ``ssj_snapshot`` names). A table with a primary key then gets
    only its changed rows (see ``_plan_load``) instead of all of them.

    ``schema``: PostgreSQL schema / MariaDB database to publish into (default: the
    connection's ``search_path`` / the URL's database). Raises ``TargetError`` (URL
    masked) when the snapshot cannot be published; the database then keeps the
    previous one, whole."""
    retry = retry or RetryPolicy()
    u = normalize_url(url)
    backend = u.get_backend_name()
    if backend == "postgresql":
        publish_all = _publish_pg
    elif backend in ("mysql", "mariadb"):
        publish_all = _publish_mysql
    else:
        raise TargetError(f"target {mask_url(url)}: unsupported database {backend!r} (PostgreSQL or MariaDB/MySQL)")
    specs = {}
    for table in tables:
        specs[table] = duckdb_columns(con, table)
        if not specs[table]:
            raise TargetError(f"publish {table} to {mask_url(url)}: no table main.{table} in DuckDB")
    loads = {t: _plan_load_or_whole(con, t, specs[t], (previous or {}).get(t)) for t in tables}
    what = f"publish snapshot {snapshot.snapshot_id} to {mask_url(url)}"
    engine = make_engine(u)
    try:
        try:
            with_retries(lambda: publish_all(con, specs, loads, snapshot, engine, schema),
                         what=what, policy=retry, url=url)
        except Exception as exc:
            if not _is_integrity_error(exc) or all(load.gone is None for load in loads.values()):
                raise
            # the target's rows are not the snapshot it names (edited by hand?): fill every table whole
            log.warning("%s: the delta did not fit the target's rows (%s); every table is filled whole",
                        what, type(getattr(exc, "orig", None) or exc).__name__)
            whole = {t: Load(rows=f"main.{_duck_ident(t)}") for t in tables}
            with_retries(lambda: publish_all(con, specs, whole, snapshot, engine, schema),
                         what=what, policy=retry, url=url)
    except SqlSourceError as exc:  # SourceUnavailable after the retries
        raise TargetError(str(exc)) from None
    except Exception as exc:
        orig = getattr(exc, "orig", None) or exc
        # a database's DETAIL may quote a row ("Failing row contains …"): masked like every message
        raise TargetError(mask_text(f"{what}: {type(orig).__name__}: {scrub(str(orig).strip(), url)}")) from None
    finally:
        engine.dispose()
    counts = {t: con.execute(f"select count(*) from main.{_duck_ident(t)}").fetchall()[0][0] for t in tables}
    for table, n in counts.items():
        how = "replaced" if loads[table].gone is None else "changed rows replaced"
        log.info("published %s to %s: %d rows (%s)", table, mask_url(url), n, how)
    return counts
