"""A dbt step starts from the newest partial parse of its warehouse or of the project (pipelines/defs/dbt/parse_state.py)."""

from __future__ import annotations

import os

from pipelines.defs.dbt.parse_state import share_partial_parse, warm_partial_parse


def write(path, body: bytes, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    os.utime(path, (mtime, mtime))


def test_a_new_step_takes_the_other_steps_parse(tmp_path):
    write(tmp_path / "dbt_staging" / "partial_parse.msgpack", b"staging", 100)
    warm_partial_parse(tmp_path / "dbt_marts", shared=tmp_path / "project" / "partial_parse.msgpack")
    assert (tmp_path / "dbt_marts" / "partial_parse.msgpack").read_bytes() == b"staging"
    assert not list((tmp_path / "dbt_marts").glob(".*tmp"))


def test_the_newest_parse_wins_and_a_newer_own_parse_stays(tmp_path):
    shared = tmp_path / "project" / "partial_parse.msgpack"
    write(tmp_path / "dbt_staging" / "partial_parse.msgpack", b"old", 100)
    write(tmp_path / "dbt_marts" / "partial_parse.msgpack", b"new", 200)
    warm_partial_parse(tmp_path / "dbt_marts", shared=shared)
    assert (tmp_path / "dbt_marts" / "partial_parse.msgpack").read_bytes() == b"new"
    warm_partial_parse(tmp_path / "dbt_staging", shared=shared)
    assert (tmp_path / "dbt_staging" / "partial_parse.msgpack").read_bytes() == b"new"


def test_a_new_warehouse_starts_from_the_projects_parse_unless_its_own_is_newer(tmp_path):
    shared = tmp_path / "project" / "partial_parse.msgpack"
    write(shared, b"project", 150)
    warm_partial_parse(tmp_path / "new" / "dbt_staging", shared=shared)
    assert (tmp_path / "new" / "dbt_staging" / "partial_parse.msgpack").read_bytes() == b"project"
    write(tmp_path / "old" / "dbt_staging" / "partial_parse.msgpack", b"own", 200)
    warm_partial_parse(tmp_path / "old" / "dbt_marts", shared=shared)
    assert (tmp_path / "old" / "dbt_marts" / "partial_parse.msgpack").read_bytes() == b"own"


def test_a_steps_newer_parse_becomes_the_projects_and_an_older_one_does_not(tmp_path):
    shared = tmp_path / "project" / "partial_parse.msgpack"
    write(tmp_path / "wh" / "dbt_staging" / "partial_parse.msgpack", b"first", 100)
    share_partial_parse(tmp_path / "wh" / "dbt_staging", shared=shared)
    assert shared.read_bytes() == b"first" and shared.stat().st_mtime == 100
    write(tmp_path / "other" / "dbt_staging" / "partial_parse.msgpack", b"older", 50)
    share_partial_parse(tmp_path / "other" / "dbt_staging", shared=shared)
    assert shared.read_bytes() == b"first"
    assert not list(shared.parent.glob(".*tmp"))


def test_nothing_to_start_from_is_fine(tmp_path):
    warm_partial_parse(tmp_path / "dbt_staging", shared=tmp_path / "project" / "partial_parse.msgpack")
    assert not (tmp_path / "dbt_staging").exists()
    share_partial_parse(tmp_path / "dbt_staging", shared=tmp_path / "project" / "partial_parse.msgpack")
    assert not (tmp_path / "project").exists()
