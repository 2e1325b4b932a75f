"""SQL sources: tables or queries in other agencies' databases, ingested incrementally.

Sources are declared in a YAML file (``SSJ_SOURCES``, default
``config/sources.yaml``; see the commented sample there). Each ``kind: sql``
source is read with ``connectors.sql.read_sql_source`` from the URL held in
the environment variable named by ``url_env`` (credentials never live in a
file), from the watermark kept in ``<warehouse>/raw/_watermarks/<name>.json``.

One run of one source = one raw-store Parquet file + one ledger entry, exactly
like one dropped file (``format: sql``, ``path``/``_source_file`` =
``sql:<name>@<from>..<to>``), so staging, ``ingest_log`` and the conservation
check treat both paths alike.

Crash and retry safety — nothing lost, nothing counted twice:

1. The extract is streamed into a local spool (Arrow IPC, bounded memory)
   while its content is hashed; a connection lost mid-stream discards the
   spool and retries (bounded, with backoff).
2. ``sha256`` = SHA-256 of ``{source, from, to, rows, content_hash}`` (the
   content hash is order-independent), so re-running the same extract gives
   the same name: a retry overwrites, never duplicates.
3. Before the raw file is written, ``<name>.pending.json`` records it. Then the
   Parquet file and the ledger entry are written (each atomically), and only
   then the watermark file; the pending note is removed last.
4. A run that finds a pending note whose sha is not the committed one removes
   that attempt's Parquet file and ledger entry first: a run that died after
   writing them but before moving the watermark re-fetches the same range, and
   the range's rows end up in the raw store once.

A source that stays down fails with a clear message (URL shown with its
password masked); the ``sql_sources`` asset carries on with the other sources
and fails at the end, listing each source's outcome in its metadata.
"""


import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import yaml

from connectors.feeds import FEED_NAMES, feeds
from connectors.personal import mask_text
from connectors.sql import (
    RetryPolicy,
    SourceUnavailable,
    SqlExtract,
    SqlSourceError,
    mask_url,
    read_sql_source,
    scrub,
)
from pipelines import PROJECT_ROOT
from pipelines.settings import SsjSettings

from .raw_store import (
    ensure_layout,
    ledger_dir,
    ledger_id,
    raw_dir,
    raw_file,
    write_json_atomically,
    write_raw_file,
)
from .registry import Agency, RegistryError, load_registry

log = logging.getLogger(__name__)

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DEFAULT_SOURCES = PROJECT_ROOT / "config" / "sources.yaml"


class SourceConfigError(ValueError):
    """The sources file is unusable; the message says where and why."""


