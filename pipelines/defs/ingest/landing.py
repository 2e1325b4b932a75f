"""The landing zone: find drops, decide what each one is, ingest the new ones.

``<landing>/<agency>/<feed>/<file>``. The folder is the agency's identity; the
bytes (SHA-256) are the file's. A file is ingested once: the same bytes under
another name are a duplicate, a file in the wrong place is rejected and left
where it is. Every decision is one ledger entry (docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from connectors.feeds import FEED_NAMES, feeds
from connectors.readers import FileRejected, open_drop

from .raw_store import ensure_layout, ledger_dir, ledger_id, write_json_atomically, write_raw_file
from .registry import Agency, load_registry, write_registry

log = logging.getLogger(__name__)

FORMATS = {".csv", ".xlsx", ".xls", ".parquet", ".jsonl"}
IN_PROGRESS_PREFIXES = (".", "~$")
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".crdownload")
HASH_CHUNK = 4 << 20


def is_in_progress(name: str) -> bool:
    """Files still being written by their sender (CONTRACT §1): never touched."""
    return name.startswith(IN_PROGRESS_PREFIXES) or name.lower().endswith(IN_PROGRESS_SUFFIXES)


@dataclass(frozen=True)
class LandingFile:
    path: Path  # absolute
    rel: str  # relative to the landing zone, POSIX separators
    size: int
    mtime_ns: int

    @property
    def mtime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.rel.split("/"))


def scan_landing(landing: Path) -> list[LandingFile]:
    """Every candidate file in the landing zone, oldest first (mtime, then name).

    Symbolic links are listed (so they can be rejected) but never followed.
    """
    landing = Path(landing)
    found: list[LandingFile] = []
    if not landing.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(landing, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if is_in_progress(name):
                continue
            path = Path(dirpath) / name
            try:
                st = path.lstat()
            except FileNotFoundError:  # removed while we looked
                continue
            rel = path.relative_to(landing).as_posix()
            found.append(LandingFile(path=path, rel=rel, size=st.st_size, mtime_ns=st.st_mtime_ns))
    found.sort(key=lambda f: (f.mtime_ns, f.rel))
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Decision:
    """What ingestion concluded about one file; becomes its ledger entry."""

    rel: str
    sha256: str | None
    size: int
    mtime_ns: int
    agency: str | None
    feed: str | None
    status: str  # ingested | duplicate | rejected
    rows_read: int = 0
    error_code: str | None = None
    error: str | None = None
    duplicate_of: str | None = None
    format: str | None = None
    encoding: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float | None = None  # hashing + reading + writing the raw file



def place_of(file: LandingFile, landing: Path, registry: dict[str, Agency]) -> tuple[str | None, str | None, str | None, str | None]:
    """(agency, feed, error_code, error) from where a file lies; error when it may not be taken."""
    parts = file.parts
    if any(ch in file.rel for ch in "\n\r\0") or any(p in ("", "..") for p in parts):
        return None, None, "bad_name", f"{file.rel!r}: file names with control characters or '..' are not accepted"
    if file.path.is_symlink():
        target = os.path.realpath(file.path)
        inside = Path(target).is_relative_to(os.path.realpath(landing))
        where = "inside" if inside else "outside"
        return None, None, "symlink", f"{file.rel}: symbolic link to a path {where} the landing zone; drop the file itself"
    if len(parts) != 3:
        return None, None, "bad_location", (
            f"{file.rel}: files must be dropped as <agency>/<feed>/<file> (feeds: {', '.join(FEED_NAMES)})"
        )
    agency, feed, name = parts
    if agency not in registry:
        return agency, feed, "unknown_agency", f"{file.rel}: agency folder {agency!r} is not in the agency registry"
    if feed not in FEED_NAMES:
        return agency, feed, "unknown_feed", f"{file.rel}: {feed!r} is not a feed (feeds: {', '.join(FEED_NAMES)})"
    if feed not in registry[agency].feeds:
        allowed = ", ".join(registry[agency].feeds) or "none"
        return agency, feed, "feed_not_allowed", f"{file.rel}: agency {agency} may not drop {feed} (allowed: {allowed})"
    if Path(name).suffix.lower() not in FORMATS:
        return agency, feed, "unsupported_format", (
            f"{file.rel}: unsupported file type; drop one of {', '.join(sorted(FORMATS))}"
        )
    return agency, feed, None, None


def load_ledger(warehouse: Path) -> dict[tuple[str, str], dict]:
    entries: dict[tuple[str, str], dict] = {}
    directory = ledger_dir(warehouse)
    if not directory.is_dir():
        return entries
    for path in directory.glob("*.json"):
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("path") is not None:
            entries[(body["path"], body["sha256"])] = body
    return entries


@dataclass
class IngestReport:
    decisions: list[Decision]
    skipped: int  # files already in the ledger, untouched

    def counts(self) -> Counter:
        return Counter(d.status for d in self.decisions)

    def rows_by_feed(self) -> dict[str, int]:
        rows: Counter = Counter()
        for d in self.decisions:
            if d.status == "ingested":
                rows[d.feed] += d.rows_read
        return dict(rows)


def ingest_landing(
    landing: Path,
    warehouse: Path,
    agencies: Path,
    *,
    only: list[str] | None = None,
    now: datetime | None = None,
) -> IngestReport:
    """Ingest every new file of the landing zone (or only the ``only`` relative paths).

    Files already decided (same path and bytes, ingested or duplicate) are
    skipped. Rejected files are looked at again each time, so a file rejected
    because the registry lacked its agency goes through once the registry
    lists it; its ledger entry is replaced, not repeated.
    """
    landing, warehouse = Path(landing).resolve(), Path(warehouse).resolve()
    registry = load_registry(agencies)
    ensure_layout(warehouse)
    write_registry(warehouse, registry)
    ledger = load_ledger(warehouse)
    by_path_stat = {(e["path"], e.get("bytes"), e.get("mtime_ns")): e["sha256"] for e in ledger.values()}
    ingested_sha = {e["sha256"]: e["path"] for e in ledger.values() if e["status"] == "ingested"}

    files = scan_landing(landing)
    if only is not None:
        wanted = set(only)
        files = [f for f in files if f.rel in wanted]
    now = now or datetime.now()
    decided: dict[int, Decision] = {}  # by the file's place in `files`, so the report keeps their order
    skipped = 0

    def record(i: int, decision: Decision, seconds: float) -> None:
        decision.seconds = round(seconds, 3)
        previous = ledger.get((decision.rel, decision.sha256 or ""))
        _record(warehouse, decision, first_seen=previous.get("first_seen_at") if previous else None, now=now)
        log.info("%s %s%s", decision.status, decision.rel, f": {decision.error}" if decision.error else "")
        decided[i] = decision
        if decision.status == "ingested":
            ingested_sha[decision.sha256] = decision.rel

    def duplicate_or_none(file: LandingFile, sha: str, agency: str, feed: str) -> Decision | None:
        if sha in ingested_sha and ingested_sha[sha] != file.rel:
            return Decision(
                file.rel, sha, file.size, file.mtime_ns, agency, feed, "duplicate",
                duplicate_of=ingested_sha[sha],
                error=f"same bytes as {ingested_sha[sha]} (already ingested); nothing changes",
            )
        return None

    # 1. every decision that needs no reading, in file order; the files to read are collected
    to_read: list[_Read] = []
    later: list[_Read] = []  # the same bytes as a file to read before them: decided after it
    reading: set[str] = set()
    placed = [(file, place_of(file, landing, registry)) for file in files]

    def hashed(item: tuple[LandingFile, tuple]) -> tuple[str | None, float]:
        file, (_, _, code, _) = item
        started = time.perf_counter()
        sha = None if code in ("symlink", "bad_name") else _hash_or_none(file, by_path_stat)
        return sha, time.perf_counter() - started

    # hashing releases the interpreter lock: a file per core, the results taken in file order
    with ThreadPoolExecutor(max_workers=_read_workers(), thread_name_prefix="hash") as hashing:
        for i, ((file, (agency, feed, code, error)), (sha, seconds)) in enumerate(zip(placed, hashing.map(hashed, placed))):
            if code is not None:
                decision = Decision(file.rel, sha, file.size, file.mtime_ns, agency, feed, "rejected", error_code=code, error=error)
                record(i, decision, seconds)
                continue
            if sha is None:
                continue  # vanished or unreadable between listing and hashing: next run
            previous = ledger.get((file.rel, sha))
            if previous is not None and previous["status"] in ("ingested", "duplicate"):
                skipped += 1
                continue
            if (decision := duplicate_or_none(file, sha, agency, feed)) is not None:
                record(i, decision, seconds)
            elif sha in reading:
                later.append(_Read(i, file, sha, agency, feed, seconds))
            else:
                reading.add(sha)
                to_read.append(_Read(i, file, sha, agency, feed, seconds))

    # 2. the files read (several at a time when worth it), each recorded as soon as it is done
    for read, decision, seconds in _read_files(to_read, warehouse, now):
        record(read.index, decision, read.hash_seconds + seconds)
    # 3. a second copy of bytes read in step 2: a duplicate if the first was ingested, else read itself
    for read in later:
        started = time.perf_counter()
        decision = duplicate_or_none(read.file, read.sha, read.agency, read.feed) or _ingest_one(
            read.file, read.sha, read.agency, read.feed, warehouse, now)
        record(read.index, decision, read.hash_seconds + time.perf_counter() - started)
    return IngestReport(decisions=[decided[i] for i in sorted(decided)], skipped=skipped)


@dataclass(frozen=True)
class _Read:
    index: int  # place in the scan
    file: LandingFile
    sha: str
    agency: str
    feed: str
    hash_seconds: float


READ_WORKERS = max(1, min(2, os.cpu_count() or 1))
"""Files hashed and read at a time by `ssj run` (SSJ_INGEST_WORKERS overrides). Reading one
file keeps one core busy (decoding, header mapping, the Parquet write): with two
cores, two files at a time (10M enterprises: 125 s of reading, one file after
another). Worker processes are started only for at least PARALLEL_MIN_BYTES of
files to read: a drop of one file or a few small ones is read in the process."""
PARALLEL_MIN_BYTES = 64 << 20


def _read_workers() -> int:
    value = os.environ.get("SSJ_INGEST_WORKERS")
    return max(1, int(value)) if value else READ_WORKERS


def _read_files(reads: list[_Read], warehouse: Path, now: datetime):
    """Yield (read, decision, seconds) for every file of ``reads``, in the order they finish."""
    workers = min(_read_workers(), len(reads))
    if workers > 1 and sum(r.file.size for r in reads) >= PARALLEL_MIN_BYTES:
        # spawned, not forked: the parent holds DuckDB and Dagster threads
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        pending: dict = {}
        try:
            # the largest first: the last file to start is a small one
            for read in sorted(reads, key=lambda r: (-r.file.size, r.index)):
                pending[pool.submit(_timed_ingest, read.file, read.sha, read.agency, read.feed, warehouse, now)] = read
            for future in as_completed(pending):
                decision, seconds = future.result()  # raises BrokenProcessPool before the file leaves `pending`
                yield pending.pop(future), decision, seconds
        except BrokenProcessPool:
            log.warning("a file reader process died; reading the %d files left one by one in this process", len(pending))
            reads = sorted(pending.values(), key=lambda r: r.index)
        else:
            return
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    for read in reads:
        decision, seconds = _timed_ingest(read.file, read.sha, read.agency, read.feed, warehouse, now)
        yield read, decision, seconds


def _timed_ingest(file: LandingFile, sha: str, agency: str, feed: str, warehouse: Path, now: datetime) -> tuple[Decision, float]:
    started = time.perf_counter()
    decision = _ingest_one(file, sha, agency, feed, warehouse, now)
    return decision, time.perf_counter() - started


def _hash_or_none(file: LandingFile, known: dict) -> str | None:
    cached = known.get((file.rel, file.size, file.mtime_ns))
    if cached:
        return cached
    try:
        return sha256_of(file.path)
    except OSError:
        return None


def _ingest_one(file: LandingFile, sha: str, agency: str, feed: str, warehouse: Path, now: datetime) -> Decision:
    base = dict(rel=file.rel, sha256=sha, size=file.size, mtime_ns=file.mtime_ns, agency=agency, feed=feed)
    try:
        reader = open_drop(file.path, feeds()[feed])
        rows = write_raw_file(
            warehouse, feed, reader.batches(), agency=agency, source_file=file.rel, sha256=sha,
            mtime=file.mtime, ingested_at=now,
        )
    except FileRejected as exc:
        return Decision(**base, status="rejected", error_code=exc.code, error=f"{file.rel}: {exc.message}")
    except Exception as exc:  # noqa: BLE001 - a reader bug must not lose the file or stop the others
        log.exception("reading %s failed", file.rel)
        return Decision(
            **base, status="rejected", error_code="unreadable",
            error=f"{file.rel}: could not be read ({type(exc).__name__}: {str(exc)[:300]})",
        )
    return Decision(
        **base, status="ingested", rows_read=rows, format=reader.format, encoding=reader.encoding,
        headers=reader.header_map.describe(),
    )


def _record(warehouse: Path, d: Decision, *, first_seen: str | None, now: datetime) -> None:
    key = ledger_id(d.rel, d.sha256 or f"nohash:{d.size}:{d.mtime_ns}")
    write_json_atomically(
        ledger_dir(warehouse) / f"{key}.json",
        {
            "path": d.rel,
            "agency": d.agency,
            "feed": d.feed,
            "sha256": d.sha256,
            "bytes": d.size,
            "mtime_ns": d.mtime_ns,
            "mtime": datetime.fromtimestamp(d.mtime_ns / 1e9).isoformat(sep=" "),
            "status": d.status,
            "rows_read": d.rows_read,
            "error_code": d.error_code,
            "error": d.error,
            "duplicate_of": d.duplicate_of,
            "format": d.format,
            "encoding": d.encoding,
            "headers": d.headers,
            "first_seen_at": first_seen or now.isoformat(sep=" "),
            "processed_at": now.isoformat(sep=" "),
            "seconds": d.seconds,
        },
    )
