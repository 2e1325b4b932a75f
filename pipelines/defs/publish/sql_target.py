"""Publish DuckDB tables to a downstream database (``SSJ_TARGET_URL``), swapped in atomically.

``publish_to_target(con, tables, url)`` copies each table of the DuckDB
connection ``con`` (schema ``main``) into the database at ``url`` (any
SQLAlchemy URL; PostgreSQL through psycopg 3, MariaDB/MySQL through PyMySQL):

PostgreSQL
    One transaction per table: ``CREATE TABLE <t>__loading``, bulk-load it with
    ``COPY ... FROM STDIN (FORMAT csv)`` streamed from DuckDB in Arrow batches
    (every value rendered to text by DuckDB, written by Arrow's C++ CSV writer:
    no per-row Python), add the primary key and indexes, then drop a leftover
    ``<t>__old``, rename ``<t>`` -> ``<t>__old``, ``<t>__loading`` -> ``<t>``,
    drop ``<t>__old`` and give the constraints/indexes their final names;
    COMMIT. PostgreSQL DDL is transactional, so a reader sees the old table or
    the new one, never a mix and never no table (a query blocked on the old
    table during the rename resolves the name again once the swap commits). A
    crash anywhere before COMMIT leaves the old table untouched and no
    ``__loading`` table behind. The swap waits at most ``LOCK_TIMEOUT`` for
    long-running readers, then fails (and is retried) rather than queueing
    every new reader behind it indefinitely.

MariaDB / MySQL
    ``<t>__loading`` is created (utf8mb4, binary no-pad collation so keys
    compare exactly), filled with multi-row INSERTs in large batches
    (PyMySQL ``executemany``) and committed, then indexed; then
    ``RENAME TABLE <t> TO <t>__old, <t>__loading TO <t>`` (atomic in MariaDB)
    and ``DROP TABLE <t>__old``. A crash before the rename leaves the old table
    untouched (a stale ``__loading`` table is dropped by the next publish).

Types: VARCHAR -> TEXT (PostgreSQL) / LONGTEXT, or VARCHAR(255) for key and
indexed columns (MariaDB); integers -> BIGINT (HUGEINT/UBIGINT -> NUMERIC);
FLOAT/DOUBLE -> DOUBLE; DECIMAL(p,s) -> NUMERIC(p,s); BOOLEAN; DATE;
TIMESTAMP -> TIMESTAMP / DATETIME(6); TIMESTAMPTZ -> TIMESTAMPTZ / DATETIME(6)
in UTC; TIME; lists, structs, maps, JSON -> JSONB / JSON (JSON text);
anything else -> text.

Keys: ``KEYS`` below (data, not code): a primary key and secondary indexes per
table, created only on columns the table actually has. Connection errors
(``OperationalError``: refused, dropped, lock timeout) are retried per table
with exponential backoff (``RetryPolicy``), and a table's load is idempotent
(it starts by dropping ``<t>__loading``). Messages carry the URL with its
password masked.
"""

import hashlib
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from connectors.sql import RetryPolicy, SqlSourceError, make_engine, mask_url, normalize_url, scrub, with_retries

log = logging.getLogger(__name__)

# Primary key and indexes per published table (CONTRACT §3; issue 6).
KEYS: dict[str, dict[str, Any]] = {
    "enterprise_pool": {"primary_key": ["enterprise_id"], "indexes": [["uscc"]]},
    "joint_inspections": {"primary_key": ["joint_group_id"], "indexes": [["enterprise_id"]]},
    "draw_entries": {"indexes": [["joint_group_id"], ["enterprise_id"]]},
    "inspector_pool": {"primary_key": ["inspector_id"]},
}

BATCH_ROWS = 100_000  # Arrow batch size streamed from DuckDB
MYSQL_INSERT_ROWS = 5_000  # rows per executemany call (PyMySQL packs them into multi-row INSERTs)
MYSQL_KEY_VARCHAR = 255
LOCK_TIMEOUT = "60s"
PG_MAX_IDENT = 63


class TargetError(SqlSourceError):
    """Publishing to the target database failed; the message names the table and the (masked) URL."""


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