@dataclass(frozen=True)
class SqlSource:
    name: str
    agency: str
    feed: str
    url_env: str
    table: str | None = None
    query: str | None = None
    watermark: str | None = None
    chunk_rows: int = 50_000

    def fingerprint(self) -> str:
        """What the watermark is relative to: changing it makes the stored watermark meaningless."""
        body = json.dumps([self.feed, self.table, self.query, self.watermark], ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()[:16]


def sources_path(env: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """(path of the sources YAML, whether it was set explicitly)."""
    env = os.environ if env is None else env
    explicit = env.get("SSJ_SOURCES")
    return (Path(explicit).resolve() if explicit else DEFAULT_SOURCES), bool(explicit)


def load_sources(path: Path) -> list[SqlSource]:
    """The ``kind: sql`` sources of ``path`` (``kind: file`` entries are the landing zone's business)."""
    path = Path(path)
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceConfigError(f"sources file {path} does not exist (set SSJ_SOURCES)") from None
    except yaml.YAMLError as exc:
        raise SourceConfigError(f"sources file {path} is not valid YAML: {exc}") from None
    if body is None:
        return []
    entries = body.get("sources") if isinstance(body, dict) else None
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise SourceConfigError(f"sources file {path}: 'sources:' must be a list")
    out: list[SqlSource] = []
    seen: set[str] = set()
    for i, e in enumerate(entries, start=1):
        where = f"sources file {path}, entry {i}"
        if not isinstance(e, dict):
            raise SourceConfigError(f"{where}: expected a mapping")
        name = str(e.get("name", "")).strip()
        if not SOURCE_NAME.match(name):
            raise SourceConfigError(f"{where}: name {name!r} must match [a-z0-9][a-z0-9_-]*")
        if name in seen:
            raise SourceConfigError(f"{where}: name {name!r} is listed twice")
        seen.add(name)
        kind = str(e.get("kind", "sql")).strip()
        if kind == "file":
            continue
        if kind != "sql":
            raise SourceConfigError(f"{where} ({name}): kind {kind!r} must be 'sql' or 'file'")
        if "url" in e:
            raise SourceConfigError(
                f"{where} ({name}): put the URL in an environment variable and name it in url_env; "
                "credentials are never kept in files"
            )
        feed = str(e.get("feed", "")).strip()
        if feed not in FEED_NAMES:
            raise SourceConfigError(f"{where} ({name}): feed {feed!r} is not one of {', '.join(FEED_NAMES)}")
        url_env = str(e.get("url_env", "")).strip()
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", url_env):
            raise SourceConfigError(f"{where} ({name}): url_env must name an environment variable")
        table, query = e.get("table"), e.get("query")
        if (table is None) == (query is None):
            raise SourceConfigError(f"{where} ({name}): give exactly one of table or query")
        agency = str(e.get("agency", "")).strip()
        if not agency:
            raise SourceConfigError(f"{where} ({name}): agency is required")
        chunk_rows = int(e.get("chunk_rows", 50_000))
        if chunk_rows < 1:
            raise SourceConfigError(f"{where} ({name}): chunk_rows must be positive")
        wm = e.get("watermark")
        out.append(
            SqlSource(
                name=name, agency=agency, feed=feed, url_env=url_env,
                table=str(table) if table is not None else None, query=str(query) if query is not None else None,
                watermark=str(wm) if wm else None, chunk_rows=chunk_rows,
            )
        )
    return out


# --------------------------------------------------------------------------- watermark state


def watermark_dir(warehouse: Path) -> Path:
    return raw_dir(warehouse) / "_watermarks"


def watermark_file(warehouse: Path, name: str) -> Path:
    return watermark_dir(warehouse) / f"{name}.json"


def pending_file(warehouse: Path, name: str) -> Path:
    return watermark_dir(warehouse) / f"{name}.pending.json"


def read_state(warehouse: Path, name: str) -> dict[str, Any]:
    path = watermark_file(warehouse, name)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _discard_pending(warehouse: Path, source: SqlSource, state: dict[str, Any]) -> str | None:
    """Remove the raw file and ledger entry of an attempt that never committed its watermark."""
    path = pending_file(warehouse, source.name)
    if not path.exists():
        return None
    pending = json.loads(path.read_text(encoding="utf-8"))
    sha = pending.get("sha256")
    if sha and sha != state.get("last_sha256"):
        (ledger_dir(warehouse) / f"{ledger_id(pending['source_file'], sha)}.json").unlink(missing_ok=True)
        raw_file(warehouse, pending.get("feed", source.feed), sha).unlink(missing_ok=True)
        log.warning("%s: removed the uncommitted attempt %s", source.name, pending["source_file"])
    path.unlink(missing_ok=True)
    return sha


# --------------------------------------------------------------------------- one source


@dataclass
class SqlIngestResult:
    name: str
    status: str  # ingested | no_change | failed
    rows: int = 0
    skipped_boundary: int = 0
    source_file: str | None = None
    sha256: str | None = None
    watermark_from: str | None = None
    watermark_to: str | None = None
    error: str | None = None
    attempts: int = 1

    def as_metadata(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class _Spool:
    path: Path
    extract: SqlExtract
    rows: int


def _spool_extract(source: SqlSource, url: str, state: dict[str, Any], spool_dir: Path, retry: RetryPolicy) -> tuple[_Spool, int]:
    """Read the extract into a local Arrow IPC file; a connection lost mid-stream retries from scratch."""
    feed = feeds()[source.feed]
    attempt = 0
    while True:
        attempt += 1
        extract = read_sql_source(
            url, table=source.table, query=source.query, feed=feed, watermark_column=source.watermark,
            since=state.get("watermark"), since_type=state.get("watermark_type"),
            exclude=state.get("boundary") or (), chunk_rows=source.chunk_rows, name=source.name, retry=retry,
        )
        fd, name = tempfile.mkstemp(prefix=f".{source.name}.", suffix=".arrow.tmp", dir=spool_dir)
        os.close(fd)
        path = Path(name)
        try:
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(
                sink, extract.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")
            ) as writer:
                for batch in extract.batches():
                    writer.write_batch(batch)
            return _Spool(path, extract, extract.rows), attempt
        except SourceUnavailable:
            path.unlink(missing_ok=True)
            if attempt >= retry.attempts:
                raise
            delay = retry.delay(attempt)
            log.warning("%s: connection lost mid-extract; retrying in %.1fs", source.name, delay)
            time.sleep(delay)
        except BaseException:
            path.unlink(missing_ok=True)
            raise


def _spooled_batches(path: Path) -> Iterator[pa.RecordBatch]:
    with pa.memory_map(str(path), "r") as src:
        reader = pa.ipc.open_file(src)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)


def extract_sha256(source: SqlSource, wm_from: str | None, wm_to: str | None, rows: int, content_hash: str) -> str:
    body = json.dumps(
        {"source": source.name, "feed": source.feed, "from": wm_from, "to": wm_to, "rows": rows, "content": content_hash},
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def ingest_sql_source(
    source: SqlSource,
    warehouse: Path,
    now: datetime | None = None,
    *,
    env: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    registry: dict[str, Agency] | None = None,
) -> SqlIngestResult:
    """Ingest what is new in ``source`` since its watermark; raise ``SqlSourceError`` on failure."""
    env = os.environ if env is None else env
    warehouse = Path(warehouse).resolve()
    now = now or datetime.now()
    retry = retry or RetryPolicy()
    if registry is not None:
        agency = registry.get(source.agency)
        if agency is None:
            raise SqlSourceError(f"SQL source {source.name}: agency {source.agency!r} is not in the agency registry")
        if source.feed not in agency.feeds:
            raise SqlSourceError(
                f"SQL source {source.name}: agency {source.agency} may not deliver {source.feed} "
                f"(allowed: {', '.join(agency.feeds) or 'none'})"
            )
    url = env.get(source.url_env)
    if not url:
        raise SqlSourceError(f"SQL source {source.name}: environment variable {source.url_env} (its URL) is not set")

    ensure_layout(warehouse)
    watermark_dir(warehouse).mkdir(parents=True, exist_ok=True)
    state = read_state(warehouse, source.name)
    if state and state.get("fingerprint") not in (None, source.fingerprint()):
        raise SqlSourceError(
            f"SQL source {source.name}: its table/query, watermark column or feed changed since the watermark in "
            f"{watermark_file(warehouse, source.name)} was recorded; delete that file to re-extract in full"
        )
    _discard_pending(warehouse, source, state)
    wm_from = state.get("watermark")

    spool, attempts = _spool_extract(source, url, state, watermark_dir(warehouse), retry)
    try:
        ex = spool.extract
        result = SqlIngestResult(
            name=source.name, status="no_change", rows=spool.rows, skipped_boundary=ex.skipped,
            watermark_from=wm_from, watermark_to=ex.watermark, attempts=attempts,
        )
        if ex.null_watermarks:
            log.warning("%s: %d row(s) with a NULL watermark (%s)", source.name, ex.null_watermarks, source.watermark)
        if spool.rows == 0:
            return result
        sha = extract_sha256(source, wm_from, ex.watermark, spool.rows, ex.content_hash or "")
        if not source.watermark and sha == state.get("last_sha256"):
            return result  # a snapshot source whose content did not change
        rng = f"{wm_from or 'start'}..{ex.watermark or now.isoformat(timespec='seconds')}"
        source_file = f"sql:{source.name}@{rng}"
        result.source_file, result.sha256 = source_file, sha

        write_json_atomically(
            pending_file(warehouse, source.name),
            {"source_file": source_file, "sha256": sha, "feed": source.feed, "started_at": now.isoformat(sep=" ")},
        )
        final = raw_file(warehouse, source.feed, sha)
        rows = write_raw_file(
            warehouse, source.feed, _spooled_batches(spool.path), agency=source.agency, source_file=source_file,
            sha256=sha, mtime=now, ingested_at=now,
        )
        key = ledger_id(source_file, sha)
        previous = ledger_dir(warehouse) / f"{key}.json"
        first_seen = None
        if previous.exists():
            first_seen = json.loads(previous.read_text(encoding="utf-8")).get("first_seen_at")
        mtime_ns = int(now.timestamp() * 1e9)
        try:
            write_json_atomically(
                previous,
                {
                    "path": source_file,
                    "agency": source.agency,
                    "feed": source.feed,
                    "sha256": sha,
                    "bytes": final.stat().st_size,
                    "mtime_ns": mtime_ns,
                    "mtime": now.isoformat(sep=" "),
                    "status": "ingested",
                    "rows_read": rows,
                    "error_code": None,
                    "error": None,
                    "duplicate_of": None,
                    "format": "sql",
                    "encoding": None,
                    "headers": ex.header_map.describe(),
                    "first_seen_at": first_seen or now.isoformat(sep=" "),
                    "processed_at": now.isoformat(sep=" "),
                },
            )
        except BaseException:
            final.unlink(missing_ok=True)  # no ledger entry: its rows must not be visible either
            raise
        write_json_atomically(
            watermark_file(warehouse, source.name),
            {
                "source": source.name,
                "fingerprint": source.fingerprint(),
                "watermark_column": source.watermark,
                "watermark": ex.watermark,
                "watermark_type": ex.watermark_type,
                "boundary": sorted(ex.boundary),
                "last_sha256": sha,
                "last_source_file": source_file,
                "last_rows": rows,
                "updated_at": now.isoformat(sep=" "),
            },
        )
        pending_file(warehouse, source.name).unlink(missing_ok=True)
        result.status, result.rows = "ingested", rows
        log.info("%s: ingested %d row(s) as %s", source.name, rows, source_file)
        return result
    finally:
        spool.path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the asset


def ingest_all(
    sources: list[SqlSource],
    warehouse: Path,
    *,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    registry: dict[str, Agency] | None = None,
) -> list[SqlIngestResult]:
    """Ingest every source; a failing source is reported and the others proceed."""
    env = os.environ if env is None else env
    now = now or datetime.now()
    results: list[SqlIngestResult] = []
    for source in sources:
        try:
            results.append(ingest_sql_source(source, warehouse, now, env=env, retry=retry, registry=registry))
        except Exception as exc:  # noqa: BLE001 - one source down must not stop the others
            message = str(exc) if isinstance(exc, SqlSourceError) else f"{type(exc).__name__}: {exc}"
            url = env.get(source.url_env)
            if url:
                message = scrub(message, url)
            message = mask_text(message)  # a driver's message may quote a row's value
            log.error("SQL source %s failed: %s", source.name, message)
            results.append(SqlIngestResult(name=source.name, status="failed", error=message))
    return results


@dg.asset(
    group_name="ingest",
    kinds={"python", "sql", "parquet"},
    description=(
        "Incremental extracts of the SQL sources declared in SSJ_SOURCES (default config/sources.yaml): "
        "what changed since each source's watermark, as one raw-store Parquet file + ledger entry per run. "
        "A source that stays down fails this asset (after the other sources ran)."
    ),
)
def sql_sources(context: dg.AssetExecutionContext, settings: SsjSettings) -> dg.MaterializeResult:
    from pipelines.engine import refuse_pipeline

    refuse_pipeline()  # before any source is read: the build after it would fail on this engine
    s = settings.get()
    path, explicit = sources_path()
    if not path.exists() and not explicit:
        return dg.MaterializeResult(metadata={"sources_file": str(path), "sources": 0})
    try:
        sources = load_sources(path)
    except SourceConfigError as exc:
        raise dg.Failure(str(exc)) from None
    if not sources:
        return dg.MaterializeResult(metadata={"sources_file": str(path), "sources": 0})
    try:
        registry = load_registry(s.agencies)
    except RegistryError as exc:
        raise dg.Failure(str(exc)) from None
    results = ingest_all(sources, s.warehouse, registry=registry)
    table = "\n".join(
        f"| {r.name} | {r.status} | {r.rows} | {r.watermark_from or ''} | {r.watermark_to or ''} | {(r.error or '')[:300]} |"
        for r in results
    )
    metadata = {
        "sources_file": str(path),
        "sources": len(results),
        "rows_by_source": dg.MetadataValue.json({r.name: r.rows for r in results}),
        "status_by_source": dg.MetadataValue.json({r.name: r.as_metadata() for r in results}),
        "summary": dg.MetadataValue.md(
            "| source | status | rows | from | to | error |\n|---|---|---|---|---|---|\n" + table
        ),
    }
    for r in results:
        if r.status == "failed":
            context.log.error(f"SQL source {r.name} failed: {r.error}")
        else:
            context.log.info(f"SQL source {r.name}: {r.status}, {r.rows} row(s)")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(results)} SQL source(s) failed: "
            + "; ".join(f"{r.name}: {r.error}" for r in failed),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


__all__ = [
    "SqlSource",
    "SqlIngestResult",
    "SourceConfigError",
    "ingest_all",
    "ingest_sql_source",
    "load_sources",
    "sql_sources",
    "mask_url",
]
