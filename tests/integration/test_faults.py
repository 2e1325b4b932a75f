"""Faults a real deployment meets: overlapping runs and runs killed mid-way.

- Overlapping `ssj run`s on one warehouse, with files dropped while the first
  runs: none fails on a DuckDB lock, every file is ingested exactly once.
- A run killed with SIGKILL (its whole process group, as a crash or an OOM kill
  of the container would) at several points: the published Parquet files are
  always complete ones, and the next run finishes with every table agreeing with
  the generator's ground truth — nothing lost, nothing counted twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.generate import generate
from pipelines.defs.publish.snapshots import current_snapshot_id
from pipelines.generate.evaluate import evaluate, report
from tests.support import ROOT, run_ssj

pytestmark = pytest.mark.slow

AS_OF = "2026-11-26"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("faults") / "gen"
    generate(400, out, 11, as_of=date(2026, 11, 26))
    return out


def ssj_run_process(landing: Path, warehouse: Path, agencies: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSJ_", "DAGSTER_"))}
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(landing), "--warehouse", str(warehouse),
           "--agencies", str(agencies), "--as-of", AS_OF]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def assert_perfect(sample: Path, warehouse: Path) -> None:
    """Every published table agrees with `ssj generate`'s independently computed truth
    (precision = recall = 1.0 in every comparison of pipelines/generate/evaluate.py)."""
    result = evaluate(sample / "truth", warehouse)
    imperfect = {k: v for k, v in result.items() if v["precision"] != 1 or v["recall"] != 1}
    assert not imperfect, report(result)


@pytest.fixture(scope="module")
def overlapped(sample, tmp_path_factory) -> Path:
    """Two `ssj run`s at once on one warehouse, files dropped while the first runs; its warehouse."""
    tmp_path = tmp_path_factory.mktemp("overlap")
    landing = tmp_path / "landing"
    shutil.copytree(sample / "landing", landing)
    # held back, dropped while the first run is going (not a byte-twin of another file: which twin
    # counts as the original depends on arrival order by design)
    digests = {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in landing.rglob("*.*")}
    unique = [f for f, d in digests.items() if list(digests.values()).count(d) == 1]
    later = sorted(unique)[-6:]
    aside = tmp_path / "aside"
    for f in later:
        dest = aside / f.relative_to(landing)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(f, dest)
    warehouse = tmp_path / "warehouse"
    agencies = sample / "agencies.yaml"

    first = ssj_run_process(landing, warehouse, agencies)
    time.sleep(4)
    for f in aside.rglob("*.*"):
        dest = landing / f.relative_to(aside)
        shutil.move(f, dest)
    second = ssj_run_process(landing, warehouse, agencies)
    out1, err1 = first.communicate(timeout=600)
    out2, err2 = second.communicate(timeout=600)
    assert first.returncode == 0, out1 + err1
    assert second.returncode == 0, out2 + err2
    assert "lock" not in (err1 + err2).lower() or "waiting for it to finish" in err1 + err2
    return warehouse


def test_overlapping_runs_queue_and_ingest_every_file_once(sample, overlapped):
    warehouse = overlapped
    paths = [p for (p,) in duckdb.sql(
        f"select path from read_parquet('{warehouse}/published/ingest_log.parquet')").fetchall()]
    assert len(paths) == len(set(paths))
    assert_perfect(sample, warehouse)


# Where a run is SIGKILLed, each recognised by a line `ssj run -v` writes to stderr as it enters
# or works in that phase: the kill lands in the phase named, not after a guessed sleep.
KILL_PHASES = {
    "ingestion": " - landing_files - STEP_START - ",
    "between ingestion and build": "] build: ",
    "dbt staging, models written": " - dbt_staging - ASSET_MATERIALIZATION - ",
    "dbt marts, models written": " - dbt_marts - ASSET_MATERIALIZATION - ",
    "publishing, tables written": " - published - published ",
    "the snapshot switch": " - snapshot - STEP_START - ",
}
HELD_BACK = "samr-350102/registration/登记变更_2026-11.csv"  # a pool input: its run is a full build


def kill_at(marker: str, landing: Path, warehouse: Path, agencies: Path, log: Path) -> list[str]:
    """`ssj run -v` SIGKILLed (its whole process group) on the first stderr line holding ``marker``.
    Returns the lines read; fails if the run ended without reaching the marker or was not killed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSJ_", "DAGSTER_"))}
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "-v", "--landing", str(landing), "--warehouse",
           str(warehouse), "--agencies", str(agencies), "--as-of", AS_OF]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if marker in line:
                os.killpg(proc.pid, signal.SIGKILL)
                break
        proc.stderr.close()
        proc.wait(timeout=60)
    assert any(marker in line for line in lines), f"the run ended before {marker!r}:\n{''.join(lines[-30:])}"
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    return lines


