"""Great Expectations suites (``expectations/<feed>.json``) as blocking asset checks on ``stg_<feed>``.

What is validated: the *accepted* rows of each staging table (``where is_accepted``),
the rows everything downstream builds on — of an incremental staging table
(stg_draw_list), only its newest batch (see ``_rows_to_validate``). Quarantined rows are already explained
by their reason codes and are not validated again.

Why it is written by hand: ``dagster-ge`` supports only GX < 1.0, and GX 1.x
against DuckDB through SQLAlchemy is broken upstream. So the suite runs on pandas
dataframes: an ephemeral GX context (no analytics, no progress bars, nothing on
disk or on the network), one pandas datasource with one dataframe asset and a
whole-dataframe batch definition, built once per process and reused for every
chunk.

Severity: every expectation is blocking (``error``) unless its ``meta.severity``
is ``warn`` (GX's own ``severity: warning`` is honoured too). The rule the suites
follow: *error* = an invariant staging guarantees for accepted rows (non-null keys,
code formats behind the check digits, value sets, window_end >= window_start), so
a failure means staging is wrong and downstream must not run; *warn* = plausibility
that staging does not enforce (dates after 2100, region-code layout, a key twice
within one file), reported but never stopping a run — a data problem belongs in
quarantine, not in a failed run (contract §4).

Scale: ``validate_table`` reads only the columns the suite names, as Arrow record
batches of ``chunk_rows``, validates each chunk with GX and adds the counts up. A
check (``validate_warehouse``) does the same in worker processes, off the Dagster
process: one rowid range of the rows per worker, side by side, the tallies added
up in row order.
Key uniqueness cannot be judged chunk by chunk (two copies of a key may sit in
different chunks), so uniqueness expectations are evaluated by one DuckDB
``GROUP BY`` over the whole table instead, counting rows the way GX does (every
row of a duplicated combination). ``validate_frame`` runs them in GX.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa

from connectors.feeds import FEED_NAMES
from connectors.personal import mask_text
from pipelines.locks import warehouse_lock
from pipelines.settings import PROJECT_ROOT, SsjSettings
from pipelines.warehouse import open_warehouse

if TYPE_CHECKING:  # GX takes ~2 s to import: only when a check runs, never when definitions load
    import great_expectations as gx

FEEDS = FEED_NAMES
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SAMPLE_SIZE = 5  # unexpected values kept per expectation
CHUNK_ROWS = 500_000  # rows GX validates at once (one pandas frame)
WORKERS = max(1, min(2, os.cpu_count() or 1))  # GX worker processes: each validates its own rows on one core
UNIQUENESS = frozenset({"expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"})
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{4})[0-9A-Za-z]{10}([0-9A-Za-z]{4})(?![0-9A-Za-z])")


# ------------------------------------------------------------------ results --


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict over all rows validated."""

    expectation: str  # GX expectation type, e.g. expect_column_values_to_match_regex
    columns: tuple[str, ...]
    severity: str  # "error" (blocking) or "warn"
    success: bool
    unexpected_count: int = 0
    unexpected_values: tuple[Any, ...] = ()  # a few, ID-shaped values masked
    observed_value: Any = None
    exception: str | None = None

    @property
    def column_label(self) -> str:
        return ", ".join(self.columns)

    @property
    def blocking(self) -> bool:
        return self.severity == "error"


@dataclass
class ValidationSummary:
    feed: str
    rows_validated: int
    results: list[ExpectationOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.failed if r.blocking]

    @property
    def success(self) -> bool:
        """True when no blocking (error) expectation failed; warnings do not count."""
        return not self.blocking_failures

    @property
    def all_passed(self) -> bool:
        return not self.failed

    def describe(self) -> str:
        """One line naming each failed expectation, its column(s) and its unexpected row count."""
        if self.all_passed:
            return f"all {len(self.results)} expectations of suite {self.feed} passed on {self.rows_validated:,} accepted rows"
        parts = []
        for r in self.failed:
            what = f"{r.expectation}({r.column_label}) failed on {_rows(r)}"
            parts.append(what if r.blocking else what + " [warn]")
        blocking = len(self.blocking_failures)
        head = (f"{blocking} blocking expectation(s) failed" if blocking else "only warnings failed") + (
            f" in suite {self.feed} ({self.rows_validated:,} accepted rows): ")
        return head + "; ".join(parts)

    def markdown(self) -> str:
        if self.all_passed:
            return "all expectations passed"
        lines = ["| expectation | column | unexpected rows | severity | sample |", "|---|---|---|---|---|"]
        for r in self.failed:
            sample = ", ".join(str(v) for v in r.unexpected_values) or (r.exception or _short(r.observed_value))
            lines.append(f"| {r.expectation} | {r.column_label} | {_rows(r)} | {r.severity} | {_md_cell(sample)} |")
        return "\n".join(lines)


