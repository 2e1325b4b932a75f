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

1. Every table is bulk-loaded into a staging table of the session (a temporary
   table: nothing is left behind, whatever happens): PostgreSQL ``COPY ... FROM
   STDIN (FORMAT csv)`` streamed from DuckDB in Arrow batches (every value
   rendered to text by DuckDB, written by Arrow's C++ CSV writer); MariaDB
   multi-row INSERTs in large batches (PyMySQL ``executemany``).
2. A published table that does not exist yet is created (with its primary key and
   indexes, ``KEYS``); a column the snapshot has and the table lacks is added
   (``ALTER TABLE ... ADD COLUMN``). A column the table has and the snapshot lacks
   is kept and left NULL (a view may use it).
3. One transaction: every table emptied and filled from its staging table with
   ``INSERT ... SELECT``, and ``ssj_snapshot`` replaced; COMMIT. A failure anywhere
   before COMMIT leaves the previous snapshot in the database, whole.

Step 3 empties the tables with ``DELETE``, not ``TRUNCATE``: readers keep reading
the previous snapshot until the COMMIT and never wait for a publish, at any
isolation level (``TRUNCATE`` would make them wait for the whole refill, and a
``REPEATABLE READ`` transaction begun before it would then see the tables empty).
The price is one dead copy of each table until autovacuum / InnoDB's purge
reclaims it. 1M rows of a 9-column table with its primary key and an index, on
this project's development machine: PostgreSQL, the former rename swap per table
4.3-5.3 s, this 11.2 s (``TRUNCATE`` instead: 7.0 s, readers blocked 4-5 s);
MariaDB, 27.5-32.2 s against 33.0-35.4 s (9.6 s of it in step 3; the bulk INSERTs
dominate both).

PostgreSQL runs all three steps in one transaction (its DDL is transactional;
an ``ADD COLUMN`` makes readers of that table wait until the COMMIT, in the run
that adds it). MariaDB commits DDL implicitly, so step 2 commits on its own (a
new table is visible, empty, until step 3 commits).

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


def _pg_export_expr(c: ColumnSpec) -> str:
    col = _duck_ident(c.name)
    if c.kind == "json":
        return f"to_json({col})::VARCHAR"
    if c.kind == "blob":
        return f"hex({col})"
    if c.kind == "timestamptz":
        return f"strftime(timezone('UTC', {col}), '%Y-%m-%d %H:%M:%S.%f') || '+00'"
    return f"{col}::VARCHAR"


def _short_name(name: str) -> str:
    if len(name.encode()) <= PG_MAX_IDENT:
        return name
    return name[:40] + "_" + hashlib.sha256(name.encode()).hexdigest()[:12]


def _publish_pg(con: duckdb.DuckDBPyConnection, specs: Mapping[str, list[ColumnSpec]], snapshot: SnapshotRow,
                engine: Any, schema: str | None) -> dict[str, int]:
    from psycopg import sql as psql

    def q(name: str) -> Any:
        return psql.Identifier(schema, name) if schema else psql.Identifier(name)

    def names(columns: Iterable[str]) -> Any:
        return psql.SQL(", ").join(psql.Identifier(c) for c in columns)

    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        pg.autocommit = False
        counts: dict[str, int] = {}
        with pg.cursor() as cur:
            cur.execute("SET LOCAL client_encoding TO 'UTF8'")
            # 1. staging tables, dropped at COMMIT
            for table, cols in specs.items():
                stage = psql.Identifier(STAGE_PREFIX + table)
                cur.execute(psql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(
                    stage, psql.SQL(", ").join(psql.SQL("{} {}").format(psql.Identifier(c.name), psql.SQL(_pg_type(c)))
                                              for c in cols)))
                reader = _arrow_reader(con, "select " + ", ".join(_pg_export_expr(c) for c in cols)
                                       + f" from main.{_duck_ident(table)}")
                options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
                rows = 0
                with cur.copy(psql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                        stage, names(c.name for c in cols))) as copy:
                    for batch in reader:
                        if batch.num_rows:
                            buf = io.BytesIO()
                            pacsv.write_csv(pa.Table.from_batches([batch]), buf, options)
                            copy.write(buf.getbuffer())
                            rows += batch.num_rows
                counts[table] = rows
            # 2. tables and columns the database does not have yet
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
            # 3. the data: what readers wait for
            staged = time.monotonic()
            cur.execute(psql.SQL("SET LOCAL lock_timeout = {}").format(psql.Literal(LOCK_TIMEOUT)))
            cur.execute(psql.SQL("DELETE FROM {}").format(q(SNAPSHOT_TABLE)))
            for table, cols in specs.items():
                cur.execute(psql.SQL("DELETE FROM {}").format(q(table)))
                cur.execute(psql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
                    q(table), names(c.name for c in cols), names(c.name for c in cols),
                    psql.Identifier(STAGE_PREFIX + table)))
            cur.execute(psql.SQL("INSERT INTO {} (snapshot_id, as_of, created_at) VALUES (%s, %s, %s)").format(
                q(SNAPSHOT_TABLE)), (snapshot.snapshot_id, snapshot.as_of, snapshot.created_at))
            for table in specs:
                cur.execute(psql.SQL("ANALYZE {}").format(q(table)))
        pg.commit()
        log.info("snapshot %s: tables replaced in %.1f s", snapshot.snapshot_id, time.monotonic() - staged)
        return counts
    except BaseException:
        try:
            raw.driver_connection.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the server rolls back anyway
            pass
        raise
    finally:
        raw.close()


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
    col = _duck_ident(c.name)
    if c.kind == "json":
        return f"to_json({col})::VARCHAR"
    if c.kind == "blob":
        return f"hex({col})"
    if c.kind == "timestamptz":
        return f"timezone('UTC', {col})"
    if c.kind == "bignum":
        return f"{col}::DECIMAL(38,0)"
    return col


