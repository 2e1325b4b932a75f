"""Validating rows with GX: the process runtime, chunked validation and its tallies, uniqueness in SQL."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa

from connectors.personal import mask_text
from pipelines.defs.quality.gx.results import ExpectationOutcome, SAMPLE_SIZE, ValidationSummary, mask_id_like
from pipelines.defs.quality.gx.suites import UNIQUENESS, columns_of, date_columns, load_suite, severity_of, suite_columns

if TYPE_CHECKING:  # GX takes ~2 s to import: only when a check runs, never when definitions load
    import great_expectations as gx


CHUNK_ROWS = 500_000  # rows GX validates at once (one pandas frame)


@dataclass
class Runtime:
    context: Any
    batch_definition: Any


_RUNTIME_LOCK = threading.Lock()


def runtime() -> Runtime:
    """The process's GX context, built once (a check waits for a warm-up that is building it)."""
    with _RUNTIME_LOCK:
        return _new_runtime()


@cache
def _new_runtime() -> Runtime:
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
    return Runtime(context=context, batch_definition=asset.add_batch_definition_whole_dataframe("whole_frame"))


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

    rt = runtime()
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
        return cls(type=exp.expectation_type, key=_key(exp.configuration), columns=columns_of(kwargs),
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
    tallies, rows = _validate_chunks(suite, [df], date_columns(suite))
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
    cols = columns_of(kw)
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
    return summary_of(feed, [row_tallies(feed, con, chunk_rows)], uniqueness(feed, con), start)


def _to_validate(feed: str, con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """The staging table and the condition selecting the rows to validate."""
    table = f"stg_{feed}"
    if not _table_exists(con, table):
        raise LookupError(f"{table} does not exist in the warehouse: run staging (dbt) first")
    return table, _rows_to_validate(con, table)


def row_ranges(feed: str, con: duckdb.DuckDBPyConnection, parts: int, chunk_rows: int) -> list[tuple[int, int] | None]:
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


def row_tallies(feed: str, con: duckdb.DuckDBPyConnection, chunk_rows: int,
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
    tallies, rows = _validate_chunks(row_rules, _arrow_chunks(con, sql, max(1, chunk_rows)), date_columns(row_rules))
    return dict(zip(positions, tallies, strict=True)), rows


def uniqueness(feed: str, con: duckdb.DuckDBPyConnection) -> dict[int, ExpectationOutcome]:
    """The uniqueness expectations over all the rows to validate, by position in the suite."""
    table, where = _to_validate(feed, con)
    return {i: _uniqueness_in_sql(con, table, e, where)
            for i, e in enumerate(load_suite(feed).expectations) if e.expectation_type in UNIQUENESS}


def summary_of(feed: str, parts: Sequence[tuple[dict[int, _Tally], int]],
             uniqueness: dict[int, ExpectationOutcome], start: float) -> ValidationSummary:
    """One summary from the tallies of consecutive row ranges (in row order) and the uniqueness outcomes."""
    (tallies, rows), later = parts[0], parts[1:]
    for more, n in later:
        for i, t in more.items():
            tallies[i].merge(t)
        rows += n
    outcomes = {**{i: t.outcome() for i, t in tallies.items()}, **uniqueness}
    return ValidationSummary(feed, int(rows), [outcomes[i] for i in sorted(outcomes)], time.perf_counter() - start)