def _rows(r: ExpectationOutcome) -> str:
    if r.exception:
        return f"error ({mask_text(r.exception)[:80]})"
    return f"{r.unexpected_count:,} row" + ("" if r.unexpected_count == 1 else "s")


def _short(value: Any) -> str:
    return "" if value is None else str(value)[:80]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def mask_id_like(value: Any) -> Any:
    """Digit runs masked as everywhere (connectors.personal), and any other 18-character code
    (a USCC as much as a 身份证号) as first 4 + **** + last 4: samples are for finding rows, not reading them."""
    if isinstance(value, str):
        return _ID_LIKE.sub(r"\1****\2", mask_text(value))
    if isinstance(value, dict):
        return {mask_id_like(k): mask_id_like(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_id_like(v) for v in value)
    if isinstance(value, datetime):  # pandas Timestamps too; DATE columns are validated as midnight timestamps
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return mask_id_like(value.tolist())
    return value


# -------------------------------------------------------------------- suites --


def suite_path(feed: str) -> Path:
    if feed not in FEEDS:
        raise ValueError(f"unknown feed {feed!r}; expected one of {', '.join(FEEDS)}")
    return EXPECTATIONS_DIR / f"{feed}.json"


def load_suite(feed: str) -> gx.ExpectationSuite:
    """The feed's suite from ``expectations/<feed>.json``; a malformed expectation is an error, never skipped."""
    import great_expectations as gx

    path = suite_path(feed)
    doc = json.loads(path.read_text(encoding="utf-8"))
    suite = gx.ExpectationSuite(**doc)
    # ExpectationSuite logs and DROPS expectations it cannot build: refuse a silently shorter suite
    if len(suite.expectations) != len(doc.get("expectations", [])):
        built = {e.expectation_type for e in suite.expectations}
        bad = [e.get("type") for e in doc.get("expectations", []) if e.get("type") not in built]
        raise ValueError(f"{path}: {len(doc['expectations']) - len(suite.expectations)} expectation(s) invalid: {bad}")
    return suite


def severity_of(expectation: Any) -> str:
    """``warn`` when meta.severity says so (or GX's own severity is warning/info), else ``error``."""
    meta = getattr(expectation, "meta", None) or {}
    sev = str(meta.get("severity", "")).lower()
    if sev in ("warn", "warning", "info"):
        return "warn"
    if sev in ("error", "critical"):
        return "error"
    native = str(getattr(getattr(expectation, "severity", None), "value", "critical")).lower()
    return "warn" if native in ("warning", "info") else "error"


def _columns_of(kwargs: dict) -> tuple[str, ...]:
    if "column" in kwargs:
        return (kwargs["column"],)
    if "column_list" in kwargs:
        return tuple(kwargs["column_list"])
    return tuple(kwargs[k] for k in ("column_A", "column_B") if k in kwargs)


def suite_columns(suite: gx.ExpectationSuite, *, skip_types: Iterable[str] = ()) -> list[str]:
    """Columns the suite's expectations read, in first-seen order."""
    skip = set(skip_types)
    seen: dict[str, None] = {}
    for exp in suite.expectations:
        if exp.expectation_type not in skip:
            for c in _columns_of(exp.configuration.kwargs):
                seen.setdefault(c, None)
    return list(seen)


def _date_columns(suite: gx.ExpectationSuite) -> set[str]:
    """Columns the suite treats as dates (type_list 'date', or between with ISO-date bounds)."""
    out = set()
    for exp in suite.expectations:
        kw = exp.configuration.kwargs
        if exp.expectation_type == "expect_column_values_to_be_in_type_list" and any(
            t.startswith(("datetime", "date")) for t in kw.get("type_list") or []
        ):
            out.add(kw["column"])
        if exp.expectation_type == "expect_column_values_to_be_between" and any(
            isinstance(kw.get(k), (date, str)) for k in ("min_value", "max_value")
        ):
            out.add(kw["column"])
    return out


# ------------------------------------------------------------------- runtime --


@dataclass
class _Runtime:
    context: Any
    batch_definition: Any


_RUNTIME_LOCK = threading.Lock()


def _runtime() -> _Runtime:
    """The process's GX context, built once (a check waits for a warm-up that is building it)."""
    with _RUNTIME_LOCK:
        return _new_runtime()


def warm_up(workers: int | None = None) -> None:
    """Start the worker processes the checks run in, and have them import GX and build their contexts.

    GX costs ~3 s of one core in pure-Python import and set-up. dbt runs in the Dagster
    process (pipelines/defs/dbt/in_process.py): a thread importing GX there would take
    turns with dbt for the interpreter lock. Started as staging starts, the workers
    do it beside it, and the checks find them ready. ``workers``: how many to start
    now (all by default; a build staging one small batch needs one).
    """
    pool = _worker()
    for _ in range(min(workers or WORKERS, WORKERS)):
        pool.submit(_warm)


def shut_down() -> None:
    """Stop the workers (the marts step does, before its joins: every suite gates the marts)."""
    global _WORKER
    with _WORKER_LOCK:
        worker, _WORKER = _WORKER, None
    if worker is not None:
        worker.shutdown(wait=False, cancel_futures=True)


def validate_warehouse(feed: str, warehouse: Path, chunk_rows: int = CHUNK_ROWS) -> ValidationSummary:
    """``validate_table`` on the warehouse, computed by the workers; the caller holds the writer lock.

    GX validates a chunk on one core (pandas). The rows are cut into one rowid range
    per worker, the ranges validated side by side and their tallies added up in row
    order — the same summary as one process gives (tests/unit/test_gx_checks.py);
    the uniqueness queries run in whichever worker is free first.
    """
    start = time.perf_counter()
    pool, wh = _worker(), str(warehouse)
    try:
        ranges = pool.submit(_in_worker, _row_ranges, feed, wh, WORKERS, chunk_rows).result()
        if len(ranges) == 1:  # too few rows to split: one task, so one worker is enough
            return pool.submit(_in_worker, validate_table, feed, wh, chunk_rows).result()
        parts = [pool.submit(_in_worker, _row_tallies, feed, wh, chunk_rows, r) for r in ranges]
        uniqueness = pool.submit(_in_worker, _uniqueness, feed, wh)
        return _summary(feed, [p.result() for p in parts], uniqueness.result(), start)
    except BrokenProcessPool as exc:
        shut_down()
        raise RuntimeError(f"a Great Expectations worker died while validating stg_{feed} "
                           "(killed, or out of memory: see SSJ_DUCKDB_MEMORY)") from exc


_WORKER: ProcessPoolExecutor | None = None
_WORKER_LOCK = threading.Lock()


def _worker() -> ProcessPoolExecutor:
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None:
            _WORKER = ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn"))
        return _WORKER


def _warm() -> None:
    _runtime()


def _in_worker(task: Callable[..., Any], feed: str, warehouse: str, *args: Any) -> Any:
    """``task(feed, con, *args)`` on a read-only connection (the caller holds the writer lock)."""
    try:
        with open_warehouse(Path(warehouse), lock=False) as con:
            return task(feed, con, *args)
    except Exception as exc:  # GX's and DuckDB's exceptions need not survive pickling back
        raise RuntimeError(mask_text(f"{type(exc).__name__}: {exc}")) from None


@cache
def _new_runtime() -> _Runtime:
    """One ephemeral GX context per process: analytics off, progress bars off, stores in memory."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # before GX reads it; config below decides anyway
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from great_expectations.execution_engine import pandas_execution_engine

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    # GX fingerprints every frame under HASH_THRESHOLD bytes when it loads it (pandas' hash
    # of every cell, then MD5) for a batch marker nothing here reads: 45% of validating a
    # 500k-row registration chunk. No frame is that small now: no fingerprint.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            store_backend_defaults=InMemoryStoreBackendDefaults(),
        ),
    )
    asset = context.data_sources.add_pandas("ssj_frames").add_dataframe_asset("frame")
    return _Runtime(context=context, batch_definition=asset.add_batch_definition_whole_dataframe("whole_frame"))


RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": SAMPLE_SIZE}


_NS_MIN, _NS_MAX = pd.Timestamp.min, pd.Timestamp.max


def _prepare(df: pd.DataFrame, date_columns: set[str]) -> pd.DataFrame:
    """Date columns as ``datetime64[ns]`` — the only dtype GX's ``between`` compares vectorised.

    DATE values beyond 2262-04-11 (``9999-12-31`` = 长期, no expiry) do not fit in
    nanoseconds: such a column falls back to Python ``datetime`` objects (correct, slower).
    """
    out = df
    for col in date_columns & set(df.columns):
        converted = _timestamps(df[col])
        if converted is not df[col]:
            out = df.copy() if out is df else out
            out[col] = converted
    return out


def _timestamps(s: pd.Series) -> pd.Series:
    if s.dtype == object:
        try:
            s = pd.to_datetime(s)
        except (TypeError, ValueError):  # OutOfBoundsDatetime is a ValueError
            return pd.Series(
                [datetime(v.year, v.month, v.day) if isinstance(v, date) and not isinstance(v, datetime) else v for v in s],
                index=s.index, dtype=object,
            )
    if not pd.api.types.is_datetime64_dtype(s.dtype) or s.dtype == "datetime64[ns]":
        return s  # not a naive datetime column: leave it, the type expectation will say so
    lo, hi = s.min(), s.max()
    if pd.isna(hi) or (_NS_MIN <= lo and hi <= _NS_MAX):
        return s.astype("datetime64[ns]")
    values = pd.Series(list(s.dt.to_pydatetime()), index=s.index, dtype=object)
    values[s.isna()] = None
    return values


@contextmanager
def _suite_runner(suite: gx.ExpectationSuite) -> Iterator[Any]:
    """A function validating dataframes against ``suite`` through one GX ValidationDefinition.

    ``ValidationDefinition.run`` loads the batch once per dataframe (``Batch.validate``
    would load it twice, and GX fingerprints every row of a batch each time it loads it).
    The suite and the definition live in the in-memory context only for this call.
    """
    import great_expectations as gx

    rt = _runtime()
    name = f"{suite.name}-{uuid.uuid4().hex[:12]}"
    registered = rt.context.suites.add(gx.ExpectationSuite(name=name, expectations=[e.configuration for e in suite.expectations]))
    definition = rt.context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=rt.batch_definition, suite=registered)
    )
    try:
        yield lambda df: definition.run(batch_parameters={"dataframe": df}, result_format=RESULT_FORMAT).results
    finally:
        rt.context.validation_definitions.delete(name)
        rt.context.suites.delete(name)


def _exception_message(info: Any) -> str | None:
    if not info:
        return None
    if isinstance(info, dict) and info.get("raised_exception"):
        return mask_text(str(info.get("exception_message")))
    if isinstance(info, dict):
        for v in info.values():
            if isinstance(v, dict) and v.get("raised_exception"):
                return mask_text(str(v.get("exception_message")))
    return None


@dataclass
class _Tally:
    """One expectation's counts over the rows validated so far.

    Plain data (no GX object): a worker process sends its tallies back, and the
    tallies of consecutive row ranges add up with ``merge``.
    """

    type: str
    key: str  # matches GX's results to this expectation (see _key)
    columns: tuple[str, ...]
    severity: str
    mostly: float | None
    success: bool = True
    unexpected: int = 0
    nonmissing: int = 0
    values: list[Any] = field(default_factory=list)
    observed: Any = None
    exception: str | None = None

    @classmethod
    def of(cls, exp: Any) -> _Tally:
        kwargs = exp.configuration.kwargs
        return cls(type=exp.expectation_type, key=_key(exp.configuration), columns=_columns_of(kwargs),
                   severity=severity_of(exp), mostly=kwargs.get("mostly"))

    def add(self, res: Any, chunk_rows: int) -> None:
        r = res.result or {}
        err = _exception_message(res.exception_info)
        if err and not self.exception:
            self.exception = err
        self.success &= bool(res.success)
        if "unexpected_count" in r:
            self.unexpected += int(r.get("unexpected_count") or 0)
            self.nonmissing += int(r.get("element_count") or 0) - int(r.get("missing_count") or 0)
            for v in r.get("partial_unexpected_list") or []:
                if len(self.values) < SAMPLE_SIZE:
                    self.values.append(mask_id_like(v))
        elif not res.success:  # a column-level verdict (type of the column): every row of the chunk
            self.unexpected += chunk_rows
            if self.observed is None:
                self.observed = mask_id_like(r.get("observed_value"))

    def merge(self, later: _Tally) -> None:
        """Add the tally of the rows that come after this one's."""
        self.success &= later.success
        self.exception = self.exception or later.exception
        self.unexpected += later.unexpected
        self.nonmissing += later.nonmissing
        self.values.extend(later.values[: SAMPLE_SIZE - len(self.values)])
        if self.observed is None:
            self.observed = later.observed

    def outcome(self) -> ExpectationOutcome:
        success = self.success and not self.exception
        if self.mostly is not None and self.mostly < 1 and not self.exception and self.nonmissing:
            success = self.unexpected / self.nonmissing <= 1 - self.mostly  # chunk verdicts do not add up; counts do
        return ExpectationOutcome(
            expectation=self.type, columns=self.columns, severity=self.severity, success=success,
            unexpected_count=self.unexpected, unexpected_values=tuple(self.values), observed_value=self.observed,
            exception=self.exception,
        )


def _key(config: Any) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}  # GX adds batch_id to results
    return config.type + json.dumps(kwargs, sort_keys=True, default=str)


