"""Snapshots through `ssj run`: changes between runs, stable joint_group_id, a reader never sees a mix,
a failed run publishes nothing and says so (docs/downstream.md).

Four runs on one small landing zone:

1. registration (A–E), inspectors, samr T1 drawing A, B, C and tax TX1 drawing A, B:
   joint groups on A and on B;
2. A's registration changed (its name) and a new task eco HB1 drawing B and C: A's
   group keeps its ID (its members are the same) and is `changed` (its name); B's
   group gains a member (old ID removed, new added); C gets a group (added). A
   reader thread reads every table of `published` over and over meanwhile;
3. a new draw list only (yjj YJ1 and YJ2 both drawing D): an incremental build that
   fails at the snapshot switch (SSJ_KEEP_SNAPSHOTS=0 is refused) — nothing published;
4. the same, succeeding: D's group added, the pools shared with snapshot 2.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from tests.support import make_uscc, run_ssj, write_csv

pytestmark = pytest.mark.slow

A, B, C, D, E = (make_uscc(f"91350102MA8XNAP{i:02d}") for i in range(1, 6))
AS_OF = "2026-06-30"
T0 = 1_767_000_000
REG = ["统一社会信用代码", "企业名称", "成立日期", "登记状态", "住所", "行政区划代码", "行业代码", "更新时间"]
DRAW = ["任务编号", "任务名称", "统一社会信用代码", "企业名称", "检查事项", "开始日期", "结束日期"]
NAMES = {A: "福州甲食品有限公司", B: "福州乙贸易有限公司", C: "福州丙科技有限公司", D: "福州丁餐饮有限公司",
         E: "福州戊药房有限公司"}




def draw(task: str, usccs: list[str], start: str, end: str) -> list[list[str]]:
    return [[task, f"任务{task}", u, NAMES[u], "食品标签", start, end] for u in usccs]


def manifest(folder: Path) -> dict:
    return json.loads((folder / "_snapshot.json").read_text(encoding="utf-8"))


def rows(folder: Path, table: str, order: str = "1") -> list[dict]:
    rel = duckdb.sql(f"select * from read_parquet('{folder / (table + '.parquet')}') order by {order}")
    return rel.to_arrow_table().to_pylist()


def groups(folder: Path) -> dict[str, str]:
    """enterprise_id -> joint_group_id."""
    return {r["enterprise_id"]: r["joint_group_id"] for r in rows(folder, "joint_inspections")}


def changes(folder: Path) -> set[tuple]:
    return {(r["table_name"], r["key"], r["change"], tuple(r["changed_columns"])) for r in rows(folder, "changes")}


class Reader(threading.Thread):
    """Resolves `published` once per pass and reads every table of that snapshot, checking each
    against its _snapshot.json (rows and sha256) and `changes` against its snapshot_id."""

    def __init__(self, warehouse: Path):
        super().__init__(daemon=True)
        self.warehouse, self.stop, self.seen, self.errors, self.passes = warehouse, threading.Event(), [], [], 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                folder = (self.warehouse / "published").resolve()
                snap = manifest(folder)
                con = duckdb.connect()
                for table, described in snap["tables"].items():
                    path = folder / f"{table}.parquet"
                    n = con.execute(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    if (n, digest) != (described["rows"], described["sha256"]):
                        self.errors.append(f"{snap['snapshot_id']} {table}: {n} rows {digest[:8]}, manifest {described}")
                ids = con.execute(f"select distinct snapshot_id from read_parquet('{folder / 'changes.parquet'}')").fetchall()
                if ids and ids != [(snap["snapshot_id"],)]:
                    self.errors.append(f"{snap['snapshot_id']}: changes of {ids}")
                con.close()
                if not self.seen or self.seen[-1] != snap["snapshot_id"]:
                    self.seen.append(snap["snapshot_id"])
                self.passes += 1
                time.sleep(0.05)  # leave the run its share of the machine
            except Exception as exc:  # noqa: BLE001 - any error is a reader broken by a run
                self.errors.append(f"{type(exc).__name__}: {exc}")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("snapshots")
    land, wh = root / "landing", root / "warehouse"
    reg = [[u, NAMES[u], "2020-01-01", "存续", f"福州市鼓楼区{i}号", "350102", "F5211", "2025-01-01"]
           for i, u in enumerate([A, B, C, D, E], 1)]
    write_csv(land / "samr-350102" / "registration" / "登记.csv", REG, reg, T0)
    write_csv(land / "sfj-350100" / "inspectors" / "人员.csv",
              ["执法证号", "姓名", "所属单位", "执法门类", "证件有效期", "在岗状态"],
              [["FJ0102000001", "张三", "福州市鼓楼区市场监督管理局", "食品安全", "2030-01-01", "在岗"],
               ["FJ0102000002", "李四", "福州市鼓楼区市场监督管理局", "特种设备", "2030-01-01", "在岗"]], T0)
    write_csv(land / "samr-350102" / "draw_list" / "T1.csv", DRAW, draw("T1", [A, B, C], "2026-03-01", "2026-05-31"), T0)
    write_csv(land / "tax-350102" / "draw_list" / "TX1.csv", DRAW, draw("TX1", [A, B], "2026-04-01", "2026-06-30"), T0)
    out = {"warehouse": wh, "procs": []}

    def run(**env):
        proc = run_ssj(land, wh, as_of=AS_OF, extra_env=env)
        out["procs"].append(proc)
        return proc

    assert run().returncode == 0, out["procs"][-1].stderr[-3000:]
    out["s1"] = (wh / "published").resolve()

    # 2: A renamed, a new task over B and C; a reader reads all along
    write_csv(land / "samr-350102" / "registration" / "变更.csv", REG,
              [[A, "福州甲（集团）食品有限公司", "2020-01-01", "存续", "福州市鼓楼区1号", "350102", "F5211", "2026-02-01"]],
              T0 + 10)
    write_csv(land / "eco-350100" / "draw_list" / "HB1.csv", DRAW, draw("HB1", [B, C], "2026-04-15", "2026-05-15"), T0 + 11)
    reader = Reader(wh)
    reader.start()
    proc = run()
    time.sleep(0.5)  # a few passes over the new snapshot
    reader.stop.set()
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out["reader"], out["s2"] = reader, (wh / "published").resolve()

    # 3: a draw list only; the run fails in the snapshot step, its tables written, before the switch:
    # the previous snapshot's joint_inspections, which `changes` compares with, is unreadable meanwhile
    write_csv(land / "yjj-350100" / "draw_list" / "YJ.csv", DRAW,
              draw("YJ1", [D], "2026-05-01", "2026-05-31") + draw("YJ2", [D], "2026-05-10", "2026-06-10"), T0 + 20)
    out["s2_bytes"] = {p.name: p.read_bytes() for p in out["s2"].iterdir()}
    groups = out["s2"] / "joint_inspections.parquet"
    groups.unlink()  # a new file at the name: s2's other files, hard-linked into later snapshots, stay as they are
    groups.write_bytes(b"not parquet")
    out["failed"] = run()
    out["unreadable_left_as_it_was"] = groups.read_bytes() == b"not parquet"
    groups.unlink()
    groups.write_bytes(out["s2_bytes"]["joint_inspections.parquet"])
    out["after_failure"] = (wh / "published").resolve()
    out["pending_after_failure"] = sorted(p.name for p in (wh / "snapshots").glob(".pending-*/*.parquet"))

    # 4: the same, succeeding
    assert run().returncode == 0, out["procs"][-1].stderr[-3000:]
    out["s4"] = (wh / "published").resolve()
    return out


def test_every_snapshot_is_described_by_its_snapshot_json(runs):
    ids = []
    for key in ("s1", "s2", "s4"):
        folder = runs[key]
        snap = manifest(folder)
        assert folder.name == snap["snapshot_id"] and folder.parent == runs["warehouse"] / "snapshots"
        assert snap["as_of"] == AS_OF and snap["engine"] == "duckdb"
        assert snap["created_at"].endswith("+00:00") and snap["snapshot_id"].startswith(
            snap["created_at"][:10].replace("-", ""))
        files = {p.stem for p in folder.glob("*.parquet")}
        assert set(snap["tables"]) == files >= {"enterprise_pool", "inspector_pool", "joint_inspections", "draw_entries",
                                                 "quarantine", "ingest_log", "changes"}
        for table, described in snap["tables"].items():
            path = folder / f"{table}.parquet"
            assert described["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), table
            assert described["rows"] == len(rows(folder, table)), table
        ids.append(snap["snapshot_id"])
        assert snap["previous_snapshot_id"] == (ids[-2] if len(ids) > 1 else None)
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert os.readlink(runs["warehouse"] / "published") == f"snapshots/{ids[-1]}"


def test_the_first_snapshot_lists_every_row_as_added(runs):
    s1 = runs["s1"]
    assert changes(s1) == {(t, r[key], "added", ()) for t, key in [("enterprise_pool", "enterprise_id"),
                                                                    ("inspector_pool", "inspector_id"),
                                                                    ("joint_inspections", "joint_group_id")]
                           for r in rows(s1, t)}
    assert set(groups(s1)) == {A, B}


def test_a_changed_registration_and_a_new_task_give_exactly_these_changes(runs):
    s1, s2 = groups(runs["s1"]), groups(runs["s2"])
    assert s2[A] == s1[A]  # same members (T1, TX1): same ID, whatever else changed about A
    assert s2[B] != s1[B]  # HB1 joined B's group: a new ID
    got = changes(runs["s2"])
    pool_change = {c for c in got if c[0] == "enterprise_pool"}
    assert [c[:3] for c in pool_change] == [("enterprise_pool", A, "changed")]
    changed_columns = next(iter(pool_change))[3]
    assert "name" in changed_columns and "name_normalized" in changed_columns
    assert not {"updated_at", "source_file", "source_row", "version_count", "sources"} & set(changed_columns)
    assert got - pool_change == {
        ("joint_inspections", s1[A], "changed", ("name",)),
        ("joint_inspections", s1[B], "removed", ()),
        ("joint_inspections", s2[B], "added", ()),
        ("joint_inspections", s2[C], "added", ()),
    }
    snap = manifest(runs["s2"])
    assert {(r["snapshot_id"], r["previous_snapshot_id"]) for r in rows(runs["s2"], "changes")} == {
        (snap["snapshot_id"], manifest(runs["s1"])["snapshot_id"])}


def test_a_reader_during_a_run_reads_one_whole_snapshot_at_a_time(runs):
    reader = runs["reader"]
    assert not reader.errors, reader.errors[:3]
    assert reader.seen == [runs["s1"].name, runs["s2"].name] and reader.passes > 5


def test_a_run_failing_before_the_switch_publishes_nothing_and_says_so(runs):
    failed = runs["failed"]
    assert failed.returncode == 1
    assert "build: draws" in failed.stdout + failed.stderr
    assert "step snapshot" in failed.stderr and runs["unreadable_left_as_it_was"]
    assert f"Nothing was published from this run: {runs['warehouse'] / 'published'} is still snapshot " \
           f"{runs['s2'].name}" in failed.stderr
    assert runs["after_failure"] == runs["s2"]
    assert {p.name: p.read_bytes() for p in runs["s2"].iterdir()} == runs["s2_bytes"]
    assert "joint_inspections.parquet" in runs["pending_after_failure"]  # written, never switched in
    assert not list((runs["warehouse"] / "snapshots").glob(".pending-*"))  # removed by the next run


def test_an_incremental_build_completes_its_snapshot_from_the_previous_one(runs):
    s2, s4 = runs["s2"], runs["s4"]
    assert "build: draws" in runs["procs"][-1].stdout + runs["procs"][-1].stderr
    for table in ("enterprise_pool", "inspector_pool", "enterprise_tags"):
        assert os.path.samefile(s2 / f"{table}.parquet", s4 / f"{table}.parquet"), table  # shared, not rewritten
    g2, g4 = groups(s2), groups(s4)
    assert {k: v for k, v in g4.items() if k != D} == g2  # every earlier group keeps its ID
    assert changes(s4) == {("joint_inspections", g4[D], "added", ())}
    assert [r["kind"] for r in rows(s4, "joint_inspections") if r["enterprise_id"] == D] == ["internal"]


def test_snapshots_command_and_exports_of_an_earlier_snapshot_and_of_public_columns(runs, tmp_path, capsys):
    wh = runs["warehouse"]
    assert main(["snapshots", "--warehouse", str(wh)]) == 0
    listed = capsys.readouterr().out.splitlines()
    ids = [runs[k].name for k in ("s4", "s2", "s1")]
    assert [line.split()[1] if line.startswith("*") else line.split()[0] for line in listed[1:4]] == ids
    assert listed[1].startswith(f"* {ids[0]}") and AS_OF in listed[1]

    old = tmp_path / "old.csv"
    assert main(["export", "--warehouse", str(wh), "--table", "joint_inspections", "--snapshot", ids[-1],
                 "--out", str(old)]) == 0
    with open(old, encoding="utf-8-sig") as f:
        assert {r["joint_group_id"] for r in csv.DictReader(f)} == set(groups(runs["s1"]).values())

    public = tmp_path / "inspectors.csv"
    assert main(["export", "--warehouse", str(wh), "--table", "inspector_pool", "--public", "--out", str(public)]) == 0
    with open(public, encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    assert "inspector_id" in header and "agency_name" in header
    assert not {"name", "id_no_masked", "source_file", "is_eligible"} & set(header)
    assert main(["export", "--warehouse", str(wh), "--table", "joint_inspections", "--snapshot", "19990101T000000.000000Z",
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "kept: " in capsys.readouterr().err
