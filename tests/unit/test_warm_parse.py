"""A dbt step starts from the newest partial parse of its warehouse (pipelines/defs/dbt/assets.py)."""

from __future__ import annotations

import os

from pipelines.defs.dbt.assets import warm_partial_parse


def write(path, body: bytes, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    os.utime(path, (mtime, mtime))


def test_a_new_step_takes_the_other_steps_parse(tmp_path):
    write(tmp_path / "dbt_staging" / "partial_parse.msgpack", b"staging", 100)
    warm_partial_parse(tmp_path / "dbt_marts")
    assert (tmp_path / "dbt_marts" / "partial_parse.msgpack").read_bytes() == b"staging"
    assert not list((tmp_path / "dbt_marts").glob(".*tmp"))


def test_the_newest_parse_wins_and_a_newer_own_parse_stays(tmp_path):
    write(tmp_path / "dbt_staging" / "partial_parse.msgpack", b"old", 100)
    write(tmp_path / "dbt_marts" / "partial_parse.msgpack", b"new", 200)
    warm_partial_parse(tmp_path / "dbt_marts")
    assert (tmp_path / "dbt_marts" / "partial_parse.msgpack").read_bytes() == b"new"
    warm_partial_parse(tmp_path / "dbt_staging")
    assert (tmp_path / "dbt_staging" / "partial_parse.msgpack").read_bytes() == b"new"


def test_nothing_to_start_from_is_fine(tmp_path):
    warm_partial_parse(tmp_path / "dbt_staging")
    assert not (tmp_path / "dbt_staging").exists()
