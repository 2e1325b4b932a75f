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


@pytest.mark.slow
@pytest.mark.parametrize("level", ["debug", "info"])
def test_an_id_number_a_database_error_quotes_is_masked_in_the_lines_and_in_dbt_log(tmp_path, level):
    from tests.leak_detector import scan_text
    from tests.support import make_id_no

    number = make_id_no("11010119900307001")
    target = tmp_path / "target"
    (tmp_path / "wh").mkdir()
    code, lines = run(["show", "--inline", f"select cast('{number}' as bigint)::integer as n",
                       "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
                      {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target),
                       "SSJ_WAREHOUSE": str(tmp_path / "wh"), "SSJ_DBT_LOG_LEVEL": level})
    assert code not in (0, None)
    log = (target / "dbt.log").read_text(encoding="utf-8")
    assert not scan_text("stdout lines", json.dumps(lines, ensure_ascii=False))  # the number masked ...
    assert not scan_text("dbt.log", log)
    errors = [line["info"]["msg"] for line in lines if line["info"]["level"] == "error"]
    assert any("out of range" in e for e in errors), errors  # ... in the error, which is told
    assert any("out of range" in json.loads(line)["info"]["msg"] for line in log.splitlines())
    said = {json.loads(line)["info"]["level"] for line in log.splitlines()}
    assert ("debug" in said) == (level == "debug")


def test_the_dbt_log_level_is_one_of_the_named(monkeypatch):
    from pipelines.defs.dbt.in_process import log_level

    assert log_level({}) == "info" and log_level({"SSJ_DBT_LOG_LEVEL": " Debug "}) == "debug"
    with pytest.raises(ValueError, match="debug, info, warn, error, none"):
        log_level({"SSJ_DBT_LOG_LEVEL": "verbose"})


@pytest.mark.slow
def test_a_failed_models_message_is_masked_in_run_results(tmp_path):
    from tests.leak_detector import scan_text
    from tests.support import make_id_no

    number = make_id_no("11010119900307001")
    project = _failing_project(tmp_path, number)
    target = tmp_path / "target"
    code, lines = run(["build", "--project-dir", str(project), "--profiles-dir", str(project)],
                      {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target)})
    assert code == 1, [line["info"]["msg"] for line in lines if line["info"]["level"] == "error"]
    results = (target / "run_results.json").read_text(encoding="utf-8")
    assert not scan_text("run_results.json", results)
    assert not scan_text("dbt.log", (target / "dbt.log").read_text(encoding="utf-8"))
    assert not scan_text("stdout lines", json.dumps(lines, ensure_ascii=False))
    [result] = json.loads(results)["results"]
    assert result["status"] == "error" and "out of range" in result["message"]


def _failing_project(tmp_path, number: str):
    """A one-model project whose build fails with a database error quoting ``number``."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: leak\nversion: '1.0'\nprofile: leak\n", encoding="utf-8")
    (project / "profiles.yml").write_text(
        f"leak:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {tmp_path / 'leak.duckdb'}\n",
        encoding="utf-8")
    (project / "models" / "holds_a_number.sql").write_text(
        "{{ config(materialized='table') }}\n" f"select cast('{number}' as bigint)::integer as n", encoding="utf-8")
    return project


def _logs_and_results(target):
    """What the step's target folder keeps of a run's events and results (not the SQL, which is the project's)."""
    return [p for p in target.iterdir() if p.name.startswith(("run_results", "dbt.log"))]


@pytest.mark.slow
def test_run_results_never_reach_the_disk_unmasked_even_when_the_masking_fails(tmp_path, monkeypatch):
    """A process killed (or a masking that fails) between writing dbt's run_results and masking
    them must not leave them unmasked in the target folder: they are masked before any write."""
    from pipelines.defs.dbt import in_process
    from tests.leak_detector import scan_text
    from tests.support import make_id_no

    number = make_id_no("11010119900307001")
    project = _failing_project(tmp_path, number)
    masked = in_process.mask_any

    def fails_on_run_results(value):
        if isinstance(value, dict) and "results" in value:
            raise RuntimeError("killed")  # where a killed process stops
        return masked(value)

    monkeypatch.setattr(in_process, "mask_any", fails_on_run_results)
    target = tmp_path / "target"
    code, _ = run(["build", "--project-dir", str(project), "--profiles-dir", str(project)],
                  {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target)})
    assert code not in (0, None)
    written = _logs_and_results(target)
    assert not [f for p in written for f in scan_text(p.name, p.read_text(encoding="utf-8"))], \
        [p.name for p in written]


@pytest.mark.slow
def test_a_dbt_log_dbt_itself_wrote_before_is_masked(tmp_path):
    """Before this process wrote dbt.log, dbt did (every event as it made it, rotated to dbt.log.1 … .5):
    what it kept is masked, not appended to."""
    from tests.leak_detector import scan_text
    from tests.support import make_id_no

    number = make_id_no("11010119900307001")
    wide = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    target = tmp_path / "target"
    target.mkdir()
    old = json.dumps({"info": {"level": "error", "msg": f"Conversion Error: '{wide}'"}, "data": {}})  # \uff11 …
    (target / "dbt.log").write_text(old + "\n" + f"plain text {number}\n", encoding="utf-8")
    (target / "dbt.log.3").write_text(old + "\n", encoding="utf-8")
    code, lines = run(["parse", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path)],
                      {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target)})
    assert code not in (0, None)  # no project: the log is opened all the same
    for path in _logs_and_results(target):
        text = path.read_text(encoding="utf-8")
        readable = "\n".join(json.dumps(json.loads(line), ensure_ascii=False) if line.startswith("{") else line
                             for line in text.splitlines())
        findings = scan_text(path.name, readable)  # (where, the number masked): never the number itself
        assert not findings
    assert "Conversion Error" in (target / "dbt.log").read_text(encoding="utf-8")  # kept, masked


def test_dbt_secrets_are_scrubbed_from_the_lines_and_dbt_log_as_dbts_own_loggers_do(tmp_path):
    secret = "s3cr3t-value"
    project = tmp_path / secret  # the project folder is in the event of the command's arguments
    project.mkdir()
    code, lines = run(["parse", "--project-dir", str(project), "--profiles-dir", str(project)],
                      {"DBT_LOG_PATH": str(tmp_path / "logs"), "DBT_ENV_SECRET_TOKEN": secret,
                       "SSJ_DBT_LOG_LEVEL": "debug"})
    assert code not in (0, None)
    log = (tmp_path / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "*****" in log  # the arguments are there, the secret starred
    assert secret not in log and secret not in json.dumps(lines)