def published_bytes(warehouse: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in (warehouse / "published").glob("*.parquet")}


@pytest.fixture(scope="module")
def recovered(sample, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A built warehouse; then, with one more registration file dropped, a run SIGKILLed in each of
    KILL_PHASES in turn — after each kill the previous snapshot is still the one published, whole —
    and finally a run to the end. Returns the warehouse and the phase each kill landed in."""
    root = tmp_path_factory.mktemp("killed")
    landing, warehouse, agencies = root / "landing", root / "warehouse", sample / "agencies.yaml"
    shutil.copytree(sample / "landing", landing)
    aside = root / "held-back.csv"
    shutil.move(landing / HELD_BACK, aside)
    first = run_ssj(landing, warehouse, agencies=agencies, as_of=AS_OF)
    assert first.returncode == 0, first.stdout + first.stderr
    before_id, before = current_snapshot_id(warehouse), published_bytes(warehouse)
    assert before_id and before

    shutil.move(aside, landing / HELD_BACK)
    landed = {}
    for phase, marker in KILL_PHASES.items():
        lines = kill_at(marker, landing, warehouse, agencies, root / "run.log")
        landed[phase] = next(line for line in lines if marker in line).strip()
        for f in (warehouse / "published").glob("*.parquet"):
            pq.read_metadata(f)  # every visible published file is a whole Parquet file
        if phase != "the snapshot switch":
            # the previous outputs stay: the same snapshot, the same bytes
            assert current_snapshot_id(warehouse) == before_id, phase
            assert published_bytes(warehouse) == before, phase
        else:  # killed while switching: the old snapshot or the new one, never a mix
            assert current_snapshot_id(warehouse) is not None
    final = run_ssj(landing, warehouse, agencies=agencies, as_of=AS_OF)
    assert final.returncode == 0, final.stdout + final.stderr
    return warehouse, landed


def test_killed_runs_leave_complete_outputs_and_the_next_run_recovers(sample, recovered):
    warehouse, landed = recovered
    published = warehouse / "published"
    assert list(landed) == list(KILL_PHASES)  # each kill landed in its phase
    assert_perfect(sample, warehouse)
    assert not list(published.glob(".*.tmp"))  # what a killed publish left was cleared
    again = run_ssj(sample / "landing", warehouse, agencies=sample / "agencies.yaml", as_of=AS_OF)
    assert again.returncode == 0 and "0 ingested" in again.stdout


def test_same_inputs_give_byte_identical_files_however_the_runs_went(overlapped, recovered):
    """Determinism: identical bytes for every published table, whether the inputs came in two
    overlapping runs or through runs killed in every phase (ingest_log alone carries wall-clock times)."""
    recovered, _ = recovered
    tables = sorted(p.name for p in (recovered / "published").glob("*.parquet"))
    assert tables == sorted(p.name for p in (overlapped / "published").glob("*.parquet"))
    for name in tables:
        if name in ("ingest_log.parquet", "changes.parquet"):  # wall-clock times; the snapshot history
            continue
        assert (recovered / "published" / name).read_bytes() == (overlapped / "published" / name).read_bytes(), name
    timeless = ("select * exclude (first_seen_at, processed_at) "
                "from read_parquet('{}/published/ingest_log.parquet') order by path")
    cols = duckdb.sql(f"describe select * from read_parquet('{recovered}/published/ingest_log.parquet')").fetchall()
    assert {c[0] for c in cols} >= {"first_seen_at", "processed_at"}
    assert duckdb.sql(timeless.format(recovered)).fetchall() == duckdb.sql(timeless.format(overlapped)).fetchall()
