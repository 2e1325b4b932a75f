"""The landing zone: find drops, decide what each one is, ingest the new ones.

``<landing>/<agency>/<feed>/<file>``. The folder is the agency's identity; the
bytes (SHA-256) are the file's. A file is ingested once: the same bytes under
another name are a duplicate, a file in the wrong place is rejected and left
where it is. Every decision is one ledger entry (docs/architecture.md).

The landing zone is a trust boundary: whatever lies there — a name that is not
UTF-8, a named pipe, a link to a device, a workbook that would take all memory —
becomes one rejected ledger entry and never stops the run for the other files.
The scan lists only ``<landing>/<agency>/<feed>/`` (a folder deeper is one rejected
entry, never walked), and an entry it cannot examine is a rejected entry too. A
file is opened without following any link on its path (``open_landing_file``:
folder by folder from the landing zone down, never blocking), checked against a
size bound, hashed and closed; the reader opens it again the same way, checks it
is the very file hashed, and reads it in a worker process (``reader_pool``) that
may die without taking the run with them.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import stat
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from connectors.feeds import FEED_NAMES, feeds
from connectors.personal import mask_text
from connectors.readers import FileRejected, max_file_rows, open_drop

from .raw_store import (
    SourceChanged, discard_partial_raw_file, ensure_layout, file_ref, ledger_dir, ledger_id, write_json_atomically,
    write_raw_file,
)
from .reader_pool import Failed, ReaderPool, describe_exception, format_bytes, parse_bytes
from .registry import Agency, load_registry, write_registry

log = logging.getLogger(__name__)

FORMATS = {".csv", ".xlsx", ".xls", ".parquet", ".jsonl"}
IN_PROGRESS_PREFIXES = (".", "~$")
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".crdownload")
HASH_CHUNK = 4 << 20
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
"""How a landing file is opened: never through a link, never waiting on a pipe or device."""
FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
"""How each folder on a landing file's path is opened, from the landing zone down: never through a link."""
FEED_DEPTH = 2
"""``<agency>/<feed>/``: the deepest folder the scan lists; a folder inside it is rejected, not entered."""
DEFAULT_MAX_FILE_BYTES = 64 << 30
"""Largest landing file hashed and read (SSJ_MAX_FILE_BYTES); a larger one is ``too_large`` from its fstat."""
NOT_RETRIED = ("too_large", "read_timeout", "reader_died")
"""Rejections that cost a reader its memory, its time or its life: the same bytes at the same path are
not read again (a new version is). Deleting the file's ledger entry makes the next run read it."""
KINDS = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "folder",
    stat.S_IFLNK: "symlink",
    stat.S_IFIFO: "named pipe (FIFO)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


def is_in_progress(name: str) -> bool:
    """Files still being written by their sender (docs/contract.md §1): never touched."""
    return name.startswith(IN_PROGRESS_PREFIXES) or name.lower().endswith(IN_PROGRESS_SUFFIXES)


@dataclass(frozen=True)
class LandingFile:
    path: Path  # absolute; a name that is not UTF-8 is held with surrogate escapes (os.fsencode gives its bytes)
    rel: str  # relative to the landing zone, POSIX separators, always printable text (see printable_name)
    size: int
    mtime_ns: int
    kind: str = "file"  # a value of KINDS: what lstat says lies there
    utf8: bool = True  # whether every part of the relative path is UTF-8 text
    root: Path | None = None  # the landing zone it was found in (opening walks down from it)
    error: str | None = None  # why it could not be examined (an OSError met by the scan); no path in it

    @property
    def mtime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.rel.split("/"))


