"""The landing-zone sensor under a real `dagster-daemon`: a dropped file becomes one ingest run.

Against a temporary instance (the dagster.yaml `ssj` writes), the sensor is switched
on with Dagster's own CLI, `dagster-daemon run` ticks it, the run it requests is
launched by the daemon and succeeds, and the file is in the raw store's ledger; a
file dropped again with the same bytes asks for no second run (its run key is its
SHA-256). The schedule is only checked for being there and stopped by default: a
tick of it is a whole nightly build.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pipelines.cli import dagster_home
from pipelines.generate import generate
from pipelines.settings import Settings
from tests.support import ROOT

pytestmark = pytest.mark.slow

SENSOR = "landing_zone_sensor"
INSPECTORS = "sfj-350100/inspectors/执法人员_补充及变动.csv"


def dagster(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dagster", *args, "-w", str(ROOT / "workspace.yaml")], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def runs() -> list[dg.DagsterRun]:
    with dg.DagsterInstance.get() as instance:
        return list(instance.get_runs())


def wait_for(check, seconds: float, what: str, daemon: subprocess.Popen, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and daemon.poll() is None:
        if value := check():
            return value
        time.sleep(2)
    raise AssertionError(f"no {what} within {seconds:.0f} s; the daemon said:\n{log.read_text()[-4000:]}")


def test_a_dropped_file_becomes_one_ingest_run(tmp_path, monkeypatch):
    sample = tmp_path / "gen"
    generate(200, sample, 3, as_of=date(2026, 11, 26))
    landing = tmp_path / "landing"
    (landing / INSPECTORS).parent.mkdir(parents=True)
    settings = Settings(landing=landing, warehouse=tmp_path / "warehouse", agencies=sample / "agencies.yaml",
                        as_of=date(2026, 11, 26))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSJ_", "DAGSTER_"))}
    env.update(settings.to_env(), SSJ_QUIET_SECONDS="0", DAGSTER_HOME=str(dagster_home(settings)))
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])  # this process reads the same instance

    listed = dagster(env, "schedule", "list")
    assert "nightly_full_build" in listed.stdout and "STOPPED" in listed.stdout, listed.stdout + listed.stderr
    started = dagster(env, "sensor", "start", SENSOR)
    assert started.returncode == 0, started.stdout + started.stderr

    log = tmp_path / "daemon.log"
    with open(log, "w") as out:
        daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")],
                                  env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        shutil.copy(sample / "landing" / INSPECTORS, landing / INSPECTORS)
        done = wait_for(lambda: [r for r in runs() if r.job_name == "ingest_job" and r.is_finished], 240,
                        "finished ingest run", daemon, log)
        assert [r.status for r in done] == [dg.DagsterRunStatus.SUCCESS], log.read_text()[-4000:]
        assert done[0].tags["ssj/file"] == INSPECTORS

        # the same bytes again, under another name: ticks pass, no second run
        shutil.copy(landing / INSPECTORS, landing / INSPECTORS.replace(".csv", "(1).csv"))
        with dg.DagsterInstance.get() as instance:
            origin = next(s for s in instance.all_instigator_state() if s.name == SENSOR)
            ticks_before = len(instance.get_ticks(origin.instigator_origin_id, origin.selector_id))

        def two_more_ticks() -> bool:
            with dg.DagsterInstance.get() as instance:
                return len(instance.get_ticks(origin.instigator_origin_id, origin.selector_id)) >= ticks_before + 2

        wait_for(two_more_ticks, 120, "two more sensor ticks", daemon, log)
        assert len([r for r in runs() if r.job_name == "ingest_job"]) == 1
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=10)

    entries = [json.loads(f.read_text(encoding="utf-8")) for f in (settings.warehouse / "raw" / "_ledger").glob("*.json")]
    assert [(e["path"], e["status"]) for e in entries if e.get("path")] == [(INSPECTORS, "ingested")]
