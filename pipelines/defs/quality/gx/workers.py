"""GX in worker processes: warmed up beside dbt, each validating its own rowid range of a table."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from connectors.personal import mask_text
from pipelines.warehouse import open_warehouse
from pipelines.defs.quality.gx.results import ValidationSummary
from pipelines.defs.quality.gx.validate import CHUNK_ROWS, row_ranges, row_tallies, runtime, summary_of, uniqueness, validate_table

WORKERS = max(1, min(2, os.cpu_count() or 1))  # GX worker processes: each validates its own rows on one core


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
        ranges = pool.submit(_in_worker, row_ranges, feed, wh, WORKERS, chunk_rows).result()
        if len(ranges) == 1:  # too few rows to split: one task, so one worker is enough
            return pool.submit(_in_worker, validate_table, feed, wh, chunk_rows).result()
        parts = [pool.submit(_in_worker, row_tallies, feed, wh, chunk_rows, r) for r in ranges]
        unique = pool.submit(_in_worker, uniqueness, feed, wh)
        return summary_of(feed, [p.result() for p in parts], unique.result(), start)
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
    runtime()


def _in_worker(task: Callable[..., Any], feed: str, warehouse: str, *args: Any) -> Any:
    """``task(feed, con, *args)`` on a read-only connection (the caller holds the writer lock)."""
    try:
        with open_warehouse(Path(warehouse), lock=False) as con:
            return task(feed, con, *args)
    except Exception as exc:  # GX's and DuckDB's exceptions need not survive pickling back
        raise RuntimeError(mask_text(f"{type(exc).__name__}: {exc}")) from None
