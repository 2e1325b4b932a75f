"""dbt models as Dagster assets, in two steps split by layer.

Staging runs first; the Great Expectations suites (blocking asset checks on
the stg_* assets) then gate the intermediate and mart models, so a failed
suite stops everything downstream of it.
"""


import importlib.metadata
import os
import sys
from functools import cached_property
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import dagster as dg
from packaging import version
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.core import resource as dagster_dbt_resource

from connectors.feeds import FEED_NAMES
from pipelines.defs.quality.gx import shut_down as gx_shut_down, warm_up as gx_warm_up
from pipelines.locks import warehouse_lock
from pipelines.settings import SsjSettings
from pipelines.warehouse import open_warehouse, table_exists

from .in_process import InProcessInvocation
from .build_state import last_draw_no, read_state, rules_stamp, staged_pool_inputs, write_state
from .parse_state import share_partial_parse, warm_partial_parse

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
        schema = spec.metadata.get("dagster/column_schema")
        if layer == "marts" and schema is not None:
            # each documented column's class (public / internal / personal), as on published/<table>
            from pipelines.defs.publish.metadata import column_schema

            spec = spec.replace_attributes(metadata={**spec.metadata, "dagster/column_schema": column_schema(
                props["name"], [(c.name, c.type) for c in schema.columns],
                {c.name: c.description for c in schema.columns})})
        return spec


TRANSLATOR = SsjTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_threads(warehouse: Path, *, whole_step: bool = True, staging: bool = False) -> str:
    """Models dbt builds side by side: 2, or 1 for the marts once the raw store passes 1 GiB.

    DuckDB already spreads each model over every core; two big marts side by
    side only add up their memory under one memory_limit (at 10M enterprises
    the pool's joins alone need ~7 GB). The staging models read raw files and
    write rows without joins: at 10M two side by side peak at 2.9 GB under a
    6 GB limit and take 147 s against 159 s one by one (`dbt run` of the five,
    alone: the CPU is at 190% either way; their starts and ends overlap). A step
    building only part of its models (a draws build: the draw chain's
    increments, small queries and their tests) keeps 2: there dbt's own per-node
    work is what two threads overlap. SSJ_DBT_THREADS overrides.
    """
    if os.environ.get("SSJ_DBT_THREADS"):
        return os.environ["SSJ_DBT_THREADS"]
    if staging or not whole_step:
        return "2"
    return "1" if raw_store_bytes(warehouse) > 1 << 30 else "2"


def raw_store_bytes(warehouse: Path) -> int:
    return sum(p.stat().st_size for p in (Path(warehouse) / "raw").rglob("*.parquet"))


GX_ONE_WORKER_BYTES = 32 << 20
"""A raw store this small stages tables that each validate in one chunk (gx.CHUNK_ROWS): one GX
worker does, and a second would only import GX (~3 CPU-s) beside dbt on a 2-core machine."""


def _dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SsjSettings, *,
               full_refresh: bool, whole_step: bool, staging: bool = False):
    s = settings.get()
    os.environ.update(s.to_env())  # profiles.yml finds the DuckDB file through SSJ_WAREHOUSE
    os.environ["SSJ_DBT_MODEL_THREADS"] = dbt_threads(s.warehouse, whole_step=whole_step, staging=staging)
    # One dbt target folder per step and warehouse, reused run after run (its partial
    # parse stays warm; the last run's dbt.log and run_results.json stay readable) —
    # dagster-dbt's default, a new folder under dbt_project/target per invocation,
    # grows without bound on a server that runs every night.
    target = s.warehouse / ".dbt" / context.op_def.name
    warm_partial_parse(target)
    # Unit tests check the SQL, not the data: the test suite runs them
    # (tests/integration/test_dbt_unit_tests.py), a build does not (seconds on every run).
    args = ["build", "--exclude-resource-type", "unit_test",
            *(["--full-refresh"] if full_refresh else [])]
    context.log.info(f"dbt {' '.join(args[:1] + args[3:])} ({'full' if full_refresh else 'incremental'} draw chain)")
    yield from dbt.cli(args, context=context, target_path=target).stream()
    share_partial_parse(target)


def _selected_models(context: dg.AssetExecutionContext) -> set[str]:
    return {key.path[-1] for key in context.selected_asset_keys}


@dbt_assets(manifest=dbt_project().manifest_path, select=STAGING, dagster_dbt_translator=TRANSLATOR,
            project=dbt_project(), name="dbt_staging")
