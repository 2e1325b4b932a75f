"""Jobs and schedules over the whole graph."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.defs.dbt.build_state import plan_build
from pipelines.settings import Settings

# Steps run one after another in the run's own process, as in `ssj run`: the dbt and
# publish steps hold the warehouse's single-writer lock anyway, and a process per step
# would import Dagster, dbt's manifest and Great Expectations again for each of ~15 steps.
EXECUTOR = dg.in_process_executor

build_job = dg.define_asset_job(
    "build_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("ingest"),
    description="Rebuild staging, pools, merge list and publish from the raw store (no landing scan, no SQL extract).",
    tags={"ssj/warehouse": "writer"},
    executor_def=EXECUTOR,
)

full_job = dg.define_asset_job(
    "full_job",
    selection=dg.AssetSelection.all(),
    description="Ingest everything new in the landing zone, rebuild and publish (what `ssj run` does).",
    tags={"ssj/warehouse": "writer"},
    executor_def=EXECUTOR,
)

nightly_full_build = dg.ScheduleDefinition(
    name="nightly_full_build",
    job=full_job,
    cron_schedule=os.environ.get("SSJ_NIGHTLY_CRON", "30 1 * * *"),
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly: ingest whatever is new, rebuild every pool and the merge list, publish.",
)


@dg.asset_sensor(
    asset_key=dg.AssetKey(["raw", "ledger"]),
    job=build_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="After new drops were ingested, rebuild and publish once (coalesces many drops into one build): "
    "only the draw-list chain when only draw lists are new, nothing when every file is in the current "
    "snapshot already (a rejected or already-seen drop), else everything.",
)
def build_after_ingest(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    settings = Settings.from_env()
    plan = plan_build(settings)
    if plan.mode == "none" and not settings.target_url:
        yield dg.SkipReason(plan.reason)
        return
    yield dg.RunRequest(
        run_key=f"after-{asset_event.storage_id}",
        asset_selection=list(plan.selection.resolve(context.repository_def.asset_graph)),
        tags={"ssj/build": plan.mode},
    )