def _validate_chunks(suite: gx.ExpectationSuite, chunks: Iterable[pd.DataFrame], date_columns: set[str]) -> tuple[list[_Tally], int]:
    tallies = [_Tally.of(e) for e in suite.expectations]
    rows = 0
    with _suite_runner(suite) as run:
        for df in chunks:
            if not len(df) and rows:
                continue
            rows += _validate_chunk(run, tallies, _prepare(df, date_columns))
    return tallies, rows


def _validate_chunk(run: Any, tallies: list[_Tally], df: pd.DataFrame) -> int:
    results = run(df)
    if len(results) != len(tallies):
        raise RuntimeError(f"GX returned {len(results)} results for {len(tallies)} expectations")
    # GX does not return results in suite order: match them by (type, kwargs)
    by_key: dict[str, list[Any]] = {}
    for res in results:
        by_key.setdefault(_key(res.expectation_config), []).append(res)
    for t in tallies:
        t.add(by_key[t.key].pop(0), len(df))
    return len(df)


# ---------------------------------------------------------------- validation --


def validate_frame(feed: str, df: pd.DataFrame) -> ValidationSummary:
    """Validate one dataframe of accepted ``stg_<feed>`` rows against the feed's suite, in GX (uniqueness included)."""
    start = time.perf_counter()
    suite = load_suite(feed)
    missing = [c for c in suite_columns(suite) if c not in df.columns]
    if missing:
        raise ValueError(f"dataframe lacks column(s) the {feed} suite needs: {', '.join(missing)}")
    tallies, rows = _validate_chunks(suite, [df], _date_columns(suite))
    return ValidationSummary(feed, rows, [t.outcome() for t in tallies], time.perf_counter() - start)