def _publish_pg(con: duckdb.DuckDBPyConnection, table: str, cols: list[ColumnSpec], engine: Any, schema: str | None) -> int:
    from psycopg import sql as psql

    def q(name: str) -> Any:
        return psql.Identifier(schema, name) if schema else psql.Identifier(name)

    loading, old = f"{table}__loading", f"{table}__old"
    pk, indexes = key_columns(table, [c.name for c in cols])
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        pg.autocommit = False
        with pg.cursor() as cur:
            cur.execute("SET LOCAL client_encoding TO 'UTF8'")
            cur.execute(psql.SQL("DROP TABLE IF EXISTS {}").format(q(loading)))
            cur.execute(
                psql.SQL("CREATE TABLE {} ({})").format(
                    q(loading),
                    psql.SQL(", ").join(
                        psql.SQL("{} {}").format(psql.Identifier(c.name), psql.SQL(_pg_type(c))) for c in cols
                    ),
                )
            )
            select = "select " + ", ".join(_pg_export_expr(c) for c in cols) + f" from main.{_duck_ident(table)}"
            reader = _arrow_reader(con, select)
            options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
            rows = 0
            copy_sql = psql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                q(loading), psql.SQL(", ").join(psql.Identifier(c.name) for c in cols)
            )
            with cur.copy(copy_sql) as copy:
                for batch in reader:
                    if batch.num_rows == 0:
                        continue
                    buf = io.BytesIO()
                    pacsv.write_csv(pa.Table.from_batches([batch]), buf, options)
                    copy.write(buf.getbuffer())
                    rows += batch.num_rows
            renames: list[tuple[str, str, str]] = []  # (kind, temporary name, final name)
            if pk:
                tmp, final = _short_name(f"{loading}_pkey"), _short_name(f"{table}_pkey")
                cur.execute(
                    psql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
                        q(loading), psql.Identifier(tmp), psql.SQL(", ").join(psql.Identifier(c) for c in pk)
                    )
                )
                renames.append(("constraint", tmp, final))
            for ix in indexes:
                suffix = "_".join(ix)
                tmp, final = _short_name(f"{loading}_{suffix}_idx"), _short_name(f"{table}_{suffix}_idx")
                cur.execute(
                    psql.SQL("CREATE INDEX {} ON {} ({})").format(
                        psql.Identifier(tmp), q(loading), psql.SQL(", ").join(psql.Identifier(c) for c in ix)
                    )
                )
                renames.append(("index", tmp, final))
            cur.execute(psql.SQL("ANALYZE {}").format(q(loading)))
            # The swap: everything from here to COMMIT is what readers may wait for.
            cur.execute(psql.SQL("SET LOCAL lock_timeout = {}").format(psql.Literal(LOCK_TIMEOUT)))
            cur.execute(psql.SQL("DROP TABLE IF EXISTS {}").format(q(old)))
            cur.execute(psql.SQL("ALTER TABLE IF EXISTS {} RENAME TO {}").format(q(table), psql.Identifier(old)))
            cur.execute(psql.SQL("ALTER TABLE {} RENAME TO {}").format(q(loading), psql.Identifier(table)))
            cur.execute(psql.SQL("DROP TABLE IF EXISTS {}").format(q(old)))
            for kind, tmp, final in renames:
                if kind == "constraint":
                    cur.execute(
                        psql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                            q(table), psql.Identifier(tmp), psql.Identifier(final)
                        )
                    )
                else:
                    cur.execute(psql.SQL("ALTER INDEX {} RENAME TO {}").format(q(tmp), psql.Identifier(final)))
        pg.commit()
        return rows
    except BaseException:
        try:
            raw.driver_connection.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the server rolls back anyway
            pass
        raise
    finally:
        raw.close()


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