def printable_name(raw: bytes) -> str:
    """A file name's bytes as text: itself when UTF-8; otherwise every backslash doubled and every
    byte that is not UTF-8 written ``\\xNN`` — printable, and mapping back to exactly those bytes."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def scan_landing(landing: Path) -> list[LandingFile]:
    """Every candidate entry in the landing zone, oldest first (mtime, then name).

    Only ``lstat`` is asked: nothing is opened, so a named pipe or a device cannot
    block the scan. Symbolic links (to files or folders) and special files are
    listed, so they can be rejected, but never followed or opened. Folders are
    entered down to ``<agency>/<feed>/`` only: a folder inside a feed folder is
    listed as one entry (rejected ``bad_location``) and never walked, so no tree,
    however deep or long its names, costs more than its first three levels. An
    entry that cannot be examined (permissions, a name the system refuses) is
    listed with its ``error``; the scan itself never raises for what lies there.
    """
    landing = Path(landing)
    found: list[LandingFile] = []
    try:
        is_folder = stat.S_ISDIR(os.stat(landing).st_mode)
    except OSError:
        is_folder = False
    if not is_folder:
        return found
    folders: list[tuple[Path, int, os.stat_result | None]] = [(landing, 0, None)]
    while folders:
        folder, depth, st = folders.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except FileNotFoundError:
            continue  # removed while we looked
        except OSError as e:
            if st is None:  # the landing zone itself
                log.warning("the landing zone cannot be listed (%s)", e.strerror)
            else:
                found.append(_landing_file(landing, folder, st, error=f"the folder cannot be listed ({e.strerror})"))
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                entry_st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as e:
                if not is_in_progress(entry.name):
                    found.append(_unexamined(landing, path, f"cannot be examined ({e.strerror})"))
                continue
            if stat.S_ISDIR(entry_st.st_mode):
                if entry.name.startswith("."):
                    continue
                if depth < FEED_DEPTH:
                    folders.append((path, depth + 1, entry_st))
                else:
                    found.append(_landing_file(landing, path, entry_st))
            elif not is_in_progress(entry.name):
                found.append(_landing_file(landing, path, entry_st))
    found.sort(key=lambda f: (f.mtime_ns, f.rel))
    return found


def _landing_file(landing: Path, path: Path, st: os.stat_result, error: str | None = None) -> LandingFile:
    raw = os.fsencode(path.relative_to(landing).as_posix())
    rel = printable_name(raw)
    kind = KINDS.get(stat.S_IFMT(st.st_mode), "special file")
    return LandingFile(path=path, rel=rel, size=st.st_size, mtime_ns=st.st_mtime_ns, kind=kind,
                       utf8=os.fsencode(rel) == raw, root=landing, error=error)


def _unexamined(landing: Path, path: Path, error: str) -> LandingFile:
    raw = os.fsencode(path.relative_to(landing).as_posix())
    rel = printable_name(raw)
    return LandingFile(path=path, rel=rel, size=0, mtime_ns=0, kind="special file",
                       utf8=os.fsencode(rel) == raw, root=landing, error=error)


class NotAFile(Exception):
    """What lies at a landing path cannot be read as a file: ``code`` (symlink, not_a_file) and why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def open_landing_file(landing: Path, path: Path) -> tuple[int, os.stat_result]:
    """Open a landing file for hashing and reading: (descriptor, its fstat).

    Each folder from ``landing`` down to the file's is opened relative to the one
    above it without following a link (``O_DIRECTORY | O_NOFOLLOW``), and the file
    relative to its folder (``O_NOFOLLOW | O_NONBLOCK``): a folder swapped for a
    link after the scan cannot lead outside the agency's folder, and a named pipe
    opens at once. Raises NotAFile unless a regular file was opened, and OSError
    (FileNotFoundError when it is gone) when it cannot be opened."""
    parts = Path(path).relative_to(landing).parts
    if not parts or any(p in ("", ".", "..") for p in parts):
        raise NotAFile("bad_name", "not a path inside the landing zone")
    folder = os.open(landing, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, FOLDER_FLAGS, dir_fd=folder)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(part, folder):
                    raise NotAFile("symlink", "a folder on its path is a symbolic link; links are not followed") from e
                raise
            os.close(folder)
            folder = inner
        try:
            fd = os.open(parts[-1], OPEN_FLAGS, dir_fd=folder)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise NotAFile("symlink", "symbolic link; drop the file itself") from e
            if e.errno == errno.ENXIO:
                raise NotAFile("not_a_file", "a socket, not a regular file; drop the file itself") from e
            raise
    finally:
        os.close(folder)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = KINDS.get(stat.S_IFMT(st.st_mode), "special file")
        raise NotAFile("not_a_file", f"a {kind}, not a regular file; drop the file itself")
    return fd, st


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What makes an opened file the one that was hashed: same inode, size, mtime and ctime."""
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def max_file_bytes() -> int:
    value = os.environ.get("SSJ_MAX_FILE_BYTES")
    return parse_bytes(value) if value else DEFAULT_MAX_FILE_BYTES


def size_refusal(size: int) -> str | None:
    """Why a landing file of ``size`` bytes is not hashed or read (``too_large``), or None."""
    limit = max_file_bytes()
    if size > limit:
        return (f"{size} bytes ({format_bytes(size)}), above the limit of {format_bytes(limit)} "
                "(SSJ_MAX_FILE_BYTES); not read")
    return None


def sha256_of_fd(fd: int) -> str:
    """SHA-256 of an open file's bytes, read from the start (the descriptor's position is left alone)."""
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, HASH_CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
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
    shown = file.rel if file.rel.isprintable() else repr(file.rel)
    if not file.utf8:
        return None, None, "bad_name", (
            f"{shown}: the file or folder name is not UTF-8 text (shown with each undecodable byte as \\xNN); "
            "rename it")
    if any(ch in file.rel for ch in "\n\r\0") or any(p in ("", "..") for p in parts):
        return None, None, "bad_name", f"{shown}: file names with control characters or '..' are not accepted"
    if file.error is not None:
        return None, None, "unreadable", f"{file.rel}: {file.error}"
    if file.kind == "symlink":
        return None, None, "symlink", (
            f"{file.rel}: symbolic link; links are never followed, wherever they point: drop the file itself")
    if file.kind == "folder":
        return None, None, "bad_location", (
            f"{file.rel}: a folder inside a feed folder; its contents are not looked at: files must be dropped "
            f"as <agency>/<feed>/<file> (feeds: {', '.join(FEED_NAMES)})")
    if file.kind != "file":
        return None, None, "not_a_file", f"{file.rel}: a {file.kind}, not a regular file; drop the file itself"
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
    """Ingest every new file of the landing zone (or only the files whose ``file_ref`` is in ``only``).

    Files already decided (same path and bytes, ingested or duplicate) are
    skipped. Rejected files are looked at again each time, so a file rejected
    because the registry lacked its agency goes through once the registry
    lists it; its ledger entry is replaced, not repeated. The exception: a file
    that was too large, took too long or killed its reader (NOT_RETRIED) is not
    read again while its path and bytes are unchanged. A file whose bytes
    change while it is read is left for the next run.
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
        files = [f for f in files if file_ref(warehouse, f.rel) in wanted]
    now = now or datetime.now()
    decided: dict[int, Decision] = {}  # by the file's place in `files`, so the report keeps their order
    skipped = 0

    def record(i: int, decision: Decision, seconds: float) -> None:
        decision.seconds = round(seconds, 3)
        decision.error = mask_text(decision.error)
        previous = ledger.get((decision.rel, decision.sha256))
        _record(warehouse, decision, first_seen=previous.get("first_seen_at") if previous else None, now=now)
        log.info("%s %s%s", decision.status, mask_text(decision.rel), f": {decision.error}" if decision.error else "")
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

    def settled(file: LandingFile, sha: str) -> bool:
        """Already decided for good with the same path and bytes: ingested or duplicate, or refused
        as too costly to read (NOT_RETRIED)."""
        previous = ledger.get((file.rel, sha))
        return previous is not None and (previous["status"] in ("ingested", "duplicate") or (
            previous["status"] == "rejected" and previous.get("error_code") in NOT_RETRIED))

    def still_too_large(file: LandingFile, code: str) -> bool:
        """Refused by its size again (under the current limit), as at the last run: same size and mtime."""
        previous = ledger.get((file.rel, None))
        return code == "too_large" and previous is not None and previous.get("error_code") == code and (
            previous.get("bytes"), previous.get("mtime_ns")) == (file.size, file.mtime_ns)

    def record_outcomes(outcomes) -> None:
        for read, outcome in outcomes:
            if outcome is None:
                log.info("%s changed while it was being read; left for the next run", mask_text(read.file.rel))
            else:
                record(read.index, outcome[0], read.hash_seconds + outcome[1])

    # 1. every decision that needs no reading, in file order; the files to read are collected.
    # Each file is opened, hashed and closed here (never more open than hashing threads): the
    # reader opens it again and reads it only if it is the very file that was hashed.
    to_read: list[_Read] = []
    later: list[_Read] = []  # the same bytes as a file to read before them: decided after it
    reading: set[str] = set()
    placed = [(file, place_of(file, landing, registry)) for file in files]

    def opened(item: tuple[LandingFile, tuple]) -> tuple[_Opened, float]:
        file, (_, _, code, _) = item
        started = time.perf_counter()
        result = _Opened(file) if code in UNOPENED or file.kind != "file" else _open_and_hash(file, by_path_stat)
        return result, time.perf_counter() - started

    # hashing releases the interpreter lock: a file per core, the results taken in file order
    with ThreadPoolExecutor(max_workers=_read_workers(), thread_name_prefix="hash") as hashing:
        for i, ((_, (agency, feed, code, error)), (op, seconds)) in enumerate(
                zip(placed, hashing.map(opened, placed))):
            file, sha = op.file, op.sha
            if op.code is not None:  # what the open found overrides what the name said
                code, error = op.code, f"{file.rel}: {op.error}"
            if code is not None:
                if sha is None and still_too_large(file, code):
                    skipped += 1
                else:
                    record(i, Decision(file.rel, sha, file.size, file.mtime_ns, agency, feed, "rejected",
                                       error_code=code, error=error), seconds)
                continue
            if sha is None:
                continue  # vanished between listing and opening: next run
            if settled(file, sha):
                skipped += 1
                continue
            if (decision := duplicate_or_none(file, sha, agency, feed)) is not None:
                record(i, decision, seconds)
            elif sha in reading:
                later.append(_Read(i, file, sha, agency, feed, seconds, op.identity))
            else:
                reading.add(sha)
                to_read.append(_Read(i, file, sha, agency, feed, seconds, op.identity))

    # 2. the files read by the reader workers, each recorded as soon as it is done
    with ReaderPool(read_landing_file, _pool_size(to_read)) as pool:
        record_outcomes(_read_files(pool, to_read, warehouse, now))
        # 3. a second copy of bytes read in step 2: a duplicate if the first was ingested, else read itself
        again: list[_Read] = []
        for read in later:
            if (decision := duplicate_or_none(read.file, read.sha, read.agency, read.feed)) is not None:
                record(read.index, decision, read.hash_seconds)
            else:
                again.append(read)
        record_outcomes(_read_files(pool, again, warehouse, now))
    return IngestReport(decisions=[decided[i] for i in sorted(decided)], skipped=skipped)


