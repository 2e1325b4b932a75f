"""The landing sensor takes a file once, after it stopped changing, and never twice."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.defs.ingest.sensors import landing_zone_sensor, stable_files


def test_stable_files_waits_for_quiet(tmp_path):
    f = tmp_path / "samr-350102" / "registration" / "a.csv"
    f.parent.mkdir(parents=True)
    f.write_text("x")
    mtime = f.stat().st_mtime
    ready, seen = stable_files(tmp_path, {}, now=mtime + 100, quiet=30)
    assert ready == []  # first sight: not yet known to be stable
    ready, seen = stable_files(tmp_path, seen, now=mtime + 140, quiet=30)
    assert [r.rel for r in ready] == ["samr-350102/registration/a.csv"]
    f.write_text("xy")  # still being written: the clock starts again
    ready, _ = stable_files(tmp_path, seen, now=f.stat().st_mtime + 10, quiet=30)
    assert ready == []


def test_sensor_requests_one_run_per_sha(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("SSJ_LANDING", str(landing))
    monkeypatch.setenv("SSJ_QUIET_SECONDS", "0")
    old = 1_600_000_000
    for name in ("a.csv", "b.csv"):
        p = landing / "samr-350102" / "registration" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("统一社会信用代码,企业名称\n", encoding="utf-8")  # same bytes twice
        os.utime(p, (old, old))
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance)
        first = list(landing_zone_sensor(ctx))
        assert {r.run_key for r in first} == {first[0].run_key}  # same bytes → same run key
        # a restarted sensor (no cursor) asks again with the same keys; Dagster drops used keys
        again = list(landing_zone_sensor(dg.build_sensor_context(instance=instance)))
        assert {r.run_key for r in again} == {r.run_key for r in first}