def _publish_mysql(con: duckdb.DuckDBPyConnection, table: str, cols: list[ColumnSpec], engine: Any, schema: str | None) -> int:
    def q(name: str) -> str:
        return f"{_my_ident(schema)}.{_my_ident(name)}" if schema else _my_ident(name)

    loading, old = f"{table}__loading", f"{table}__old"
    pk, indexes = key_columns(table, [c.name for c in cols])
    keyed = set(pk) | {c for ix in indexes for c in ix}
    raw = engine.raw_connection()
    try:
        my = raw.driver_connection
        my.autocommit(False)
        with my.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {q(loading)}")
            defs = [f"{_my_ident(c.name)} {_my_type(c, c.name in keyed)}" for c in cols]
            if pk:
                defs.append(f"PRIMARY KEY ({', '.join(_my_ident(c) for c in pk)})")
            cur.execute(
                f"CREATE TABLE {q(loading)} ({', '.join(defs)}) "
                "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"
            )
            select = "select " + ", ".join(_my_export_expr(c) for c in cols) + f" from main.{_duck_ident(table)}"
            reader = _arrow_reader(con, select)
            insert = (
                f"INSERT INTO {q(loading)} ({', '.join(_my_ident(c.name) for c in cols)}) "
                f"VALUES ({', '.join(['%s'] * len(cols))})"
            )
            rows = 0
            for chunk in _rows(reader):
                cur.executemany(insert, chunk)
                rows += len(chunk)
            my.commit()
            for ix in indexes:
                name = "ix_" + "_".join(ix)
                cur.execute(f"ALTER TABLE {q(loading)} ADD INDEX {_my_ident(name[:64])} ({', '.join(_my_ident(c) for c in ix)})")
            cur.execute(f"DROP TABLE IF EXISTS {q(old)}")
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = COALESCE(%s, DATABASE()) "
                "AND table_name = %s",
                (schema, table),
            )
            exists = cur.fetchone()[0] > 0
            if exists:
                cur.execute(f"RENAME TABLE {q(table)} TO {q(old)}, {q(loading)} TO {q(table)}")
                cur.execute(f"DROP TABLE {q(old)}")
            else:
                cur.execute(f"RENAME TABLE {q(loading)} TO {q(table)}")
        my.commit()
        return rows
    except BaseException:
        try:
            raw.driver_connection.rollback()
        except Exception:  # noqa: BLE001
            pass
        raise
    finally:
        raw.close()


# --------------------------------------------------------------------------- entry point


def publish_to_target(
    con: duckdb.DuckDBPyConnection,
    tables: list[str],
    url: str,
    *,
    schema: str | None = None,
    retry: RetryPolicy | None = None,
) -> dict[str, int]:
    """Publish each of ``tables`` (DuckDB schema ``main``) to ``url``; return rows per table.

    ``schema``: PostgreSQL schema / MariaDB database to publish into (default:
    the connection's ``search_path`` / the URL's database). Raises
    ``TargetError`` (URL masked) if a table cannot be published; tables already
    swapped in stay published, the failing one keeps its previous version.
    """
    retry = retry or RetryPolicy()
    u = normalize_url(url)
    backend = u.get_backend_name()
    if backend == "postgresql":
        publish_one = _publish_pg
    elif backend in ("mysql", "mariadb"):
        publish_one = _publish_mysql
    else:
        raise TargetError(f"target {mask_url(url)}: unsupported database {backend!r} (PostgreSQL or MariaDB/MySQL)")
    engine = make_engine(u)
    counts: dict[str, int] = {}
    try:
        for table in tables:
            cols = duckdb_columns(con, table)
            if not cols:
                raise TargetError(f"publish {table} to {mask_url(url)}: no table main.{table} in DuckDB")
            what = f"publish {table} to {mask_url(url)}"
            try:
                counts[table] = with_retries(
                    lambda t=table, c=cols: publish_one(con, t, c, engine, schema), what=what, policy=retry, url=url
                )
            except TargetError:
                raise
            except SqlSourceError as exc:  # SourceUnavailable after the retries
                raise TargetError(str(exc)) from None
            except Exception as exc:
                orig = getattr(exc, "orig", None) or exc
                raise TargetError(f"{what}: {type(orig).__name__}: {scrub(str(orig).strip(), url)}") from None
            log.info("published %s to %s: %d rows", table, mask_url(url), counts[table])
    finally:
        engine.dispose()
    return counts
