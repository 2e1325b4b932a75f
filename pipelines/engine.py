"""The engine that runs the dbt models: DuckDB (the default, embedded) or Spark.

``SSJ_ENGINE`` chooses it (``duckdb`` or ``spark``; docs/engines.md). The same dbt
project runs on both — dbt's target is the engine's name (dbt_project/profiles.yml),
and the SQL that differs between them is in ``adapter.dispatch`` macros — and the
same inputs give the same rows. Everything on the Python side that depends on the
engine asks this module: which dbt target to run, how to reach the tables the
models built, which tables there are, and a table's rows (as Arrow).

Spark runs through dbt-spark's ``session`` method: dbt runs in this process and
uses the SparkSession this module opens (``spark_session``) — local by default
(``local[2]``), the master or Spark Connect server of ``SSJ_SPARK_MASTER`` /
``SPARK_REMOTE`` otherwise. The session carries what DuckDB gets from
pipelines/udfs.py: the run's values (``ssj.raw_dir``, ``ssj.as_of``: session
settings the models read through Spark's ``${…}`` substitution, at run time) and
the Python functions the models call (``nfkc``, ``mask_personal`` …), as Arrow
UDFs over the very same functions. pyspark is the optional ``spark`` extra
(``make install-spark``); nothing imports it unless the Spark engine is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

ENGINES = ("duckdb", "spark")
DEFAULT = "duckdb"
SCHEMA = "main"
"""The schema (Spark: database) every model, seed and snapshot table is built in."""


class EngineError(RuntimeError):
    """The engine asked for cannot be used here; the message says what to do."""


def engine_name(environ: dict | None = None) -> str:
    """``SSJ_ENGINE`` in any case, blanks trimmed (``duckdb`` when unset, empty or blank);
    anything else is refused. dbt_project/profiles.yml reads it the same way."""
    name = ((environ if environ is not None else os.environ).get("SSJ_ENGINE") or "").strip().lower() or DEFAULT
    if name not in ENGINES:
        raise EngineError(f"SSJ_ENGINE={name!r} is not an engine; use one of {', '.join(ENGINES)}")
    return name


SPARK_SO_FAR = ("the seeds, the staging models, every intermediate model but int_draw__* and int_results__resolved, "
                "and the marts enterprise_pool, enterprise_credit_grades and enterprise_tags")
"""What runs on Spark so far (docs/engines.md, tests/integration/test_engines.py)."""


def pipeline_refusal(environ: dict | None = None) -> str | None:
    """Why the pipeline (``ssj run``, ``ssj draw``, the UI's jobs) cannot build on the engine
    ``SSJ_ENGINE`` names; None when it can. Only DuckDB builds the whole project yet: on
    Spark a run would fail at the first model without a Spark formulation, after
    ingesting, and publish nothing — so it does not start."""
    try:
        name = engine_name(environ)
    except EngineError as exc:
        return str(exc)
    if name == "spark":
        return (f"SSJ_ENGINE=spark: the pipeline builds and publishes on DuckDB only so far (on Spark: "
                f"{SPARK_SO_FAR}; docs/engines.md); unset SSJ_ENGINE to run on DuckDB")
    return None


def refuse_pipeline(environ: dict | None = None) -> None:
    """Raise ``EngineError`` with ``pipeline_refusal``'s message when the pipeline cannot
    build on ``SSJ_ENGINE``'s engine: what the Dagster code location does as it loads
    (pipelines/definitions.py: ``dagster dev``, the daemon's schedules and sensors) and
    the ingest assets do before touching a file — as ``ssj`` does before a command."""
    if (refusal := pipeline_refusal(environ)) is not None:
        raise EngineError(refusal)


@dataclass(frozen=True)
class Engine:
    """One engine as the Python side sees it."""

    name: str

    @property
    def dbt_target(self) -> str:
        """The output of profiles.yml dbt runs on (its name is the engine's)."""
        return self.name

    def prepare(self, warehouse: Path, as_of: date | str | None = None) -> None:
        """Make the engine ready for a dbt command on ``warehouse`` in this process (Spark:
        the session dbt-spark's ``session`` method picks up, with the run's values and the
        project's functions). DuckDB needs nothing: its dbt plugin does it per connection."""
        if self.name == "spark":
            spark_session(warehouse, as_of)
            prepare_spark_raw(warehouse)

    def tables(self, warehouse: Path) -> list[str]:
        """The tables and views of the models' schema, sorted."""
        if self.name == "spark":
            session = spark_session(warehouse)
            return sorted(t.name for t in session.catalog.listTables(SCHEMA))
        from pipelines.warehouse import open_warehouse

        with open_warehouse(warehouse, lock=False) as con:
            return sorted(r[0] for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ?", [SCHEMA]).fetchall())

    def read_table(self, warehouse: Path, name: str) -> pa.Table:
        """Every row of one table of the models' schema, as Arrow."""
        if self.name == "spark":
            return spark_session(warehouse).table(f"{SCHEMA}.{name}").toArrow()
        from pipelines.warehouse import open_warehouse

        with open_warehouse(warehouse, lock=False) as con:
            return con.sql(f'select * from {SCHEMA}."{name}"').to_arrow_table()


def current(environ: dict | None = None) -> Engine:
    """The engine ``SSJ_ENGINE`` names."""
    return Engine(engine_name(environ))


# ------------------------------------------------------------------ Spark


def spark_available() -> bool:
    """Whether pyspark and dbt-spark are installed (the ``spark`` extra)."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


def spark_dir(warehouse: Path) -> Path:
    """Where a local Spark keeps the warehouse's tables and their catalog (a Hive
    metastore in Derby): ``<warehouse>/spark``, beside ``ssj.duckdb``."""
    return Path(warehouse).resolve() / "spark"


def _spark_home(warehouse: Path) -> Path:
    """``spark_dir``, refused when Spark's settings cannot hold its path as it is: it goes
    unquoted into the JVM's options (``-Dderby.system.home=…``, split at white space) and
    into Derby's JDBC URL (``;`` starts an attribute), and Spark substitutes ``${…}`` in
    its settings."""
    home = spark_dir(warehouse)
    text = str(home)
    if any(c.isspace() for c in text) or ";" in text or "${" in text:
        raise EngineError(f"the Spark engine cannot use the warehouse {text!r}: its path holds white space, "
                          "';' or '${', which the JVM's options and Derby's JDBC URL would split or substitute; "
                          "choose a warehouse path without them (SSJ_WAREHOUSE or --warehouse)")
    return home


def spark_settings(warehouse: Path) -> dict[str, str]:
    """The settings of the local session (``spark_session``). Small on purpose: a
    machine's cores are shared with ingestion and dbt's own threads. Everything Spark
    writes stays under ``<warehouse>/spark``: its tables, its catalog, and its scratch
    space (``spark.local.dir``: shuffle and spill files hold the raw values)."""
    home = _spark_home(warehouse)
    return {
        "spark.master": os.environ.get("SSJ_SPARK_MASTER", "local[2]"),
        "spark.app.name": "shuangsuiji",
        "spark.driver.memory": os.environ.get("SSJ_SPARK_MEMORY", "1g"),
        "spark.sql.shuffle.partitions": os.environ.get("SSJ_SPARK_PARTITIONS", "2"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(home / "tables"),
        "spark.local.dir": str(home / "tmp"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={home}",
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true",
        # DuckDB's TIMESTAMP is a wall-clock time without a zone: so is Spark's TIMESTAMP_NTZ
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.session.timeZone": "UTC",
        "spark.log.level": "ERROR",
    }


_SESSION: dict[str, object] = {}


def spark_session(warehouse: Path, as_of: date | str | None = None) -> "SparkSession":
    """The process's SparkSession for ``warehouse``: opened on first use (local Spark,
    ``spark_settings``) with the project's functions registered and the run's values:
    ``ssj.raw_dir`` (``<warehouse>/raw``) and ``ssj.as_of`` (``as_of``, else
    ``SSJ_AS_OF``, else today); a later call with ``as_of`` sets that date. dbt-spark's
    ``session`` method finds it through ``SparkSession.builder.getOrCreate()``. One JVM serves the process: a second
    warehouse in the same process is refused (its catalog is another Derby database)."""
    settings = spark_settings(warehouse)  # a path Spark's settings would split is refused first
    if not spark_available():
        raise EngineError("SSJ_ENGINE=spark needs pyspark and dbt-spark: `make install-spark` "
                          "(pip install -c requirements.lock -e '.[spark]')")
    from pyspark.sql import SparkSession

    warehouse = Path(warehouse).resolve()
    opened = _SESSION.get("warehouse")
    if opened is not None and opened != warehouse:
        raise EngineError(f"this process's Spark session serves {opened}; {warehouse} needs a process of its own")
    session = _SESSION.get("session")
    if session is None:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the UDFs' workers: this interpreter
        _spark_home(warehouse).mkdir(parents=True, exist_ok=True)
        builder = SparkSession.builder.enableHiveSupport()
        if os.environ.get("SPARK_REMOTE"):  # Spark Connect: the server owns its master and catalog
            settings = {k: v for k, v in settings.items() if k.startswith("spark.sql.") and k != "spark.sql.warehouse.dir"}
        for key, value in settings.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        register_functions(session)
        session.sql(f"create database if not exists {SCHEMA}")
        _SESSION.update(session=session, warehouse=warehouse)
        session.conf.set("ssj.raw_dir", str(warehouse / "raw"))
        as_of = as_of or os.environ.get("SSJ_AS_OF") or date.today().isoformat()
    if as_of is not None:
        session.conf.set("ssj.as_of", date.fromisoformat(str(as_of)).isoformat())
    return session


def register_functions(session: "SparkSession") -> None:
    """The functions pipelines/udfs.py gives DuckDB, on ``session``: the same Python
    (Arrow) functions, as vectorised UDFs, under the same names. ``mask_personal`` and
    ``has_id_number`` — SQL macros on DuckDB, calling Python only for the values RE2
    finds a digit run in — are the Python functions themselves here: they make the
    same RE2 scan (pyarrow's) before calling Python on a value; ``mask_split_ids`` and
    ``holds_split_id`` and ``json_may_hold_split_id`` too (Python's own count of digits in
    place of the RE2 guard); ``mask_personal_few`` is ``mask_personal``. Then the JSON columns'
    functions (``ssj_raw_json``, ``ssj_extra_json``, ``ssj_json_text``) and the constant macros
    (``spark_function_ddl``)."""
    import warnings

    from pyspark.sql.functions import ArrowUDFType, arrow_udf as _arrow_udf
    from pyspark.sql.types import ArrayType, BooleanType, StringType

    from pipelines import spark_json, udfs

    def arrow_udf(function, returns, kind):
        with warnings.catch_warnings():  # the functions' arrays are typed by pipelines/udfs.py, not by hints
            warnings.simplefilter("ignore", UserWarning)
            return _arrow_udf(function, returns, kind)

    for name, function, returns in [
        ("nfkc", udfs.nfkc, StringType()),
        ("matches_pattern", udfs.matches_pattern, BooleanType()),
        ("mask_personal", udfs.mask_personal, StringType()),
        ("mask_personal_few", udfs.mask_personal, StringType()),
        ("mask_personal_value", udfs.mask_personal_value, StringType()),
        ("has_id_number", udfs.has_id_number, BooleanType()),
        ("mask_split_ids", udfs.mask_split_ids, ArrayType(StringType())),
        ("holds_split_id", udfs.holds_split_id, BooleanType()),
        ("json_may_hold_split_id", udfs.json_may_hold_split_id, BooleanType()),
        ("ssj_has_id_run", has_id_run, BooleanType()),
        ("is_personal_header", udfs.is_personal_header, BooleanType()),
        ("is_code_header", udfs.is_code_header, BooleanType()),
    ]:
        session.udf.register(name, arrow_udf(function, returns, ArrowUDFType.SCALAR))
    # the staging models' JSON columns, written by DuckDB's own macros (pipelines/spark_json.py)
    session.udf.register("ssj_raw_json", arrow_udf(spark_json.raw_json, StringType(), ArrowUDFType.SCALAR))
    session.udf.register("ssj_extra_json", arrow_udf(spark_json.extra_json, StringType(), ArrowUDFType.SCALAR))
    session.udf.register("ssj_json_text", arrow_udf(spark_json.json_text, StringType(), ArrowUDFType.SCALAR))
    for sql in spark_function_ddl():
        session.sql(sql)


def has_id_run(values: pa.Array) -> pa.Array:
    """Whether each text may hold a digit run (``ID_RUN_GUARD_RE2``, pyarrow's RE2, false for NULL):
    the exact answer DuckDB's ``regexp_matches(text, ssj_id_run_pattern())`` gives, for
    the Spark session (``ssj_has_id_run``)."""
    from pipelines import udfs

    return udfs._with_id_run(udfs._string_array(values))


def spark_function_ddl() -> list[str]:
    """The SQL macros of pipelines/udfs.py that are constants, as Spark SQL functions of the
    session: ``ssj_personal_header_pattern()`` and ``ssj_split_id_pattern()`` (the same
    patterns: RE2's syntax for them is Java's too — Unicode classes, literal characters in
    a class, ``(?i:…)``),
    ``ssj_personal_columns(feed)`` (feeds.yaml's personal columns); and ``array_to_string``, the DuckDB function a model's own SQL
    calls, as Spark's array_join."""
    from connectors import personal
    from connectors.feeds import feeds
    from pipelines.udfs import personal_header_prefilter

    columns = ", ".join(f"{_quote(name)}, array({', '.join(_quote(c) for c in feed.personal)})"
                        for name, feed in feeds().items())
    create = "create or replace temporary function"
    return [
        f"{create} ssj_personal_header_pattern() returns string return {_quote(personal_header_prefilter())}",
        # a bounded repeat (15): Java's depth stays 15 whatever the text
        f"{create} ssj_split_id_pattern() returns string return {_quote(personal.SPLIT_GUARD_RE2)}",
        f"{create} ssj_personal_columns(feed string) returns array<string> "
        f"return coalesce(cast(map({columns}) as map<string, array<string>>)[feed], cast(array() as array<string>))",
        # DuckDB's name for Spark's array_join (NULL elements left out, by both)
        f"{create} array_to_string(list array<string>, separator string) returns string "
        f"return array_join(list, separator)",
    ]


# ------------------------------------------------------------------ the raw store on Spark

RAW_SCHEMA = "raw"
"""The schema (Spark: database) of the dbt source ``raw``: one table per raw-store folder."""

LEDGER_COLUMNS = {
    "path": "string", "agency": "string", "feed": "string", "sha256": "string", "bytes": "bigint",
    "mtime_ns": "bigint", "mtime": "timestamp", "status": "string", "rows_read": "bigint", "error_code": "string",
    "error": "string", "duplicate_of": "string", "format": "string", "encoding": "string", "headers": "string",
    "first_seen_at": "timestamp", "processed_at": "timestamp",
}
"""The ledger entries' columns, as the DuckDB source ``raw.ledger`` reads them (models/staging/__sources.yml);
``headers`` (DuckDB: JSON) is its JSON text."""


def _spark_type(field: pa.Field) -> str:
    if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
        return "string"
    if pa.types.is_int64(field.type):
        return "bigint"
    if pa.types.is_timestamp(field.type) and field.type.tz is None:
        return "timestamp_ntz"
    raise EngineError(f"the raw store's column {field.name} has a type ({field.type}) with no Spark twin here")


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def spark_raw_ddl(warehouse: Path) -> list[str]:
    """The statements that make the raw store the source ``raw`` on Spark: one external
    table per folder, over the files in place (never copied), dropped and made again at
    every build — what DuckDB's ``read_parquet`` / ``read_json`` globs do in
    __sources.yml. A feed's table has the feed's schema (``raw_schema``) whatever files
    hold: a column a file lacks reads as NULL, as with ``union_by_name``. Spark leaves
    out files whose names start with ``_`` or ``.`` (a feed's ``_empty.parquet``, the
    ledger's placeholder, an ingestion's temporary file): the schema given here is what
    keeps an empty feed readable."""
    from connectors.feeds import FEED_NAMES
    from pipelines.defs.ingest.raw_store import ledger_dir, raw_dir, raw_schema

    raw = raw_dir(Path(warehouse).resolve())
    statements = [f"create database if not exists {RAW_SCHEMA}"]

    def table(name: str, columns: str | None, using: str, location: Path, **options: str) -> None:
        opts = ", ".join(f"{k} {_quote(v)}" for k, v in options.items())
        statements.append(f"drop table if exists {RAW_SCHEMA}.{name}")
        statements.append(f"create table {RAW_SCHEMA}.{name} {f'({columns}) ' if columns else ''}using {using}"
                          f"{f' options ({opts})' if opts else ''} location {_quote(str(location))}")

    for feed in FEED_NAMES:
        columns = ", ".join(f"`{f.name}` {_spark_type(f)}" for f in raw_schema(feed))
        table(feed, columns, "parquet", raw / feed, pathGlobFilter="*.parquet")
    table("ledger", ", ".join(f"`{c}` {t.replace('timestamp', 'timestamp_ntz')}" for c, t in LEDGER_COLUMNS.items()),
          "json", ledger_dir(raw.parent), pathGlobFilter="*.json", multiLine="true",
          timestampNTZFormat="yyyy-MM-dd[ ][\'T\']HH:mm:ss[.SSSSSS]")
    table("agencies", None, "parquet", raw / "_registry" / "agencies.parquet")
    table("calendar", None, "parquet", raw / "_calendar" / "working_days.parquet")
    return statements


def prepare_spark_raw(warehouse: Path) -> None:
    """Run ``spark_raw_ddl`` on the process's session."""
    session = spark_session(warehouse)
    for sql in spark_raw_ddl(warehouse):
        session.sql(sql)


# ------------------------------------------------------------------ the same rows on both

def _plain(value):
    """A value as both engines' Arrow rows give it, in one form: integral decimals and
    integers alike (DuckDB's SUM of integers is a HUGEINT, Spark's a BIGINT), floats to
    15 significant digits, dates and times as ISO text, maps as sorted pairs."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else format(value.normalize(), "f")
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else format(value, ".15g")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):  # an Arrow map
            return {str(k): _plain(v) for k, v in value}
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _row_text(row: dict, names: list[str]) -> str:
    return json.dumps({n: _plain(row[n]) for n in names}, ensure_ascii=False, sort_keys=True)


def row_hashes(table: pa.Table) -> Counter[str]:
    """Each distinct row's SHA-256 (its values by column name, ``_plain``) → how many times
    it occurs: what two engines' tables must share to hold the same rows, in any order."""
    names = table.column_names
    return Counter(hashlib.sha256(_row_text(row, names).encode()).hexdigest() for row in table.to_pylist())


def table_differences(left: pa.Table, right: pa.Table, *, names=("duckdb", "spark"), show: int = 3) -> list[str]:
    """What differs between two engines' copies of one table: its columns, its row count,
    and a few of the rows one holds more often than the other, each once, every digit run
    in them masked (``mask_text``, as the pipeline's own messages): empty, the same rows."""
    from connectors.personal import mask_text  # a test failure's message: no personal number in full

    a, b = names
    if sorted(left.column_names) != sorted(right.column_names):
        return [f"columns differ: {a} {left.column_names}, {b} {right.column_names}"]
    found = []
    if left.num_rows != right.num_rows:
        found.append(f"{a} has {left.num_rows} rows, {b} {right.num_rows}")
    lh, rh = row_hashes(left), row_hashes(right)
    for table, extra, label in ((left, lh - rh, a), (right, rh - lh, b)):
        shown: set[str] = set()
        for row in table.to_pylist():
            text = _row_text(row, table.column_names)
            digest = hashlib.sha256(text.encode()).hexdigest()
            if len(shown) < show and digest in extra and digest not in shown:
                found.append(f"only in {label}: {mask_text(text)}")
                shown.add(digest)
    return found
