"""Everything a run is configured with, checked before Dagster starts.

A mistyped setting (``SSJ_READER_MEMORY=4GiBB``, ``SSJ_KEEP_SNAPSHOTS=0``) or an
unusable agency registry would otherwise surface minutes later as a failed step,
after Dagster, dbt and the landing scan have started. ``configuration_problems``
asks each setting's own parser (the rule lives where the value is used) and says,
for each one that fails, which setting and what was expected. Values are shown:
none of these settings is a secret (``SSJ_TARGET_URL``, which may hold a password,
is checked when the target is first reached and shown masked there).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import duckdb

from pipelines.settings import Settings


def _checks() -> list[tuple[str, Callable[[], object]]]:
    from connectors.readers import max_file_rows
    from pipelines.defs.dbt.in_process import log_level
    from pipelines.defs.ingest.landing import _read_workers, max_file_bytes
    from pipelines.defs.ingest.reader_pool import memory_limit, read_timeout
    from pipelines.defs.publish.snapshots import keep_snapshots

    def duckdb_memory() -> None:
        duckdb.connect(config={"memory_limit": os.environ.get("SSJ_DUCKDB_MEMORY", "8GB")}).close()

    def dbt_threads() -> None:
        value = os.environ.get("SSJ_DBT_THREADS")
        if value and (not value.isdigit() or int(value) < 1):
            raise ValueError("expected a whole number of threads, 1 or more")

    return [
        ("SSJ_READER_MEMORY", lambda: memory_limit(1)),
        ("SSJ_READ_TIMEOUT", read_timeout),
        ("SSJ_MAX_FILE_BYTES", max_file_bytes),
        ("SSJ_MAX_FILE_ROWS", max_file_rows),
        ("SSJ_INGEST_WORKERS", _read_workers),
        ("SSJ_KEEP_SNAPSHOTS", keep_snapshots),
        ("SSJ_DUCKDB_MEMORY", duckdb_memory),
        ("SSJ_DBT_THREADS", dbt_threads),
        ("SSJ_DBT_LOG_LEVEL", log_level),
    ]


def configuration_problems(settings: Settings) -> list[str]:
    """One line per unusable setting or registry problem; empty when the run can start."""
    from pipelines.defs.ingest.registry import RegistryError, load_registry

    problems = []
    for name, check in _checks():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - each parser raises its own kind
            problems.append(f"{name}={os.environ.get(name, '')!r}: {exc}")
    try:
        load_registry(settings.agencies)
    except RegistryError as exc:
        problems.append(str(exc))
    return problems