UNOPENED = ("symlink", "bad_name", "not_a_file", "unreadable")
"""Placement rejections for which nothing is opened (every other rejected file is hashed, as a key)."""


@dataclass(frozen=True)
class _Opened:
    """A landing file opened, hashed and closed in the parent: its identity, or why it cannot be read."""

    file: LandingFile
    identity: tuple | None = None
    sha: str | None = None
    code: str | None = None
    error: str | None = None


def _open_and_hash(file: LandingFile, known: dict) -> _Opened:
    """Open ``file``, hash it from that descriptor (the ledger's hash of the same path, size and mtime
    is trusted) and close it. A file above SSJ_MAX_FILE_BYTES is refused from its fstat, unhashed."""
    try:
        fd, st = open_landing_file(file.root or file.path.parent, file.path)
    except NotAFile as e:
        return _Opened(file, code=e.code, error=e.message)
    except FileNotFoundError:
        return _Opened(file)
    except OSError as e:
        return _Opened(file, code="unreadable", error=f"cannot be opened ({e.strerror})")
    try:
        file = replace(file, size=st.st_size, mtime_ns=st.st_mtime_ns)
        if (refusal := size_refusal(st.st_size)) is not None:
            return _Opened(file, code="too_large", error=refusal)
        try:
            sha = known.get((file.rel, file.size, file.mtime_ns)) or sha256_of_fd(fd)
        except OSError as e:
            return _Opened(file, code="unreadable", error=f"could not be read ({e.strerror})")
        return _Opened(file, identity(st), sha)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class _Read:
    index: int  # place in the scan
    file: LandingFile
    sha: str
    agency: str
    feed: str
    hash_seconds: float
    identity: tuple  # of the file as hashed (see identity())


