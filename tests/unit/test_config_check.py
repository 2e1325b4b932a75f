"""A run's settings are checked before Dagster starts (pipelines/config_check.py)."""

from __future__ import annotations

from datetime import date

from pipelines.config_check import configuration_problems
from pipelines.settings import Settings
from tests.support import SAMPLE_REGISTRY


def settings(tmp_path, agencies=SAMPLE_REGISTRY) -> Settings:
    return Settings(landing=tmp_path, warehouse=tmp_path / "wh", agencies=agencies, as_of=date(2026, 6, 30))


def test_the_sample_configuration_has_no_problem(tmp_path):
    assert configuration_problems(settings(tmp_path)) == []


def test_every_unusable_setting_is_named_with_what_was_expected(tmp_path, monkeypatch):
    bad = {"SSJ_READER_MEMORY": "4GiBB", "SSJ_READ_TIMEOUT": "soon", "SSJ_MAX_FILE_BYTES": "big",
           "SSJ_MAX_FILE_ROWS": "1e9x", "SSJ_INGEST_WORKERS": "two", "SSJ_KEEP_SNAPSHOTS": "0",
           "SSJ_DUCKDB_MEMORY": "lots", "SSJ_DBT_THREADS": "-1"}
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    problems = configuration_problems(settings(tmp_path))
    assert [p.split("=", 1)[0] for p in problems] == list(bad)
    assert all(f"={bad[p.split('=', 1)[0]]!r}: " in p for p in problems)
    assert "expected a whole number of snapshots" in problems[5]


def test_an_unusable_registry_is_a_problem_too(tmp_path):
    registry = tmp_path / "agencies.yaml"
    registry.write_text("agencies: nope\n", encoding="utf-8")
    [problem] = configuration_problems(settings(tmp_path, registry))
    assert "agencies" in problem