def dbt_staging(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SsjSettings):
    """Seeds (rules as data) and staging: types, value rules, reason codes for every raw row.

    Staging tables are rebuilt from all their raw files, except stg_draw_list, which
    appends the new draw-list files (see build_state.py). A build that restages only
    some feeds tells stg_ledger which (`restage_feeds` in the build state).
    """
    s = settings.get()
    selected = _selected_models(context)
    every_feed = all(f"stg_{f}" in selected for f in FEED_NAMES)
    # the suites check these tables next: their workers get ready meanwhile (one for a
    # small raw store, or a build of some feeds, such as a drop's new draw-list batch)
    gx_warm_up(None if every_feed and raw_store_bytes(s.warehouse) > GX_ONE_WORKER_BYTES else 1)
    restage = "" if every_feed else ",".join(f for f in FEED_NAMES if f"stg_{f}" in selected)
    stamp = rules_stamp(s)
    with warehouse_lock(s.warehouse):
        with open_warehouse(s.warehouse, read_only=False, lock=False) as con:
            state = read_state(con)
            write_state(con, {"restage_feeds": restage})
        yield from _dbt_build(context, dbt, settings, full_refresh=state.get("built_rules") != stamp,
                              whole_step=_is_whole_step(context, dbt_staging), staging=True)
        if every_feed:
            with open_warehouse(s.warehouse, read_only=False, lock=False) as con:
                write_state(con, {"staged_rules": stamp})


@dbt_assets(manifest=dbt_project().manifest_path, select=DOWNSTREAM, dagster_dbt_translator=TRANSLATOR,
            project=dbt_project(), name="dbt_marts")
def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SsjSettings):
    """Identity, tags, draw resolution and the published marts.

    The draw chain is incremental: it redoes the tasks staged since the last
    successful build, unless the pool or the rules changed since (then in full).
    """
    s = settings.get()
    gx_shut_down()  # every suite ran (they gate this step): free the worker's memory before the joins
    selected = _selected_models(context)
    stamp = rules_stamp(s)
    with warehouse_lock(s.warehouse):
        with open_warehouse(s.warehouse, read_only=False, lock=False) as con:
            state = read_state(con)
            pool_inputs = staged_pool_inputs(con)
            through = (con.execute("select max(staged_at)::varchar from stg_draw_list").fetchall()[0][0]
                       if table_exists(con, "stg_draw_list") else None)
            plans_through = last_draw_no(con)
        full = state.get("built_rules") != stamp or state.get("pool_inputs") != pool_inputs
        whole_step = _is_whole_step(context, dbt_marts)
        yield from _dbt_build(context, dbt, settings, full_refresh=full, whole_step=whole_step)
        record: dict[str, str] = {}
        if INCREMENTAL_DRAW_MODELS <= selected and through:
            record["draws_through"] = through
        if PLAN_ENTRY_MODELS <= selected:
            record["plans_drawn_through"] = str(plans_through)
        if whole_step:
            # the pools and marts now stand on this staging; the rules count as built only
            # if staging itself was rebuilt under them
            record["built_rules"] = stamp if state.get("staged_rules") == stamp else ""
            record["pool_inputs"] = pool_inputs
        if record:
            with open_warehouse(s.warehouse, read_only=False, lock=False) as con:
                write_state(con, record)


INCREMENTAL_DRAW_MODELS = {"int_draw__current", "int_draw__resolved", "int_draw__entries", "int_draw__groups",
                           "draw_entries", "joint_inspections"}
PLAN_ENTRY_MODELS = INCREMENTAL_DRAW_MODELS - {"int_draw__current", "int_draw__resolved"}
"""The incremental models drawn plans enter (through int_draw__plan_entries): a build of them all
has entered every draw stored when it started (``ssj draw`` builds these, not the dropped lists')."""


def _is_whole_step(context: dg.AssetExecutionContext, step: dg.AssetsDefinition) -> bool:
    """Whether this run builds every model of the step (``step``: the module's own definition;
    in a run of a subset, ``context.assets_def`` holds only the selected keys)."""
    return context.selected_asset_keys >= step.keys


class SsjDbtCliResource(DbtCliResource):
    """DbtCliResource that runs dbt in this process, without its per-invocation probes.

    dagster-dbt's ``cli()`` still builds each command (selection, target path,
    environment) and turns its events into Dagster's; the command itself runs in
    this process (``in_process.py``: a dbt process costs ~4 s of start-up and
    teardown, twice per build). Before each command dagster-dbt would also run
    ``dbt --version`` in a subprocess (to tell dbt-core from the Fusion engine) and
    build a dbt adapter (used only to fetch row counts / column metadata, which this
    project does not ask for): the dbt here is always dbt-core from this environment
    (pinned in requirements.lock), so the version is read from the package metadata
    and no adapter is built.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ANN001, ANN202 - dagster-dbt signature
        return None

    def cli(self, args, **kwargs):  # noqa: ANN001, ANN003, ANN201 - dagster-dbt signature
        # cli() hands the command it built to DbtCliInvocation.run, by that module-level name
        saved = dagster_dbt_resource.DbtCliInvocation
        dagster_dbt_resource.DbtCliInvocation = InProcessInvocation
        try:
            return super().cli(args, **kwargs)
        finally:
            dagster_dbt_resource.DbtCliInvocation = saved


dbt_resource = SsjDbtCliResource(project_dir=dbt_project(), dbt_executable=str(Path(sys.executable).with_name("dbt")))
