"""The raw store: the hand-off from ingestion to dbt (docs/architecture.md).

One Parquet file per ingested landing file under ``<warehouse>/raw/<feed>/``,
and one JSON ledger entry per file seen under ``<warehouse>/raw/_ledger/``.
Everything is written aside and renamed into place, so a crash never leaves a
half-written file where dbt would read it.

The raw store holds the landing files' values unmasked: it is private to the
user running the pipeline (folders 0700, files 0600), and ``ensure_layout``
takes back any wider permissions it finds. It also sweeps the temporary files
of writers that died (a reader worker killed for time or memory): a ``.*.tmp``
file untouched for longer than any reader may live.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.feeds import FEED_NAMES, feeds
from connectors.readers import FileRejected, too_many_rows

from .reader_pool import format_bytes, read_timeout

LINEAGE_FIELDS = [
    pa.field("_extra", pa.string()),
    pa.field("_source_row", pa.int64()),
    pa.field("_parse_error", pa.string()),
    pa.field("_agency", pa.string()),
    pa.field("_feed", pa.string()),
    pa.field("_source_file", pa.string()),
    pa.field("_file_sha256", pa.string()),
    pa.field("_file_mtime", pa.timestamp("us")),
    pa.field("_ingested_at", pa.timestamp("us")),
]
READER_FIELDS = ("_extra", "_source_row", "_parse_error")
FILE_FIELDS = ("_agency", "_feed", "_source_file", "_file_sha256", "_file_mtime", "_ingested_at")
"""The lineage columns of one value per file, added here (not by the reader)."""
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
RAW_EXPANSION = 50
RAW_EXPANSION_MIN = 1 << 30
"""A raw file may grow to RAW_EXPANSION times its landing file, and to RAW_EXPANSION_MIN whatever the
landing file's size: a few KiB of dictionary-encoded Parquet can stand for gigabytes of rows."""
STALE_TEMP_MARGIN = 300.0
"""Seconds beyond the read timeout after which an untouched temporary file has no live writer."""


class SourceChanged(Exception):
    """The landing file changed while it was read: its raw file is not published."""


def raw_schema(feed: str) -> pa.Schema:
    """Every canonical column as text, then the reader's and the lineage columns."""
    return pa.schema([pa.field(c, pa.string()) for c in feeds()[feed].column_names] + LINEAGE_FIELDS)


def raw_dir(warehouse: Path) -> Path:
    return Path(warehouse) / "raw"


def ledger_dir(warehouse: Path) -> Path:
    return raw_dir(warehouse) / "_ledger"


def raw_file(warehouse: Path, feed: str, sha256: str) -> Path:
    return raw_dir(warehouse) / feed / f"{sha256}.parquet"


def ledger_id(path: str, sha256: str) -> str:
    return hashlib.sha256(f"{path}\0{sha256}".encode()).hexdigest()[:32]


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(tmp: Path, final: Path) -> None:
    """fsync ``tmp``, rename it over ``final`` and fsync the directory."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fsync_dir(final.parent)


def _temp_beside(final: Path) -> Path:
    """A new empty file beside ``final`` (mode 0600); missing folders are created 0700."""
    _make_private_dirs(final.parent)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    return Path(name)


def _make_private_dirs(directory: Path) -> None:
    if directory.is_dir():
        return
    _make_private_dirs(directory.parent)
    try:
        directory.mkdir(mode=PRIVATE_DIR)
    except FileExistsError:
        pass
    os.chmod(directory, PRIVATE_DIR)  # whatever the umask


def make_private(root: Path) -> None:
    """Folders under ``root`` (itself included) 0700 and files 0600, links left alone (never followed)."""
    _tighten(root, PRIVATE_DIR)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            _tighten(Path(dirpath) / name, PRIVATE_DIR)
        for name in filenames:
            _tighten(Path(dirpath) / name, PRIVATE_FILE)


def _tighten(path: Path, mode: int) -> None:
    try:
        st = path.lstat()
        if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) & ~mode:
            os.chmod(path, stat.S_IMODE(st.st_mode) & mode)
    except FileNotFoundError:
        pass


def file_ref(warehouse: Path, rel: str) -> str:
    """An opaque, stable reference to a landing file: a keyed hash (HMAC-SHA-256) of its path.

    What names a file outside the raw store — a sensor's cursor, a run's config and
    tags in Dagster's storage — must not show its name, which may hold a personal
    number. The key is random per warehouse and lives in the raw store (``raw/_key``),
    so a reference cannot be reversed by trying names."""
    return hmac.new(_ref_key(warehouse), rel.encode("utf-8", "surrogateescape"), "sha256").hexdigest()[:32]


def _ref_key(warehouse: Path) -> bytes:
    path = raw_dir(warehouse) / "_key"
    if not path.exists():
        tmp = _temp_beside(path)
        try:
            tmp.write_bytes(os.urandom(32))
            os.link(tmp, path)  # atomic: the first writer's key wins, a second sees FileExistsError
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_bytes()


def sweep_stale_temp_files(warehouse: Path, *, older_than: float | None = None) -> list[Path]:
    """Remove the temporary files (``.*.tmp``) of the raw store not modified for ``older_than``
    seconds (default: the read timeout and a margin — a reader still writing touches its file with
    every batch, and none lives longer than the timeout); return those removed."""
    if older_than is None:
        older_than = read_timeout() + STALE_TEMP_MARGIN
    cutoff = time.time() - older_than
    removed = []
    root = raw_dir(warehouse)
    for folder in (root, ledger_dir(warehouse), *(root / feed for feed in FEED_NAMES)):
        try:
            with os.scandir(folder) as it:
                entries = [e for e in it if e.name.startswith(".") and e.name.endswith(".tmp")]
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except OSError:
                continue  # removed meanwhile
    return removed


def discard_partial_raw_file(warehouse: Path, feed: str, sha256: str) -> None:
    """Remove what a reader that died left of ``sha256``'s raw file (its temporary file)."""
    final = raw_file(warehouse, feed, sha256)
    for tmp in final.parent.glob(f".{final.name}.*.tmp"):
        tmp.unlink(missing_ok=True)