@dataclass(frozen=True)
class _Job:
    """What a reader worker needs to read one landing file."""

    rel: str
    sha: str
    size: int
    mtime_ns: int
    agency: str
    feed: str
    warehouse: Path
    now: datetime
    root: Path | None = None  # the landing zone and the file's path in it: where the worker opens it
    path: Path | None = None
    identity: tuple | None = None  # of the file as hashed: anything else found there is not read

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]

    @property
    def mtime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9)


READ_WORKERS = max(1, min(2, os.cpu_count() or 1))
"""Reader worker processes of `ssj run` (SSJ_INGEST_WORKERS overrides); the files are hashed as
many at a time. Reading one file keeps one core busy (decoding, header mapping, the Parquet
write): with two cores, two files at a time (10M enterprises: 125 s of reading, one file after
another). A second worker is started only for at least PARALLEL_MIN_BYTES of files to read: a
drop of one file or a few small ones is read by one."""
PARALLEL_MIN_BYTES = 64 << 20


def _read_workers() -> int:
    value = os.environ.get("SSJ_INGEST_WORKERS")
    return max(1, int(value)) if value else READ_WORKERS


def _pool_size(reads: list[_Read]) -> int:
    if sum(r.file.size for r in reads) < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(_read_workers(), len(reads)))


