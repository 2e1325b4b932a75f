"""Soak: drops keep arriving while ingests and full runs overlap; nothing is lost or doubled.

A dropper writes registration files the way the contract asks agencies to (a
`.part` name, then a rename) at random moments; meanwhile the sensor's ingest
(`ingest_landing` for the newly stable files) runs every second and full `ssj run`s
follow one another. A last run then publishes everything. Every drop must be in
`ingest_log` once, ingested, with rows read = accepted + quarantined, and staging
must hold each written row exactly once.

Bounded for CI (SSJ_SOAK_DROPS=16, SSJ_SOAK_SECONDS=12 by default); the issue's
figure is `SSJ_SOAK_DROPS=200 SSJ_SOAK_SECONDS=300 pytest tests/integration/test_soak.py`.
"""

from __future__ import annotations

import csv
import io
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.defs.ingest.landing import ingest_landing
from pipelines.defs.ingest.sensors import stable_files
from tests.support import ROOT, SAMPLE_REGISTRY, make_uscc, run_ssj

pytestmark = pytest.mark.slow

DROPS = int(os.environ.get("SSJ_SOAK_DROPS", "16"))
SECONDS = float(os.environ.get("SSJ_SOAK_SECONDS", "12"))
HEADER = ["统一社会信用代码", "企业名称", "成立日期", "从业人数"]


def drop_file(folder: Path, i: int, rnd: random.Random) -> int:
    """Write drop ``i`` (.part, then rename); return its data rows. Some rows break a rule."""
    rows = []
    for j in range(rnd.randint(1, 40)):
        uscc = make_uscc(f"91350102MA{i:04d}{j:03d}"[:17])
        if rnd.random() < 0.1:
            uscc = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")  # wrong check character: quarantined
        rows.append([uscc, f"浸泡测试{i}号{j}分公司", rnd.choice(["2024-01-01", "2024年3月5日", "2024-13-45"]),
                     str(rnd.randint(1, 500))])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([HEADER, *rows])
    part = folder / f"drop{i:04d}.csv.part"
    part.write_text(buf.getvalue(), encoding="utf-8")
    part.rename(folder / f"drop{i:04d}.csv")
    return len(rows)


def test_drops_during_overlapping_ingests_and_runs(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    folder = landing / "samr-350102" / "registration"
    folder.mkdir(parents=True)
    written: dict[str, int] = {}
    done = threading.Event()
    errors: list[BaseException] = []

    def dropper() -> None:
        rnd = random.Random(2026)
        try:
            for i in range(DROPS):
                written[f"samr-350102/registration/drop{i:04d}.csv"] = drop_file(folder, i, rnd)
                time.sleep(rnd.uniform(0, 2 * SECONDS / DROPS))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            done.set()

    def sensor() -> None:  # what the landing sensor launches, file by file, once stable
        seen: dict = {}
        try:
            while not done.is_set():
                ready, seen = stable_files(landing, seen, time.time(), 0.5)
                if ready:
                    ingest_landing(landing, warehouse, SAMPLE_REGISTRY, only=[f.rel for f in ready])
                time.sleep(0.5)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSJ_", "DAGSTER_"))}
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(landing), "--warehouse", str(warehouse),
           "--agencies", str(SAMPLE_REGISTRY), "--as-of", "2026-06-30"]
    threads = [threading.Thread(target=dropper), threading.Thread(target=sensor)]
    for t in threads:
        t.start()
    runs = []
    while not done.is_set():  # full runs back to back while drops arrive
        runs.append(subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True))
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for r in runs:
        assert r.returncode == 0, r.stdout + r.stderr

    final = run_ssj(landing, warehouse)
    assert final.returncode == 0, final.stdout + final.stderr  # includes the blocking rows_conserved check
    log = duckdb.sql(
        f"select path, status, rows_read, rows_accepted, rows_quarantined "
        f"from read_parquet('{warehouse}/published/ingest_log.parquet')"
    ).fetchall()
    assert sorted(p for p, *_ in log) == sorted(written)  # each drop once, nothing else
    for path, status, read, accepted, quarantined in log:
        assert status == "ingested" and read == written[path] == accepted + quarantined, path
    con = duckdb.connect(str(warehouse / "ssj.duckdb"), read_only=True)
    staged = dict(con.execute("select source_file, count(*) from stg_registration group by all").fetchall())
    con.close()
    assert staged == written  # every written row staged exactly once
    print(f"soak: {DROPS} drops, {sum(written.values())} rows, {len(runs)} overlapping full runs")
