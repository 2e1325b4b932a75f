"""One dbt parse of the project serves every warehouse, and a changed file is still parsed again
(pipelines/defs/dbt/parse_state.py).

The sharing rests on the parse not depending on the folder the DuckDB file is in:
a model reading ``target.path`` while parsed would break that, and the first test
here would say so. The others run dbt as the pipeline does (in this process, the
state check hashing the path by its file name), on a copy of the project that they
change between warehouses.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.defs.dbt.in_process import InProcessDbt
from pipelines.defs.dbt.parse_state import share_partial_parse, warm_partial_parse
from pipelines import DBT_PROJECT_DIR

pytestmark = pytest.mark.slow


def parse(project: Path, warehouse: Path) -> tuple[dict, list[str]]:
    """`dbt parse` of ``project`` for ``warehouse`` (its first step's target folder): the manifest and
    what dbt.log says of the parse."""
    target = warehouse / ".dbt" / "dbt_staging"
    proc = InProcessDbt(["dbt", "parse", "--project-dir", str(project), "--profiles-dir", str(project)],
                        {"SSJ_WAREHOUSE": str(warehouse), "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target),
                         "DBT_LOG_FORMAT": "json", "SSJ_DBT_LOG_LEVEL": "debug"})
    with proc.stdout:
        lines = [json.loads(line)["info"]["msg"] for line in proc.stdout]
    assert proc.wait() == 0, lines
    said = [json.loads(line)["info"]["msg"] for line in (target / "dbt.log").read_text().splitlines()
            if line.startswith("{")]
    return json.loads((target / "manifest.json").read_text()), [m for m in said if "parsing" in m.lower()]


def without_metadata(manifest: dict) -> dict:
    """The manifest less what differs from one parse to the next (the metadata, when nodes were parsed)."""
    def timeless(value):
        if isinstance(value, dict):
            return {k: timeless(v) for k, v in value.items() if k != "created_at"}
        return [timeless(v) for v in value] if isinstance(value, list) else value

    return timeless({k: v for k, v in manifest.items() if k != "metadata"})


@pytest.fixture
def project(tmp_path) -> Path:
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return copy


def test_the_parse_is_the_same_whatever_folder_the_warehouse_is_in(project, tmp_path):
    first, said = parse(project, tmp_path / "one" / "wh")
    assert any("full parse" in m for m in said), said
    second, _ = parse(project, tmp_path / "two" / "deeper" / "wh")
    assert first["nodes"] and without_metadata(first) == without_metadata(second)
    assert str(tmp_path / "one") not in json.dumps(without_metadata(first))


def test_a_new_warehouse_starts_from_the_shared_parse_and_parses_a_changed_model_again(project, tmp_path):
    shared = tmp_path / "shared" / "partial_parse.msgpack"
    first = tmp_path / "first"
    parse(project, first)
    share_partial_parse(first / ".dbt" / "dbt_staging", shared=shared)

    # an unchanged project: the new warehouse parses nothing
    same = tmp_path / "same"
    warm_partial_parse(same / ".dbt" / "dbt_staging", shared=shared)
    manifest, said = parse(project, same)
    assert not any("full parse" in m for m in said), said
    assert any("no changes found" in m for m in said), said

    # a model changed since: parsed again, the manifest holds the new SQL (not the shared parse's)
    model = project / "models" / "marts" / "kpi.sql"
    assert "model.shuangsuiji.kpi" in manifest["nodes"]
    model.write_text(model.read_text() + "\n-- changed after the shared parse\n")
    changed = tmp_path / "changed"
    warm_partial_parse(changed / ".dbt" / "dbt_staging", shared=shared)
    manifest, said = parse(project, changed)
    assert not any("full parse" in m for m in said), said
    assert any("1 files changed" in m for m in said), said
    assert "changed after the shared parse" in manifest["nodes"]["model.shuangsuiji.kpi"]["raw_code"]

    # a macro changed: the manifest holds its new body, which the models calling it compile with
    macro = project / "macros" / "links.sql"
    macro.write_text(macro.read_text() + "\n{% macro added_after_the_shared_parse() %}1{% endmacro %}\n")
    with_macro = tmp_path / "with_macro"
    warm_partial_parse(with_macro / ".dbt" / "dbt_staging", shared=shared)
    manifest, said = parse(project, with_macro)
    assert not any("full parse" in m for m in said), said
    assert "macro.shuangsuiji.added_after_the_shared_parse" in manifest["macros"]

    # a macro that decides what parsing gives each node (where it is built): the nodes change
    macro = project / "macros" / "generate_schema_name.sql"
    macro.write_text(macro.read_text().replace("{{ custom_schema_name or target.schema }}", "elsewhere"))
    moved = tmp_path / "moved"
    warm_partial_parse(moved / ".dbt" / "dbt_staging", shared=shared)
    manifest, said = parse(project, moved)
    assert manifest["nodes"]["model.shuangsuiji.kpi"]["schema"] == "elsewhere"


def test_another_memory_limit_is_the_same_parse(project, tmp_path, monkeypatch):
    """SSJ_DUCKDB_MEMORY sizes the database (a benchmark sets 6GB, a server more): no model reads it."""
    shared = tmp_path / "shared" / "partial_parse.msgpack"
    first = tmp_path / "first"
    parse(project, first)
    share_partial_parse(first / ".dbt" / "dbt_staging", shared=shared)
    monkeypatch.setenv("SSJ_DUCKDB_MEMORY", "3GB")
    other = tmp_path / "other"
    warm_partial_parse(other / ".dbt" / "dbt_staging", shared=shared)
    _, said = parse(project, other)
    assert any("no changes found" in m for m in said) and not any("profile has changed" in m for m in said), said


def test_another_duckdb_file_name_is_another_parse(project, tmp_path):
    """The database name dbt derives from the file's name is part of the parse: still hashed."""
    shared = tmp_path / "shared" / "partial_parse.msgpack"
    first = tmp_path / "first"
    parse(project, first)
    share_partial_parse(first / ".dbt" / "dbt_staging", shared=shared)
    profile = project / "profiles.yml"
    profile.write_text(profile.read_text().replace("/ssj.duckdb", "/other.duckdb"))
    renamed = tmp_path / "renamed"
    warm_partial_parse(renamed / ".dbt" / "dbt_staging", shared=shared)
    manifest, said = parse(project, renamed)
    assert any("profile has changed" in m for m in said), said
    assert manifest["nodes"]["model.shuangsuiji.kpi"]["database"] == "other"
