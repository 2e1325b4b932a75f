"""Snapshots: every successful run publishes all its tables together (docs/downstream.md).

Layout under the warehouse::

    published -> snapshots/<snapshot_id>      a relative symlink: the current snapshot
    snapshots/<snapshot_id>/<table>.parquet   every published table, complete in every snapshot
    snapshots/<snapshot_id>/changes.parquet   what this snapshot changed against the previous one
    snapshots/<snapshot_id>/_snapshot.json    id, previous id, as_of, created_at, engine, rows + sha256 per file
    snapshots/.pending-<run id>/              the next snapshot while a run writes it

A run writes its tables into its pending folder (``pending_dir``); ``complete_snapshot``
then hard-links the tables the run did not rebuild from the current snapshot (a
draws build republishes only the draw-list tables), computes ``changes``, writes
``_snapshot.json``, renames the folder to its id and switches ``published`` with one
``os.replace`` of a new symlink over the old: a reader that resolves ``published``
once reads one snapshot, whole, whatever runs meanwhile. Only the last
``SSJ_KEEP_SNAPSHOTS`` (default 7) snapshots are kept, and every snapshot a published
draw was made from (``pinned_snapshots``). Everything here runs under the
warehouse's writer lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines.defs.ingest.raw_store import fsync_dir

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "_snapshot.json"
CHANGES = "changes"
ENGINE = "duckdb"
DEFAULT_KEEP = 7
FILE_MODE = 0o644

CHANGE_TABLES = ("enterprise_pool", "inspector_pool", "joint_inspections")
"""The tables ``changes`` tracks, each by its one-column unique key (parquet.UNIQUE_KEYS)."""

SNAPSHOT_ID = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")
"""What a snapshot id looks like (the UTC creation time, to the microsecond)."""
_PENDING = ".pending-"


class SnapshotError(RuntimeError):
    """A snapshot cannot be completed or read; the message says what to do."""


def snapshots_dir(warehouse: Path) -> Path:
    return Path(warehouse) / "snapshots"


def published_link(warehouse: Path) -> Path:
    return Path(warehouse) / "published"


def pending_dir(warehouse: Path, run_id: str) -> Path:
    """Where run ``run_id`` writes the next snapshot's tables."""
    return snapshots_dir(warehouse) / f"{_PENDING}{run_id}"


def keep_snapshots(env: Mapping[str, str] | None = None) -> int:
    """How many snapshots to keep (``SSJ_KEEP_SNAPSHOTS``, at least 1; default 7)."""
    value = (os.environ if env is None else env).get("SSJ_KEEP_SNAPSHOTS") or str(DEFAULT_KEEP)
    if not value.isdigit() or int(value) < 1:
        raise SnapshotError(f"SSJ_KEEP_SNAPSHOTS={value!r}: expected a whole number of snapshots, 1 or more")
    return int(value)


def current_dir(warehouse: Path) -> Path | None:
    """The current snapshot's folder, ``published`` resolved once (None before the first snapshot)."""
    link = published_link(warehouse)
    return link.resolve() if link.exists() else None


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / SNAPSHOT_FILE).read_text(encoding="utf-8"))


def current_snapshot_id(warehouse: Path) -> str | None:
    folder = current_dir(warehouse)
    if folder is None or not (folder / SNAPSHOT_FILE).exists():
        return None
    return read_manifest(folder)["snapshot_id"]


def snapshot_dir(warehouse: Path, snapshot_id: str | None = None) -> Path:
    """The folder of snapshot ``snapshot_id`` (default: the current one), resolved."""
    if snapshot_id is None:
        folder = current_dir(warehouse)
        if folder is None:
            raise FileNotFoundError(f"{published_link(warehouse)} does not exist: has `ssj run` run?")
        return folder
    folder = snapshots_dir(warehouse) / snapshot_id
    if not SNAPSHOT_ID.match(snapshot_id) or not (folder / SNAPSHOT_FILE).exists():
        kept = ", ".join(m["snapshot_id"] for m in list_snapshots(warehouse)) or "none"
        raise FileNotFoundError(f"no snapshot {snapshot_id!r} in {snapshots_dir(warehouse)} (kept: {kept})")
    return folder


def list_snapshots(warehouse: Path) -> list[dict]:
    """Every kept snapshot's ``_snapshot.json``, oldest first, each with ``current`` (bool)."""
    root = snapshots_dir(warehouse)
    current = current_dir(warehouse)
    out = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if SNAPSHOT_ID.match(folder.name) and (folder / SNAPSHOT_FILE).exists():
            out.append({**read_manifest(folder), "current": folder.resolve() == current})
    return out