def _read_files(pool: ReaderPool, reads: list[_Read], warehouse: Path, now: datetime):
    """Yield (read, (decision, seconds) or None when the file changed) for every file of ``reads``,
    in the order they finish; the largest are started first, so the last is a small one. No
    descriptor is held here: each worker opens its file when it takes it."""
    order = sorted(reads, key=lambda r: (-r.file.size, r.index))
    tasks = [(_Job(r.file.rel, r.sha, r.file.size, r.file.mtime_ns, r.agency, r.feed, warehouse, now,
                   root=r.file.root, path=r.file.path, identity=r.identity), None) for r in order]
    for k, result in pool.map(tasks):
        read = order[k]
        if isinstance(result, Failed):
            discard_partial_raw_file(warehouse, read.feed, read.sha)  # what the dead worker was writing
            base = dict(rel=read.file.rel, sha256=read.sha, size=read.file.size, mtime_ns=read.file.mtime_ns,
                        agency=read.agency, feed=read.feed)
            result = Decision(**base, status="rejected", error_code=result.code,
                              error=f"{read.file.rel}: {result.message}"), 0.0
        yield read, result


def read_landing_file(job: _Job, fd: int | None = None) -> tuple[Decision, float] | None:
    """In a reader worker: read a landing file into the raw store.

    Without ``fd``, the file is opened here as it was opened for hashing (``open_landing_file``)
    and read only if it is the file that was hashed (same inode, size, mtime and ctime);
    with ``fd``, from that descriptor. The readers open ``/proc/self/fd/<fd>``: the very
    file checked, whatever has happened to its name since. Its decision is returned only if
    its bytes still hash to the scan's SHA-256 and its size, mtime and ctime did not move
    while it was read; otherwise None (and no raw file is left): the file is read by the next run."""
    started = time.perf_counter()
    if fd is None:
        try:
            fd, st = open_landing_file(job.root, job.path)
        except (NotAFile, OSError):
            return None  # gone, or no longer a file: the next run decides what lies there
        try:
            if identity(st) != job.identity:
                return None
            return read_landing_file(job, fd)
        finally:
            os.close(fd)
    before = os.fstat(fd)

    def unchanged() -> bool:
        return _same_state(before, os.fstat(fd)) and sha256_of_fd(fd) == job.sha

    decision = _ingest_one(job, Path(f"/proc/self/fd/{fd}"), unchanged)
    return None if decision is None else (decision, time.perf_counter() - started)


def _same_state(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (b.st_size, b.st_mtime_ns, b.st_ctime_ns)


def _ingest_one(job: _Job, source: Path, unchanged) -> Decision | None:
    base = dict(rel=job.rel, sha256=job.sha, size=job.size, mtime_ns=job.mtime_ns, agency=job.agency, feed=job.feed)
    try:
        reader = open_drop(source, feeds()[job.feed], name=job.name)
        rows = write_raw_file(
            job.warehouse, job.feed, reader.batches(), agency=job.agency, source_file=job.rel, sha256=job.sha,
            mtime=job.mtime, ingested_at=job.now, before_publish=unchanged,
            max_rows=max_file_rows(), source_bytes=job.size,
        )
    except SourceChanged:
        return None
    except FileRejected as exc:
        if not unchanged():
            return None
        return Decision(**base, status="rejected", error_code=exc.code, error=f"{job.rel}: {exc.message}")
    except MemoryError:
        raise  # the reader pool reports it: too_large
    except Exception as exc:  # noqa: BLE001 - a reader bug must not lose the file or stop the others
        # its kind and place only: the message and the traceback may quote the file's values
        if not unchanged():
            return None
        return Decision(
            **base, status="rejected", error_code="unreadable",
            error=f"{job.rel}: could not be read (an unexpected {describe_exception(exc)} in the reader)",
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
