"""Snapshots on their own: completing, switching, changes, migration, pruning (pipelines/defs/publish/snapshots.py)."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.defs.publish.snapshots import (
    SnapshotError,
    complete_snapshot,
    current_dir,
    current_snapshot_id,
    keep_snapshots,
    list_snapshots,
    pending_dir,
    snapshot_dir,
    start_pending,
)

KEYS = {"pool": "id"}
LINEAGE = {"pool": ["source_file"]}
TABLES = ["pool", "other"]
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def write(folder: Path, table: str, sql: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"copy ({sql}) to '{folder / (table + '.parquet')}' (format parquet)")


def pool(rows: list[tuple]) -> str:
    values = ", ".join(f"('{i}', '{name}', {score}, '{src}')" for i, name, score, src in rows)
    return f"select * from (values {values}) as t(id, name, score, source_file) order by id"


def run(warehouse: Path, run_id: str, tables: dict[str, str], at: datetime, **kw):
    folder, _ = start_pending(warehouse, run_id)
    for table, sql in tables.items():
        write(folder, table, sql)
    return complete_snapshot(warehouse, run_id, TABLES, as_of="2026-11-30", keys=KEYS, lineage=LINEAGE, now=at, **kw)


def changes(folder: Path) -> list[tuple]:
    return duckdb.sql(f"select table_name, key, change, changed_columns, snapshot_id, previous_snapshot_id "
                      f"from read_parquet('{folder / 'changes.parquet'}')").fetchall()


def test_first_snapshot_publishes_every_row_as_added(tmp_path):
    snap = run(tmp_path, "r1", {"pool": pool([("a", "A", 1, "f1"), ("b", "B", 2, "f1")]), "other": "select 1 as x"}, T0)
    link = tmp_path / "published"
    assert link.is_symlink() and os.readlink(link) == f"snapshots/{snap.manifest['snapshot_id']}"
    manifest = json.loads((link / "_snapshot.json").read_text())
    assert manifest["snapshot_id"] == "20261201T080000.000000Z" and manifest["previous_snapshot_id"] is None
    assert manifest["as_of"] == "2026-11-30" and manifest["engine"] == "duckdb"
    assert datetime.fromisoformat(manifest["created_at"]) == T0
    assert set(manifest["tables"]) == {"pool", "other", "changes"}
    for table, described in manifest["tables"].items():
        data = (link / f"{table}.parquet").read_bytes()
        assert described["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["tables"]["pool"]["rows"] == 2 and manifest["tables"]["changes"]["rows"] == 2
    sid = manifest["snapshot_id"]
    assert changes(link) == [("pool", "a", "added", [], sid, None), ("pool", "b", "added", [], sid, None)]
    assert not list((tmp_path / "snapshots").glob(".pending-*"))


def test_second_snapshot_lists_added_removed_and_changed_keys_and_shares_unchanged_files(tmp_path):
    first = run(tmp_path, "r1", {"pool": pool([("a", "A", 1, "f1"), ("b", "B", 2, "f1"), ("c", "C", 3, "f1")]),
                                 "other": "select 1 as x"}, T0)
    # a: score changed; b: only its source file (lineage) changed; c: removed; d: added; `other` not rewritten
    second = run(tmp_path, "r2", {"pool": pool([("a", "A", 5, "f1"), ("b", "B", 2, "f2"), ("d", "D", 4, "f2")])},
                 T0 + timedelta(hours=1))
    one, two = first.manifest["snapshot_id"], second.manifest["snapshot_id"]
    assert one < two and second.manifest["previous_snapshot_id"] == one
    assert changes(tmp_path / "published") == [
        ("pool", "a", "changed", ["score"], two, one),
        ("pool", "c", "removed", [], two, one),
        ("pool", "d", "added", [], two, one),
    ]
    assert second.changes == {"pool": {"changed": 1, "removed": 1, "added": 1}}
    old, new = tmp_path / "snapshots" / one, tmp_path / "snapshots" / two
    assert os.path.samefile(old / "other.parquet", new / "other.parquet")  # linked, not rewritten
    assert second.manifest["tables"]["other"] == first.manifest["tables"]["other"]
    # the first snapshot is still readable as it was
    assert duckdb.sql(f"select count(*) from read_parquet('{old / 'pool.parquet'}')").fetchall()[0][0] == 3
    assert [s["snapshot_id"] for s in list_snapshots(tmp_path)] == [one, two]
    assert [s["current"] for s in list_snapshots(tmp_path)] == [False, True]
    assert snapshot_dir(tmp_path, one) == old and snapshot_dir(tmp_path) == new.resolve()


def test_same_bytes_give_no_changes_and_a_new_column_is_a_change(tmp_path):
    rows = [("a", "A", 1, "f1"), ("b", "B", 2, "f1")]
    run(tmp_path, "r1", {"pool": pool(rows), "other": "select 1 as x"}, T0)
    same = run(tmp_path, "r2", {"pool": pool(rows)}, T0 + timedelta(hours=1))
    assert same.changes == {} and same.manifest["tables"]["changes"]["rows"] == 0
    wider = run(tmp_path, "r3", {"pool": pool(rows).replace("select *", "select *, case when id = 'a' then 'x' end as extra")},
                T0 + timedelta(hours=2))
    assert [(k, c, cols) for _, k, c, cols, *_ in changes(tmp_path / "published")] == [("a", "changed", ["extra"])]
    assert wider.changes == {"pool": {"changed": 1}}


def test_ids_only_grow_even_when_the_clock_goes_back(tmp_path):
    first = run(tmp_path, "r1", {"pool": pool([("a", "A", 1, "f")]), "other": "select 1 as x"}, T0)
    second = run(tmp_path, "r2", {}, T0 - timedelta(days=1))
    assert second.manifest["snapshot_id"] > first.manifest["snapshot_id"]


def test_a_table_neither_written_nor_in_the_current_snapshot_fails_and_changes_nothing(tmp_path):
    with pytest.raises(SnapshotError, match="other"):
        run(tmp_path, "r1", {"pool": pool([("a", "A", 1, "f")])}, T0)
    assert current_dir(tmp_path) is None and list_snapshots(tmp_path) == []


def test_pending_folders_of_other_runs_are_removed_and_never_published(tmp_path):
    run(tmp_path, "r1", {"pool": pool([("a", "A", 1, "f")]), "other": "select 1 as x"}, T0)
    killed = pending_dir(tmp_path, "killed")
    write(killed, "pool", pool([("z", "Z", 9, "f")]))
    folder, stale = start_pending(tmp_path, "r2")
    assert stale == [killed] and not killed.exists() and folder == pending_dir(tmp_path, "r2")
    write(pending_dir(tmp_path, "late"), "pool", pool([("y", "Y", 9, "f")]))  # e.g. a step of another run
    snap = complete_snapshot(tmp_path, "r2", TABLES, as_of="2026-11-30", keys=KEYS, lineage=LINEAGE,
                             now=T0 + timedelta(hours=1))
    assert not pending_dir(tmp_path, "late").exists() and snap.changes == {}


def test_only_the_newest_snapshots_are_kept(tmp_path):
    ids = [run(tmp_path, f"r{i}", {"pool": pool([("a", "A", i, "f")]), "other": "select 1 as x"},
               T0 + timedelta(hours=i), keep=3).manifest["snapshot_id"] for i in range(5)]
    assert [s["snapshot_id"] for s in list_snapshots(tmp_path)] == ids[-3:]
    assert current_snapshot_id(tmp_path) == ids[-1]
    with pytest.raises(FileNotFoundError, match="kept: "):
        snapshot_dir(tmp_path, ids[0])


def test_a_snapshot_a_draw_was_made_from_is_never_pruned(tmp_path):
    tables = {"pool": pool([("a", "A", 1, "f")]), "other": "select 1 as x"}
    ids = [run(tmp_path, "r0", tables, T0, keep=2).manifest["snapshot_id"]]
    # the next run publishes a draw made from the first snapshot (draw_records.pool_snapshot_id)
    drawn = {**tables, "draw_records": f"select 'samr' as agency, 'T1' as task_id, '{ids[0]}' as pool_snapshot_id"}
    for i in range(1, 5):
        folder, _ = start_pending(tmp_path, f"r{i}")
        for table, sql in (drawn if i == 1 else {}).items():
            write(folder, table, sql)
        ids.append(complete_snapshot(tmp_path, f"r{i}", [*TABLES, "draw_records"], as_of="2026-11-30", keys=KEYS,
                                     lineage=LINEAGE, now=T0 + timedelta(hours=i), keep=2).manifest["snapshot_id"])
    assert [s["snapshot_id"] for s in list_snapshots(tmp_path)] == [ids[0], ids[3], ids[4]]
    assert snapshot_dir(tmp_path, ids[0]).is_dir()


def test_keep_snapshots_setting():
    assert keep_snapshots({}) == 7 and keep_snapshots({"SSJ_KEEP_SNAPSHOTS": "2"}) == 2
    for bad in ("0", "-1", "many"):
        with pytest.raises(SnapshotError, match="SSJ_KEEP_SNAPSHOTS"):
            keep_snapshots({"SSJ_KEEP_SNAPSHOTS": bad})


def test_a_published_folder_from_before_snapshots_becomes_the_first_snapshot(tmp_path):
    legacy = tmp_path / "published"
    write(legacy, "pool", pool([("a", "A", 1, "f"), ("b", "B", 2, "f")]))
    write(legacy, "other", "select 1 as x")
    (legacy / ".pool.x.parquet.tmp").write_bytes(b"left by a killed publish")
    snap = run(tmp_path, "r1", {"pool": pool([("a", "A", 1, "f")])}, datetime.now(UTC) + timedelta(days=1))
    assert snap.migrated and snap.manifest["previous_snapshot_id"] == snap.migrated
    migrated = read_json(tmp_path / "snapshots" / snap.migrated / "_snapshot.json")
    assert migrated["as_of"] is None and set(migrated["tables"]) == {"pool", "other"}
    assert [(k, c) for _, k, c, *_ in changes(tmp_path / "published")] == [("b", "removed")]
    assert (tmp_path / "published").is_symlink() and not (tmp_path / ".published.before-snapshots").exists()


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_tables_of_a_build_never_published_are_not_mixed_with_the_current_snapshot(tmp_path):
    """A run that rebuilt only some tables may take the others from the current snapshot only if
    that snapshot holds the warehouse's build (``may_carry``); otherwise nothing is switched in."""
    first = run(tmp_path, "r1", {"pool": pool([("a", "A", 1, "f1")]), "other": "select 1 as x"}, T0)
    with pytest.raises(SnapshotError, match="other.*full build"):
        run(tmp_path, "r2", {"pool": pool([("a", "A", 2, "f1")])}, T0 + timedelta(hours=1), may_carry=False)
    assert snapshot_dir(tmp_path).name == first.manifest["snapshot_id"]
    whole = run(tmp_path, "r3", {"pool": pool([("a", "A", 2, "f1")]), "other": "select 2 as x"},
                T0 + timedelta(hours=2), may_carry=False)  # every table written: nothing to carry
    assert whole.carried == () and snapshot_dir(tmp_path).name == whole.manifest["snapshot_id"]
