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


@pytest.fixture(scope="module")
def recovered(sample, tmp_path_factory) -> Path:
    """A run SIGKILLed at two points, then run to the end; its warehouse."""
    warehouse = tmp_path_factory.mktemp("killed") / "warehouse"
    published = warehouse / "published"
    for delay in (4.0, 20.0):  # during ingestion/staging, then the marts (with this sample, on this machine)
        proc = ssj_run_process(sample / "landing", warehouse, sample / "agencies.yaml")
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        for f in published.glob("*.parquet") if published.exists() else []:
            pq.read_metadata(f)  # every visible published file is a whole Parquet file
    final = run_ssj(sample / "landing", warehouse, agencies=sample / "agencies.yaml", as_of=AS_OF)
    assert final.returncode == 0, final.stdout + final.stderr
    return warehouse


def test_killed_runs_leave_complete_outputs_and_the_next_run_recovers(sample, recovered):
    warehouse, published = recovered, recovered / "published"
    assert_perfect(sample, warehouse)
    assert not list(published.glob(".*.tmp"))  # what a killed publish left was cleared
    again = run_ssj(sample / "landing", warehouse, agencies=sample / "agencies.yaml", as_of=AS_OF)
    assert again.returncode == 0 and "0 ingested" in again.stdout


def test_same_inputs_give_byte_identical_files_however_the_runs_went(overlapped, recovered):
    """Determinism: identical bytes for every published table, whether the inputs came in two
    overlapping runs or through three killed ones (ingest_log alone carries wall-clock times)."""
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
