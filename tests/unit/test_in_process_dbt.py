"""dbt run in the Dagster process looks to dagster-dbt like the CLI it replaces (pipelines/defs/dbt/in_process.py)."""

from __future__ import annotations

import json
import os

import pytest

from pipelines.defs.dbt.in_process import InProcessDbt
from pipelines import DBT_PROJECT_DIR


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[int | None, list[dict]]:
    proc = InProcessDbt(["dbt", *args], env or {})
    with proc.stdout:
        lines = [json.loads(line) for line in proc.stdout]
    return proc.wait(), lines


def test_a_failing_command_exits_non_zero_with_its_error_as_a_log_line(tmp_path):
    code, lines = run(["parse", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path)],
                      {"DBT_LOG_PATH": str(tmp_path / "logs")})
    assert code not in (0, None)
    errors = [line["info"]["msg"] for line in lines if line["info"]["level"] == "error"]
    assert errors and any("dbt_project.yml" in e for e in errors), errors


@pytest.mark.slow
def test_the_environment_given_applies_to_the_command_only(tmp_path):
    before = dict(os.environ)
    code, lines = run(["list", "--resource-type", "seed", "--project-dir", str(DBT_PROJECT_DIR),
                       "--profiles-dir", str(DBT_PROJECT_DIR)],
                      {"DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "target"),
                       "SSJ_WAREHOUSE": str(tmp_path / "wh")})
    assert code == 0, [line["info"]["msg"] for line in lines]
    assert {line["info"]["level"] for line in lines} <= {"info", "warn", "error"}  # what the CLI prints
    assert (tmp_path / "target" / "dbt.log").exists()  # every level, in the target folder
    assert dict(os.environ) == before