def start_pending(warehouse: Path, run_id: str) -> tuple[Path, list[Path]]:
    """An empty pending folder for run ``run_id``, and the pending folders of interrupted runs,
    which it removed."""
    stale = remove_stale_pending(warehouse, keep_run=None)
    folder = pending_dir(warehouse, run_id)
    folder.mkdir(parents=True)
    return folder, stale


def remove_stale_pending(warehouse: Path, keep_run: str | None) -> list[Path]:
    """Delete the pending folders of runs other than ``keep_run`` (killed or failed runs)."""
    root = snapshots_dir(warehouse)
    keep = pending_dir(warehouse, keep_run) if keep_run else None
    stale = [p for p in sorted(root.glob(f"{_PENDING}*")) if p != keep] if root.is_dir() else []
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


# ----------------------------------------------------------------------------- completing


@dataclass(frozen=True)
class Snapshot:
    folder: Path
    manifest: dict
    changes: dict[str, dict[str, int]]  # table -> change -> rows
    migrated: str | None  # id given to a published/ folder from before snapshots, if this run moved it
    pruned: list[str]
    carried: tuple[str, ...] = ()  # tables the run did not write: taken from the previous snapshot


def complete_snapshot(warehouse: Path, run_id: str, tables: Iterable[str], *, as_of: str,
                      lineage: Mapping[str, Iterable[str]], keys: Mapping[str, str],
                      keep: int | None = None, now: datetime | None = None, may_carry: bool = True) -> Snapshot:
    """Turn run ``run_id``'s pending folder into the current snapshot (see the module doc).

    ``tables``: every table a snapshot holds; those the run did not write are linked
    from the current snapshot. ``keys``: the key column of each table in
    CHANGE_TABLES; ``lineage``: per table, the columns whose changes alone do not
    make a row ``changed``. ``may_carry``: False when the current snapshot does not hold the
    warehouse's build (build_state.last_build_published): then the run must write every table."""
    warehouse = Path(warehouse)
    keep = keep_snapshots() if keep is None else keep
    migrated = migrate_published_folder(warehouse)
    previous_dir = current_dir(warehouse)
    previous = read_manifest(previous_dir) if previous_dir is not None else None
    folder = pending_dir(warehouse, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_pending(warehouse, keep_run=run_id)

    missing, carried = [], []
    for table in tables:
        name = f"{table}.parquet"
        if (folder / name).exists():
            continue
        if previous_dir is None or not (previous_dir / name).exists():
            missing.append(table)
            continue
        _link_or_copy(previous_dir / name, folder / name)
        carried.append(table)
    if carried and not may_carry:
        raise SnapshotError(f"this run would publish {', '.join(carried)} from the current snapshot beside tables "
                            "built after it from newer inputs (a run that built them stopped before its snapshot): "
                            "run a full build (`ssj run`), which publishes every table")
    if missing:
        raise SnapshotError(f"the snapshot would lack {', '.join(missing)}: neither this run nor the current "
                            "snapshot published them; run a full build (materialize every published/ asset)")

    created = _created_at(warehouse, previous, now or datetime.now(UTC))
    snapshot_id = _format_id(created)
    previous_id = previous["snapshot_id"] if previous else None
    (folder / f"{CHANGES}.parquet").unlink(missing_ok=True)
    files = _describe_files(folder, previous_dir, previous)
    before = previous["tables"] if previous else {}
    changes = write_changes(folder, previous_dir, snapshot_id=snapshot_id, previous_snapshot_id=previous_id,
                            keys=keys, lineage=lineage,
                            unchanged=[t for t in keys if t in before and before[t]["sha256"] == files[t]["sha256"]])
    files[CHANGES] = _describe_files(folder, None, None, only=CHANGES)[CHANGES]
    manifest = {
        "snapshot_id": snapshot_id,
        "previous_snapshot_id": previous_id,
        "as_of": as_of,
        "created_at": created.isoformat(timespec="microseconds"),
        "engine": ENGINE,
        "tables": dict(sorted(files.items())),
    }
    _write_json(folder / SNAPSHOT_FILE, manifest)
    _seal(folder)
    final = snapshots_dir(warehouse) / snapshot_id
    os.rename(folder, final)
    switch_published(warehouse, final)
    try:
        pruned = prune(warehouse, keep)
    except OSError as exc:  # the snapshot is published; an old one left behind is removed next time
        log.warning("could not remove old snapshots: %s", exc)
        pruned = []
    return Snapshot(final, manifest, changes, migrated, pruned, tuple(carried))


def switch_published(warehouse: Path, folder: Path) -> None:
    """Point ``published`` at ``folder`` in one atomic rename (a new relative symlink over the old)."""
    link = published_link(warehouse)
    tmp = link.with_name(f".published.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(folder, link.parent), tmp)
    os.replace(tmp, link)
    fsync_dir(link.parent)


def prune(warehouse: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` snapshots (never the current one, nor one a draw was made
    from: ``pinned_snapshots``); return the ids deleted."""
    current = current_dir(warehouse)
    ids = [s["snapshot_id"] for s in list_snapshots(warehouse)]
    pinned = pinned_snapshots(current)
    doomed = [i for i in ids[: max(0, len(ids) - keep)] if snapshots_dir(warehouse) / i != current and i not in pinned]
    for snapshot_id in doomed:
        shutil.rmtree(snapshots_dir(warehouse) / snapshot_id)
    return doomed


DRAW_RECORDS = "draw_records"


def pinned_snapshots(folder: Path | None) -> set[str]:
    """The snapshots whose enterprise_pool and item_scope a draw published in ``folder`` was made from
    (``draw_records.pool_snapshot_id``): kept whatever SSJ_KEEP_SNAPSHOTS says, so every draw can
    be re-derived. Every snapshot publishes all draws made so far, so the current one names them all."""
    path = None if folder is None else folder / f"{DRAW_RECORDS}.parquet"
    if path is None or not path.exists():
        return set()
    return set(pq.read_table(path, columns=["pool_snapshot_id"]).column(0).to_pylist())


def migrate_published_folder(warehouse: Path) -> str | None:
    """A ``published/`` folder from before snapshots becomes the first snapshot; return its id.

    Its files are hard-linked into ``snapshots/<id>/`` with a ``_snapshot.json``
    (``as_of`` unknown: null; ``created_at``: its newest file's time), then the folder
    is renamed aside and the symlink renamed into its place: ``published`` is missing
    for the moment between the two renames, once per warehouse."""
    link = published_link(warehouse)
    if link.is_symlink() or not link.is_dir():
        return None
    files = sorted(p for p in link.glob("*.parquet") if not p.name.startswith("."))
    newest = max((p.stat().st_mtime for p in files), default=None)
    created = datetime.fromtimestamp(newest, UTC) if newest else datetime.now(UTC)
    created = _created_at(warehouse, None, created)
    snapshot_id = _format_id(created)
    folder = snapshots_dir(warehouse) / f"{_PENDING}migrate-{snapshot_id}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in files:
        _link_or_copy(path, folder / path.name)
    _write_json(folder / SNAPSHOT_FILE, {
        "snapshot_id": snapshot_id, "previous_snapshot_id": None, "as_of": None,
        "created_at": created.isoformat(timespec="microseconds"), "engine": ENGINE,
        "tables": _describe_files(folder, None, None),
    })
    _seal(folder)
    final = snapshots_dir(warehouse) / snapshot_id
    os.rename(folder, final)
    aside = link.with_name(".published.before-snapshots")
    shutil.rmtree(aside, ignore_errors=True)
    os.rename(link, aside)
    switch_published(warehouse, final)
    shutil.rmtree(aside)
    return snapshot_id


def _format_id(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _created_at(warehouse: Path, previous: dict | None, now: datetime) -> datetime:
    """``now``, or just after the newest snapshot when the clock says otherwise: ids only grow."""
    ids = [s["snapshot_id"] for s in list_snapshots(warehouse)]
    if previous:
        ids.append(previous["snapshot_id"])
    latest = max(ids, default=None)
    now = now.astimezone(UTC)
    if latest is not None and _format_id(now) <= latest:
        now = datetime.strptime(latest, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC) + timedelta(microseconds=1)
    return now


def _link_or_copy(src: Path, dst: Path) -> None:
    """Files are never changed in place once published, so snapshots can share them."""
    try:
        os.link(src, dst)
    except OSError:  # a file system without hard links
        shutil.copy2(src, dst)


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _describe_files(folder: Path, previous_dir: Path | None, previous: dict | None,
                    only: str | None = None) -> dict[str, dict]:
    """``{table: {"rows", "sha256"}}`` for every Parquet file of ``folder`` (or table ``only``); a
    file shared with the previous snapshot (same inode) keeps the figures recorded there."""
    out = {}
    for path in sorted(folder.glob(f"{only or '*'}.parquet")):
        table = path.stem
        known = (previous or {}).get("tables", {}).get(table)
        if known and previous_dir is not None and (previous_dir / path.name).exists() \
                and os.path.samefile(path, previous_dir / path.name):
            out[table] = dict(known)
        else:
            out[table] = {"rows": pq.ParquetFile(path).metadata.num_rows, "sha256": _sha256(path)}
    return out


def _write_json(path: Path, value: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _seal(folder: Path) -> None:
    """The snapshot's files readable by every reader the warehouse folder lets in (they are written
    as private temporary files), and on disk before ``published`` points at them."""
    for path in folder.iterdir():
        os.chmod(path, FILE_MODE)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fsync_dir(folder)


# ----------------------------------------------------------------------------- changes


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _schema(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    return {name: dtype for name, dtype, *_ in con.execute(f"describe select * from read_parquet({_lit(str(path))})").fetchall()}


def changes_sql(con: duckdb.DuckDBPyConnection, table: str, new: Path, old: Path | None, key: str,
                lineage: Iterable[str]) -> str:
    """One set-based query: the ``changes`` rows of ``table`` from the file ``old`` to the file
    ``new`` (every row ``added`` when there is no ``old``)."""
    new_cols = _schema(con, new)
    k = _q(key)
    if old is None:
        return (f"select {_lit(table)} as table_name, {k}::varchar as key, 'added' as change, "
                f"[]::varchar[] as changed_columns from read_parquet({_lit(str(new))})")
    old_cols = _schema(con, old)
    skip = set(lineage) | {key}
    compared = [c for c in [*new_cols, *(c for c in old_cols if c not in new_cols)] if c not in skip]

    def side(alias: str, cols: dict[str, str], column: str, as_text: bool) -> str:
        if column not in cols:
            return "null"
        expr = f"{alias}.{_q(column)}"
        return f"to_json({expr})::varchar" if as_text else expr

    tests = []
    for c in compared:  # a column whose type changed is compared as JSON text
        as_text = c not in new_cols or c not in old_cols or new_cols[c] != old_cols[c]
        tests.append(f"case when {side('n', new_cols, c, as_text)} is distinct from {side('o', old_cols, c, as_text)} "
                     f"then {_lit(c)} end")
    differing = f"list_filter([{', '.join(tests)}]::varchar[], lambda c: c is not null)" if tests else "[]::varchar[]"
    return f"""
        select * from (
            select {_lit(table)} as table_name, coalesce(n.{k}, o.{k})::varchar as key,
                   case when o.{k} is null then 'added' when n.{k} is null then 'removed' else 'changed' end as change,
                   case when o.{k} is null or n.{k} is null then []::varchar[] else {differing} end as changed_columns
            from read_parquet({_lit(str(new))}) as n
            full outer join read_parquet({_lit(str(old))}) as o on n.{k} = o.{k}
        ) where change <> 'changed' or len(changed_columns) > 0"""


def write_changes(folder: Path, previous_dir: Path | None, *, snapshot_id: str, previous_snapshot_id: str | None,
                  keys: Mapping[str, str], lineage: Mapping[str, Iterable[str]],
                  unchanged: Iterable[str] = ()) -> dict[str, dict[str, int]]:
    """Write ``folder/changes.parquet`` (sorted by table, key) and return rows per table and change.

    ``unchanged``: tables whose file has the previous snapshot's bytes (no rows to compare)."""
    con = duckdb.connect(config={"memory_limit": os.environ.get("SSJ_DUCKDB_MEMORY", "8GB"),
                                 "temp_directory": str(folder / ".changes.tmp")})
    try:
        parts = []
        for table, key in sorted(keys.items()):
            if table in set(unchanged):
                continue
            old = previous_dir / f"{table}.parquet" if previous_dir is not None else None
            parts.append(changes_sql(con, table, folder / f"{table}.parquet", old if old and old.exists() else None,
                                     key, lineage.get(table, ())))
        body = " union all ".join(f"({p})" for p in parts) or (
            "select null::varchar as table_name, null::varchar as key, null::varchar as change, "
            "[]::varchar[] as changed_columns where false")
        con.execute(f"create temp table changes as {body}")
        previous = _lit(previous_snapshot_id) if previous_snapshot_id else "null::varchar"
        tmp = folder / f".{CHANGES}.parquet.tmp"
        con.execute(f"""
            copy (select table_name, key, change, changed_columns,
                         {_lit(snapshot_id)} as snapshot_id, {previous} as previous_snapshot_id
                  from changes order by table_name, key, change)
            to {_lit(str(tmp))} (format parquet, compression zstd)""")
        os.replace(tmp, folder / f"{CHANGES}.parquet")
        counts: dict[str, dict[str, int]] = {}
        for table, change, n in con.execute("select table_name, change, count(*) from changes group by all").fetchall():
            counts.setdefault(table, {})[change] = n
        return counts
    finally:
        con.close()
        shutil.rmtree(folder / ".changes.tmp", ignore_errors=True)
