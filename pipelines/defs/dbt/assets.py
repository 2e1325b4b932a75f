"""dbt models as Dagster assets, in two steps split by layer.

Staging runs first; the Great Expectations suites (blocking asset checks on
the stg_* assets) then gate the intermediate and mart models, so a failed
suite stops everything downstream of it.
"""


import json
import sys
from pathlib import Path
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.locks import warehouse_lock
from pipelines.settings import SsjSettings

from .project import dbt_project

STAGING = "path:seeds path:models/staging"
DOWNSTREAM = "path:models/intermediate path:models/marts"


def layer_of(props: Mapping[str, Any]) -> str:
    """The folder a node lives in (staging / intermediate / marts / seeds)."""
    if props.get("resource_type") == "seed":
        return "seeds"
    fqn = props.get("fqn") or []
    return fqn[1] if len(fqn) > 2 else "models"


class SsjTranslator(DagsterDbtTranslator):
    """Asset key = model name (downstream systems know tables by name); group = layer."""

    def get_asset_spec(self, manifest, unique_id, project):  # noqa: ANN001 - dagster-dbt signature
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") == "source":
            return spec  # raw/<table>: produced by the landing_files multi-asset
        layer = layer_of(props)
        spec = spec.replace_attributes(key=dg.AssetKey(props["name"]), group_name=layer)
        if layer == "staging":
            # SQL-source extracts land in the same raw store; staging reads them too.
            spec = spec.merge_attributes(deps=[dg.AssetKey("sql_sources")])
        return spec


TRANSLATOR = SsjTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_vars(settings: SsjSettings) -> list[str]:
    """The CLI arguments carrying the run's settings into dbt (pure; unit-tested)."""
    s = settings.get()
    return ["--vars", json.dumps({"as_of": s.as_of.isoformat(), "raw_dir": str(s.warehouse / "raw")})]


def _run_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SsjSettings):
    s = settings.get()
    os.environ.update(s.to_env())  # profiles.yml finds the DuckDB file through SSJ_WAREHOUSE
    # One dbt target folder per step and warehouse, reused run after run (its partial
    # parse stays warm; the last run's dbt.log and run_results.json stay readable) —
    # dagster-dbt's default, a new folder under dbt_project/target per invocation,
    # grows without bound on a server that runs every night.
    target = s.warehouse / ".dbt" / context.op_def.name
    with warehouse_lock(s.warehouse):
        yield from dbt.cli(["build", *dbt_vars(settings)], context=context, target_path=target).stream()


@dbt_assets(manifest=dbt_project().manifest_path, select=STAGING, dagster_dbt_translator=TRANSLATOR,
            project=dbt_project(), name="dbt_staging")
def dbt_staging(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SsjSettings):
    """Seeds (rules as data) and staging: types, value rules, reason codes for every raw row."""
    yield from _run_dbt(context, dbt, settings)


@dbt_assets(manifest=dbt_project().manifest_path, select=DOWNSTREAM, dagster_dbt_translator=TRANSLATOR,
            project=dbt_project(), name="dbt_marts")
def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SsjSettings):
    """Identity, tags, draw resolution and the published marts."""
    yield from _run_dbt(context, dbt, settings)


dbt_resource = DbtCliResource(project_dir=dbt_project(), dbt_executable=str(Path(sys.executable).with_name("dbt")))
