"""The dbt project as Dagster sees it: one DbtProject, its manifest kept current."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines import DBT_PROJECT_DIR

WATCHED = ("models", "macros", "seeds", "tests", "dbt_project.yml", "profiles.yml")


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in WATCHED:
        path = project_dir / name
        paths = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        for p in paths:
            newest = max(newest, p.stat().st_mtime)
    return newest


@cache
def dbt_project() -> DbtProject:
    """The project, with ``target/manifest.json`` (re)built by `dbt parse` when missing or stale.

    Dagster builds the dbt assets from the manifest, so a checkout must be able
    to load its definitions without a separate preparation step.
    """
    # dbt is installed beside this interpreter; make sure dagster-dbt finds it even when
    # the virtual environment is not activated.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(DBT_PROJECT_DIR):
        project.preparer.prepare(project)
    return project