def ensure_layout(warehouse: Path) -> None:
    """Create the raw folders and a 0-row file per feed so dbt's globs never come up empty;
    the working-day calendar; the whole raw store private (``make_private``); stale
    temporary files swept."""
    from .calendar import write_calendar  # calendar.py writes through this module
    _make_private_dirs(raw_dir(warehouse))
    make_private(raw_dir(warehouse))
    sweep_stale_temp_files(warehouse)
    for feed in FEED_NAMES:
        empty = raw_dir(warehouse) / feed / "_empty.parquet"
        if not empty.exists():
            tmp = _temp_beside(empty)
            pq.write_table(raw_schema(feed).empty_table(), tmp)
            replace_atomically(tmp, empty)
    _make_private_dirs(ledger_dir(warehouse))
    placeholder = ledger_dir(warehouse) / "_empty.json"
    if not placeholder.exists():
        write_json_atomically(placeholder, {"path": None, "status": "placeholder"})
    write_calendar(warehouse)


def write_json_atomically(final: Path, body: dict) -> None:
    tmp = _temp_beside(final)
    tmp.write_text(json.dumps(body, ensure_ascii=False, sort_keys=True, default=str), encoding="utf-8")
    replace_atomically(tmp, final)


def raw_bytes_limit(source_bytes: int) -> int:
    """The most bytes a landing file's raw file may take (RAW_EXPANSION, RAW_EXPANSION_MIN)."""
    return max(RAW_EXPANSION * source_bytes, RAW_EXPANSION_MIN)


def write_raw_file(
    warehouse: Path,
    feed: str,
    batches: Iterable[pa.RecordBatch],
    *,
    agency: str,
    source_file: str,
    sha256: str,
    mtime: datetime,
    ingested_at: datetime,
    before_publish: Callable[[], bool] | None = None,
    max_rows: int | None = None,
    source_bytes: int | None = None,
) -> int:
    """Stream reader batches into the feed's raw Parquet file; return rows written.

    Each batch carries the canonical columns and the reader fields; lineage is
    added here. The file appears under its final name only when complete, and
    only if ``before_publish()`` (when given) is true then; else SourceChanged.
    A landing file is bounded while it is written: more than ``max_rows`` rows, or
    a raw file above ``raw_bytes_limit(source_bytes)``, raises FileRejected
    (``too_large``) and nothing is kept.
    """
    byte_limit = None if source_bytes is None else raw_bytes_limit(source_bytes)
    schema = raw_schema(feed)
    constants = {name: pa.scalar(value, schema.field(name).type)
                 for name, value in zip(FILE_FIELDS, (agency, feed, source_file, sha256, mtime, ingested_at))}
    final = raw_file(warehouse, feed, sha256)
    tmp = _temp_beside(final)
    rows = 0
    try:
        # Statistics (min/max) only for the lineage columns, which select and join files and
        # rows; nothing filters on a feed's own columns before staging has cleaned them, and
        # their statistics were a tenth of the writing. The per-file values are repeated in
        # Arrow, not built from Python lists (a fifth of a registration file's ingest).
        with pq.ParquetWriter(tmp, schema, compression="zstd",
                              write_statistics=[*FILE_FIELDS, "_source_row"]) as writer:
            for batch in batches:
                n = batch.num_rows
                if n == 0:
                    continue
                arrays = [
                    pa.repeat(constants[f.name], n) if f.name in constants else batch.column(f.name).cast(f.type)
                    for f in schema
                ]
                rows += n
                if max_rows is not None and rows > max_rows:
                    raise too_many_rows(rows, max_rows)
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                if byte_limit is not None and (written := os.stat(tmp).st_size) > byte_limit:
                    raise FileRejected(
                        "too_large", f"its rows expand to more than {format_bytes(written)} of raw data "
                                     f"from a {format_bytes(source_bytes)} file, above the limit of "
                                     f"{format_bytes(byte_limit)}; refused as an expansion bomb")
        if before_publish is not None and not before_publish():
            raise SourceChanged(source_file)
        replace_atomically(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows
