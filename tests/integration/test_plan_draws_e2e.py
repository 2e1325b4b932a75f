"""The draw end to end (docs/draws.md): `ssj run`, `ssj draw`, `ssj verify-draw`, the standalone
verifier of docs/draws.md, and a later run, on one small generated sample.

1. `ssj run` publishes the pool (snapshot S1); `ssj draw` with a wrong seed is refused (exit 2,
   nothing published); with the committed seed it draws every plan of the year against S1 and
   publishes S2 with plan_draws and draw_records, and the drawn enterprises as draw entries
   (source plan): the coordinated food plans of a district's market regulator and health
   bureau drew enterprises in common, which become joint inspections;
2. verify-draw and the doc's verifier re-derive it; drawing again changes nothing;
3. a later full run (another as_of, keeping one snapshot) republishes the draw unchanged, prunes
   S2 but keeps S1 (the draw was made from it), and verify-draw still re-derives it; so does an
   incremental build after a new draw list; both keep the drawn plans' entries;
4. a tampered plan_draws file makes verify-draw exit 1, naming the plan.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.defs.publish.snapshots import current_snapshot_id, snapshots_dir
from pipelines.generate.plans import demo_seed
from tests import prefork
from tests.support import ROOT, copy_built_sample, run_ssj, write_csv

pytestmark = pytest.mark.slow

DOC = ROOT / "docs" / "draws.md"


def ssj(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSJ_", "DAGSTER_"))}
    return prefork.ssj(list(args), env=env)


def table(folder: Path, name: str) -> list[dict]:
    return pq.read_table(folder / f"{name}.parquet").to_pylist()


def doc_verifier() -> str:
    """The one ```python block of docs/draws.md."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def drawn_plans_entered_matching(snapshot: Path, draws: list[dict]) -> set[tuple]:
    """Every drawn enterprise is a draw entry of its plan (source plan); the joint inspections two
    agencies' coordinated plans form (their task keys), which must exist."""
    entries = {(e["agency"], e["task_id"], e["enterprise_id"]): e for e in table(snapshot, "draw_entries")}
    for d in draws:
        entry = entries[(d["agency"], d["task_id"], d["enterprise_id"])]
        assert entry["source"] == "plan" and entry["match_method"] == "plan" and entry["uscc"] == d["uscc"]
    planned = {f"{e['agency']}:{e['task_id']}" for e in entries.values() if e["source"] == "plan"}
    joint = {tuple(j["task_keys"]) for j in table(snapshot, "joint_inspections")
             if j["kind"] == "joint" and len(set(j["task_keys"]) & planned) >= 2}
    assert any("wjw-350102:WJJH2026-01" in keys for keys in joint), joint
    grouped = {e["joint_group_id"] for e in entries.values() if e["source"] == "plan" and e["joint_group_id"]}
    assert grouped and grouped <= {j["joint_group_id"] for j in table(snapshot, "joint_inspections")}
    return joint


def test_draw_publish_verify_and_keep(tmp_path, built_sample):
    sample, warehouse = copy_built_sample(built_sample, tmp_path)  # generated and run as of 2026-11-26
    paths = ["--landing", str(sample / "landing"), "--warehouse", str(warehouse),
             "--agencies", str(sample / "agencies.yaml")]
    s1 = current_snapshot_id(warehouse)
    assert table(warehouse / "published", "plan_draws") == []

    wrong = ssj("draw", *paths, "--as-of", "2026-11-26", "--plans-of", "2026", "--seed", "a guess")
    assert wrong.returncode == 2
    assert "samr-350102:JH2026-01" in wrong.stderr and "a guess" not in wrong.stderr + wrong.stdout
    assert current_snapshot_id(warehouse) == s1

    seed = demo_seed(2026)
    (tmp_path / "seed.txt").write_text(seed + "\n", encoding="utf-8")  # as an editor saves it
    drawn = ssj("draw", *paths, "--as-of", "2026-11-26", "--plans-of", "2026", "--seed-file", str(tmp_path / "seed.txt"))
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    s2 = current_snapshot_id(warehouse)
    assert s2 != s1
    published = (warehouse / "published").resolve()
    records = table(published, "draw_records")
    assert {(r["agency"], r["task_id"]) for r in records} == {
        ("samr-350102", "JH2026-01"), ("samr-350102", "JH2026-02"),
        ("samr-350103", "TJJH2026-01"), ("samr-350103", "TJJH2026-02"), ("wjw-350102", "WJJH2026-01")}
    assert {r["pool_snapshot_id"] for r in records} == {s1}
    assert all(r["seed"] == seed and r["seed_sha256"] == hashlib.sha256(seed.encode()).hexdigest()
               and r["algorithm"] == "ssj-prn-v1" for r in records)
    draws = table(published, "plan_draws")
    for r in records:  # every stratum's sample size is drawn, ranked 1..n
        for s in r["strata"]:
            ranks = sorted(d["rank"] for d in draws if (d["agency"], d["task_id"], d["stratum"])
                           == (r["agency"], r["task_id"], s["stratum"]))
            assert ranks == list(range(1, s["sample_size"] + 1))
    assert len(draws) > 0
    planned_joint = drawn_plans_entered_matching(published, draws)

    verified = ssj("verify-draw", "--warehouse", str(warehouse))
    assert verified.returncode == 0, verified.stderr
    script = tmp_path / "verify_plan.py"
    script.write_text(doc_verifier(), encoding="utf-8")
    for r in records:
        out = subprocess.run([sys.executable, str(script), str(warehouse), r["agency"], r["task_id"]],
                             capture_output=True, text=True)
        assert out.returncode == 0 and "identical" in out.stdout, out.stdout + out.stderr

    again = ssj("draw", *paths, "--as-of", "2026-11-26", "--plans-of", "2026", "--seed", seed)
    assert again.returncode == 0 and "already drawn" in again.stdout, again.stderr
    assert current_snapshot_id(warehouse) == s2

    # a later full run (the pool rebuilt as of another day), keeping one snapshot
    later = run_ssj(sample / "landing", warehouse, sample / "agencies.yaml", as_of="2026-12-31",
                    extra_env={"SSJ_KEEP_SNAPSHOTS": "1"})
    assert later.returncode == 0, later.stderr[-3000:]
    s3 = current_snapshot_id(warehouse)
    kept = sorted(p.name for p in snapshots_dir(warehouse).iterdir() if not p.name.startswith("."))
    assert kept == [s1, s3]  # S2 pruned; S1 pinned by the draw
    now = (warehouse / "published").resolve()
    assert table(now, "plan_draws") == draws and table(now, "draw_records") == records
    assert drawn_plans_entered_matching(now, draws) == planned_joint
    assert ssj("verify-draw", "--warehouse", str(warehouse)).returncode == 0

    # a new draw list only: an incremental build republishes the draws too
    named = next(d for d in draws if d["uscc"])
    write_csv(sample / "landing" / "samr-350102" / "draw_list" / "补充抽取.csv",
              ["任务编号", "任务名称", "统一社会信用代码", "企业名称", "检查事项", "开始日期", "结束日期"],
              [["JHX-01", "补充抽查", named["uscc"], "某公司", "SP-01", "2026-12-01", "2026-12-20"]], 1_790_000_000)
    draws_build = run_ssj(sample / "landing", warehouse, sample / "agencies.yaml", as_of="2026-12-31",
                          extra_env={"SSJ_KEEP_SNAPSHOTS": "1"})
    assert draws_build.returncode == 0 and "build: draws" in draws_build.stdout + draws_build.stderr
    s4 = current_snapshot_id(warehouse)
    assert sorted(p.name for p in snapshots_dir(warehouse).iterdir() if not p.name.startswith(".")) == [s1, s4]
    now = (warehouse / "published").resolve()
    assert table(now, "plan_draws") == draws and table(now, "draw_records") == records
    assert drawn_plans_entered_matching(now, draws) == planned_joint

    # tampered: one drawn enterprise swapped for another of the pool
    victim = draws[0]
    other = next(e for e in table(now, "enterprise_pool") if e["enterprise_id"] not in {d["enterprise_id"] for d in draws})
    forged = [dict(d, enterprise_id=other["enterprise_id"], uscc=other["uscc"]) if d == victim else d for d in draws]
    path = now / "plan_draws.parquet"
    schema = pq.read_schema(path)
    path.unlink()  # the file is shared with no other kept snapshot; never rewrite one in place
    pq.write_table(pa.Table.from_pylist(forged, schema=schema), path)
    tampered = ssj("verify-draw", "--warehouse", str(warehouse))
    assert tampered.returncode == 1
    assert f"{victim['agency']}:{victim['task_id']}" in tampered.stderr