def _rows(reader: pa.RecordBatchReader) -> Iterator[list[tuple]]:
    for batch in reader:
        if batch.num_rows == 0:
            continue
        cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        rows = list(zip(*cols))
        for start in range(0, len(rows), MYSQL_INSERT_ROWS):
            yield rows[start : start + MYSQL_INSERT_ROWS]


def _publish_mysql(con: duckdb.DuckDBPyConnection, specs: Mapping[str, list[ColumnSpec]], snapshot: SnapshotRow,
                   engine: Any, schema: str | None) -> dict[str, int]:
    def q(name: str) -> str:
        return f"{_my_ident(schema)}.{_my_ident(name)}" if schema else _my_ident(name)

    def names(columns: Iterable[str]) -> str:
        return ", ".join(_my_ident(c) for c in columns)

    table_options = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"
    raw = engine.raw_connection()
    try:
        my = raw.driver_connection
        my.autocommit(False)
        counts: dict[str, int] = {}
        with my.cursor() as cur:
            # 1. staging tables of this session (TEMPORARY: gone when it ends)
            for table, cols in specs.items():
                pk, indexes = key_columns(table, [c.name for c in cols])
                keyed = set(pk) | {c for ix in indexes for c in ix}
                stage = _my_ident(STAGE_PREFIX + table)
                cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {stage}")
                cur.execute(f"CREATE TEMPORARY TABLE {stage} "
                            f"({', '.join(f'{_my_ident(c.name)} {_my_type(c, c.name in keyed)}' for c in cols)}) "
                            f"{table_options}")
                reader = _arrow_reader(con, "select " + ", ".join(_my_export_expr(c) for c in cols)
                                       + f" from main.{_duck_ident(table)}")
                insert = f"INSERT INTO {stage} ({names(c.name for c in cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
                rows = 0
                for chunk in _rows(reader):
                    cur.executemany(insert, chunk)
                    rows += len(chunk)
                counts[table] = rows
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
                cur.execute(f"DELETE FROM {q(table)}")
                cur.execute(f"INSERT INTO {q(table)} ({names(c.name for c in cols)}) "
                            f"SELECT {names(c.name for c in cols)} FROM {_my_ident(STAGE_PREFIX + table)}")
            cur.execute(f"DELETE FROM {q(SNAPSHOT_TABLE)}")
            cur.execute(f"INSERT INTO {q(SNAPSHOT_TABLE)} (snapshot_id, as_of, created_at) VALUES (%s, %s, %s)",
                        (snapshot.snapshot_id, snapshot.as_of, _utc_naive(snapshot.created_at)))
        my.commit()
        log.info("snapshot %s: tables replaced in %.1f s", snapshot.snapshot_id, time.monotonic() - staged)
        return counts
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
        row = SnapshotRow(manifest["snapshot_id"], manifest["as_of"], manifest["created_at"])
        counts = publish_to_target(con, sorted(set(manifest["tables"]) - set(unchanged)), url, snapshot=row,
                                   schema=schema, retry=retry)
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
) -> dict[str, int]:
    """Publish ``tables`` (DuckDB schema ``main`` of ``con``) as ``snapshot`` to ``url``, all in one
    transaction (see the module doc); return rows per table.

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
    what = f"publish snapshot {snapshot.snapshot_id} to {mask_url(url)}"
    engine = make_engine(u)
    try:
        counts = with_retries(lambda: publish_all(con, specs, snapshot, engine, schema),
                              what=what, policy=retry, url=url)
    except SqlSourceError as exc:  # SourceUnavailable after the retries
        raise TargetError(str(exc)) from None
    except Exception as exc:
        orig = getattr(exc, "orig", None) or exc
        # a database's DETAIL may quote a row ("Failing row contains …"): masked like every message
        raise TargetError(mask_text(f"{what}: {type(orig).__name__}: {scrub(str(orig).strip(), url)}")) from None
    finally:
        engine.dispose()
    for table, n in counts.items():
        log.info("published %s to %s: %d rows", table, mask_url(url), n)
    return counts
