"""The landing sensor takes a file once, after it stopped changing, and never twice."""

from __future__ import annotations

import os

import dagster as dg
import pytest

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
    monkeypatch.setenv("SSJ_WAREHOUSE", str(tmp_path / "wh"))
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


def test_the_sensor_names_files_by_reference_never_by_path(tmp_path, monkeypatch):
    """Run config, tags and cursor live in Dagster's storage: a name holding an ID number stays out."""
    from pipelines.defs.ingest.landing import ingest_landing
    from tests.support import SAMPLE_REGISTRY

    number = "350102198001011241"
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    monkeypatch.setenv("SSJ_LANDING", str(landing))
    monkeypatch.setenv("SSJ_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("SSJ_QUIET_SECONDS", "0")
    folder = landing / "samr-350102" / "registration"
    folder.mkdir(parents=True)
    for name in (f"名单_{number}.csv", "other.csv"):
        (folder / name).write_text(f"统一社会信用代码,企业名称\n,{name}\n", encoding="utf-8")
        os.utime(folder / name, (1_600_000_000, 1_600_000_000))
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance)
        requests = list(landing_zone_sensor(ctx))
        stored = repr([(r.run_config, r.tags) for r in requests]) + (ctx.cursor or "")
    assert len(requests) == 2 and number not in stored and number[6:14] not in stored
    wanted = next(r for r in requests if "*" in r.tags["ssj/file"])
    files = wanted.run_config["ops"]["landing_files"]["config"]["files"]
    report = ingest_landing(landing, warehouse, SAMPLE_REGISTRY, only=files)
    assert [d.rel for d in report.decisions] == [f"samr-350102/registration/名单_{number}.csv"]


def landing_with(tmp_path, monkeypatch, bodies: dict[str, bytes]):
    landing = tmp_path / "landing"
    monkeypatch.setenv("SSJ_LANDING", str(landing))
    monkeypatch.setenv("SSJ_WAREHOUSE", str(tmp_path / "wh"))
    monkeypatch.setenv("SSJ_QUIET_SECONDS", "0")
    folder = landing / "samr-350102" / "registration"
    folder.mkdir(parents=True)
    for i, (name, body) in enumerate(bodies.items()):
        (folder / name).write_bytes(body)
        os.utime(folder / name, (1_600_000_000 + i, 1_600_000_000 + i))
    return landing


def test_a_tick_hashes_up_to_its_budget_and_the_next_carries_on(tmp_path, monkeypatch):
    from pipelines.defs.ingest import sensors

    landing_with(tmp_path, monkeypatch, {f"{i}.csv": bytes([i]) * 1000 for i in range(5)})
    monkeypatch.setenv("SSJ_SENSOR_HASH_BYTES", "2500")
    hashed = []
    real = sensors.sha256_of_fd
    monkeypatch.setattr(sensors, "sha256_of_fd", lambda fd: hashed.append(fd) or real(fd))
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance)
        ticks = [len(list(landing_zone_sensor(ctx))) for _ in range(4)]
    assert ticks == [2, 4, 5, 5] and len(hashed) == 5  # each file hashed once; the cursor keeps the hashes


def test_a_file_above_the_size_limit_gets_a_run_without_being_hashed(tmp_path, monkeypatch):
    from pipelines.defs.ingest import sensors

    landing = landing_with(tmp_path, monkeypatch, {"big.csv": b""})
    big = landing / "samr-350102" / "registration" / "big.csv"
    os.truncate(big, 10 << 40)  # 10 TiB, sparse: hashing it would take hours
    os.utime(big, (1_600_000_000, 1_600_000_000))
    monkeypatch.delenv("SSJ_MAX_FILE_BYTES", raising=False)
    monkeypatch.setattr(sensors, "sha256_of_fd", lambda fd: pytest.fail("a file above the limit is never hashed"))
    try:
        with dg.instance_for_test() as instance:
            (request,) = list(landing_zone_sensor(dg.build_sensor_context(instance=instance)))
    finally:
        big.unlink()
    assert request.run_key.startswith("too_large:")


def test_the_sensor_never_raises_on_a_deep_tree(tmp_path, monkeypatch):
    landing = landing_with(tmp_path, monkeypatch, {"a.csv": b"x"})
    deep = landing / "samr-350102" / "registration" / "deep"
    deep.mkdir()
    fd = os.open(deep, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(1200):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    try:
        with dg.instance_for_test() as instance:
            requests = list(landing_zone_sensor(dg.build_sensor_context(instance=instance)))
        assert len(requests) == 2  # the file, and the folder (to be recorded as bad_location)
    finally:  # shutil.rmtree recurses once per level: removed from the bottom up
        fds = [os.open(deep, os.O_RDONLY | os.O_DIRECTORY)]
        for _ in range(1200):
            fds.append(os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
        os.close(fds.pop())
        while fds:
            fd = fds.pop()
            os.rmdir("d", dir_fd=fd)
            os.close(fd)