def _arrow_chunks(con: duckdb.DuckDBPyConnection, sql: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The query's rows as pandas frames of about ``chunk_rows``, through Arrow record batches.

    DATE arrives as datetime64 (see ``_prepare``); BIGINT and BOOLEAN become pandas'
    nullable ``Int64`` / ``boolean`` so a NULL does not change a column's type.
    """
    mapper = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get
    reader = con.sql(sql).to_arrow_reader(chunk_rows)  # con.execute(...) would copy every row once more
    convert = {"types_mapper": mapper, "date_as_object": False}
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        pending.append(batch)
        size += batch.num_rows
        if size >= chunk_rows:
            yield pa.Table.from_batches(pending).to_pandas(**convert)
            pending, size = [], 0
    if pending or size == 0:
        yield pa.Table.from_batches(pending, schema=reader.schema).to_pandas(**convert)


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    # fetchall, not fetchone: DuckDB refuses new work on a connection with an unfinished result
    [(n,)] = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'main' and table_name = ?", [name]
    ).fetchall()
    return n > 0


def _rows_to_validate(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The accepted rows; of an incremental staging table (one with ``staged_at``), only its latest batch.

    Rows staged earlier were validated when they were staged, under the same rules: a
    change of rules (dbt project, suites aside) re-stages the table in full, one batch.
    """
    [(incremental,)] = con.execute(
        "select count(*) from information_schema.columns where table_schema = 'main' and table_name = ? "
        "and column_name = 'staged_at'", [table]
    ).fetchall()
    if not incremental:
        return "is_accepted"
    return f"is_accepted and staged_at = (select max(staged_at) from {table})"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _uniqueness_in_sql(con: duckdb.DuckDBPyConnection, table: str, exp: Any, where: str = "is_accepted") -> ExpectationOutcome:
    """A uniqueness expectation over the whole table, as GX counts it: every row of a repeated combination.

    Like GX's default (ignore_row_if = all_values_are_missing), rows whose key columns
    are all NULL are not compared; NULLs are equal to each other, as in pandas.
    """
    kw = exp.configuration.kwargs
    cols = _columns_of(kw)
    col_sql = ", ".join(_quote(c) for c in cols)
    all_missing = " and ".join(f"{_quote(c)} is null" for c in cols)
    sql = f"""
        with dup as (
            select {col_sql}, count(*) as n
            from {table}
            where {where} and not ({all_missing})
            group by all
            having count(*) > 1
        )
        select coalesce(sum(n), 0)::bigint,
               (select list(struct_pack({', '.join(f'{_quote(c)} := {_quote(c)}' for c in cols)})) from (select * from dup limit {SAMPLE_SIZE}))
        from dup
    """
    try:
        [(count, sample)] = con.execute(sql).fetchall()
    except duckdb.Error as exc:
        return ExpectationOutcome(exp.expectation_type, cols, severity_of(exp), False, 0, (), None, str(exc))
    return ExpectationOutcome(
        expectation=exp.expectation_type, columns=cols, severity=severity_of(exp), success=count == 0,
        unexpected_count=int(count), unexpected_values=tuple(mask_id_like(dict(s)) for s in (sample or [])),
    )


def validate_table(feed: str, con: duckdb.DuckDBPyConnection, chunk_rows: int = CHUNK_ROWS) -> ValidationSummary:
    """Validate the accepted rows of ``stg_<feed>``: row rules in GX chunk by chunk, uniqueness in one DuckDB query."""
    start = time.perf_counter()
    return _summary(feed, [_row_tallies(feed, con, chunk_rows)], _uniqueness(feed, con), start)


def _to_validate(feed: str, con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """The staging table and the condition selecting the rows to validate."""
    table = f"stg_{feed}"
    if not _table_exists(con, table):
        raise LookupError(f"{table} does not exist in the warehouse: run staging (dbt) first")
    return table, _rows_to_validate(con, table)


def _row_ranges(feed: str, con: duckdb.DuckDBPyConnection, parts: int, chunk_rows: int) -> list[tuple[int, int] | None]:
    """The rows to validate cut into ``parts`` consecutive rowid ranges (``[None]``: all in one).

    The ranges split the span of the rows' rowids evenly — rejected rows are spread
    through a staging table, and an incremental one's newest batch is one run at its
    end — so each holds about as many rows. Fewer rows than two chunks stay whole.
    """
    table, where = _to_validate(feed, con)
    [(rows, lo, hi)] = con.execute(f"select count(*), min(rowid), max(rowid) from {table} where {where}").fetchall()
    if parts < 2 or rows < 2 * chunk_rows:
        return [None]
    cuts = [lo + (hi + 1 - lo) * k // parts for k in range(parts + 1)]
    return [(a, b - 1) for a, b in zip(cuts, cuts[1:])]


def _row_tallies(feed: str, con: duckdb.DuckDBPyConnection, chunk_rows: int,
                 rowids: tuple[int, int] | None = None) -> tuple[dict[int, _Tally], int]:
    """The row rules (all but uniqueness) over the rows to validate, or those in the rowid range.

    Returns the tallies by the expectation's position in the suite, and the rows validated.
    """
    import great_expectations as gx

    table, where = _to_validate(feed, con)
    if rowids is not None:
        where += f" and rowid between {int(rowids[0])} and {int(rowids[1])}"
    suite = load_suite(feed)
    positions = [i for i, e in enumerate(suite.expectations) if e.expectation_type not in UNIQUENESS]
    if not positions:
        [(rows,)] = con.execute(f"select count(*) from {table} where {where}").fetchall()
        return {}, int(rows)
    row_rules = gx.ExpectationSuite(name=f"{feed}_rows", expectations=[suite.expectations[i].configuration for i in positions])
    sql = f"select {', '.join(_quote(c) for c in suite_columns(row_rules))} from {table} where {where}"
    tallies, rows = _validate_chunks(row_rules, _arrow_chunks(con, sql, max(1, chunk_rows)), _date_columns(row_rules))
    return dict(zip(positions, tallies, strict=True)), rows


def _uniqueness(feed: str, con: duckdb.DuckDBPyConnection) -> dict[int, ExpectationOutcome]:
    """The uniqueness expectations over all the rows to validate, by position in the suite."""
    table, where = _to_validate(feed, con)
    return {i: _uniqueness_in_sql(con, table, e, where)
            for i, e in enumerate(load_suite(feed).expectations) if e.expectation_type in UNIQUENESS}


def _summary(feed: str, parts: Sequence[tuple[dict[int, _Tally], int]],
             uniqueness: dict[int, ExpectationOutcome], start: float) -> ValidationSummary:
    """One summary from the tallies of consecutive row ranges (in row order) and the uniqueness outcomes."""
    (tallies, rows), later = parts[0], parts[1:]
    for more, n in later:
        for i, t in more.items():
            tallies[i].merge(t)
        rows += n
    outcomes = {**{i: t.outcome() for i, t in tallies.items()}, **uniqueness}
    return ValidationSummary(feed, int(rows), [outcomes[i] for i in sorted(outcomes)], time.perf_counter() - start)


# -------------------------------------------------------------------- dagster --


def check_result(summary: ValidationSummary) -> dg.AssetCheckResult:
    """The summary as a Dagster check result: ERROR (blocking) only when an error-severity expectation failed."""
    return dg.AssetCheckResult(
        passed=summary.all_passed,
        severity=dg.AssetCheckSeverity.ERROR if summary.blocking_failures else dg.AssetCheckSeverity.WARN,
        description=summary.describe(),
        metadata={
            "rows_validated": dg.MetadataValue.int(summary.rows_validated),
            "expectations": dg.MetadataValue.int(len(summary.results)),
            "failed_expectations": dg.MetadataValue.md(summary.markdown()),
            "blocking_failures": dg.MetadataValue.int(len(summary.blocking_failures)),
            "seconds": dg.MetadataValue.float(round(summary.seconds, 3)),
            "rows_per_second": dg.MetadataValue.int(
                int(summary.rows_validated / summary.seconds) if summary.seconds > 0 else 0
            ),
        },
    )


def _gx_check(feed: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(f"stg_{feed}"),
        name=f"gx_{feed}_suite",
        blocking=True,
        description=(
            f"Great Expectations suite expectations/{feed}.json on the accepted rows of stg_{feed}. "
            "Fails (and stops downstream) only when a blocking expectation fails; warnings are reported."
        ),
    )
    def _check(settings: SsjSettings) -> dg.AssetCheckResult:
        warehouse = settings.get().warehouse
        with warehouse_lock(warehouse):  # the worker reads the warehouse under this lock
            summary = validate_warehouse(feed, warehouse)
        return check_result(summary)

    return _check


def gx_asset_checks(feeds: Sequence[str] = FEEDS) -> list[dg.AssetChecksDefinition]:
    """One blocking ``gx_<feed>_suite`` asset check per feed, on ``stg_<feed>``."""
    return [_gx_check(feed) for feed in feeds]



# picked up by the defs autoloader (pipelines/definitions.py → dg.load_defs)
GX_ASSET_CHECKS = gx_asset_checks()
