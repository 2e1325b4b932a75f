"""How many models dbt builds side by side (pipelines/defs/dbt/assets.py: dbt_threads)."""

from __future__ import annotations

import pytest

from pipelines.defs.dbt.assets import dbt_threads


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv("SSJ_DBT_THREADS", raising=False)
    (tmp_path / "raw" / "registration").mkdir(parents=True)
    return tmp_path


def raw_of(warehouse, size: int) -> None:
    with open(warehouse / "raw" / "registration" / "a.parquet", "wb") as f:
        f.truncate(size)  # sparse: the apparent size is what counts


def test_two_threads_while_the_raw_store_is_small(warehouse):
    raw_of(warehouse, 100 << 20)
    assert dbt_threads(warehouse) == "2"


def test_one_thread_for_a_whole_step_over_a_large_raw_store(warehouse):
    raw_of(warehouse, (1 << 30) + 1)
    assert dbt_threads(warehouse) == "1"


def test_a_partial_step_keeps_two_threads_whatever_the_raw_store(warehouse):
    raw_of(warehouse, 5 << 30)
    assert dbt_threads(warehouse, whole_step=False) == "2"


def test_staging_keeps_two_threads_whatever_the_raw_store(warehouse):
    raw_of(warehouse, 5 << 30)
    assert dbt_threads(warehouse, staging=True) == "2"


def test_the_environment_overrides(warehouse, monkeypatch):
    raw_of(warehouse, 5 << 30)
    monkeypatch.setenv("SSJ_DBT_THREADS", "3")
    assert dbt_threads(warehouse) == "3" and dbt_threads(warehouse, whole_step=False) == "3"
    assert dbt_threads(warehouse, staging=True) == "3"
