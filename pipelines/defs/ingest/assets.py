"""Ingestion as Dagster definitions: the landing-files asset, its job and the landing sensor."""


import dagster as dg

from connectors.feeds import FEED_NAMES
from connectors.personal import mask_text
from pipelines.engine import refuse_pipeline
from pipelines.settings import SsjSettings

from .landing import ingest_landing


class IngestConfig(dg.Config):
    files: list[str] = []
    """References (``raw_store.file_ref``) of the landing files to ingest, as the landing sensor
    asks; empty means every new file. Never paths: a run's config is kept in Dagster's storage,
    and a file name may hold a personal number."""


RAW_TABLES = (*FEED_NAMES, "ledger", "agencies", "calendar")
"""The raw store's tables, as the dbt sources name them (source ``raw``)."""

RAW_KEYS = [dg.AssetKey(["raw", t]) for t in RAW_TABLES]
LEDGER_KEY = dg.AssetKey(["raw", "ledger"])


@dg.multi_asset(
    name="landing_files",
    group_name="ingest",
    specs=[
        dg.AssetSpec(key, kinds={"python", "parquet"},
                     description=f"The raw store's {key.path[-1]} table (<warehouse>/raw), written only by ingestion.")
        for key in RAW_KEYS
    ],
    description=(
        "Every file dropped in the landing zone, decided once: ingested into the raw store "
        "(one Parquet file per drop, every row kept as text with lineage), a duplicate of bytes "
        "already ingested, or rejected whole and left in place. One ledger entry per file."
    ),
)
def landing_files(context: dg.AssetExecutionContext, config: IngestConfig, settings: SsjSettings):
    refuse_pipeline()  # before any file is ingested: the build after it would fail on this engine
    s = settings.get()
    report = ingest_landing(s.landing, s.warehouse, s.agencies, only=config.files or None)
    counts = report.counts()
    rejected = [d for d in report.decisions if d.status == "rejected"]
    table = "\n".join(mask_text(f"| {d.rel} | {d.error_code} | {d.error} |") for d in rejected[:50])
    for d in rejected:
        context.log.warning(mask_text(f"rejected {d.rel}: {d.error}"))
    summary = {
        "files_ingested": counts.get("ingested", 0),
        "files_duplicate": counts.get("duplicate", 0),
        "files_rejected": counts.get("rejected", 0),
        "files_already_seen": report.skipped,
        "rows_read_by_feed": dg.MetadataValue.json(report.rows_by_feed()),
        "rejected_files": dg.MetadataValue.md(
            "| file | code | reason |\n|---|---|---|\n" + table if rejected else "none"
        ),
    }
    for key in RAW_KEYS:
        yield dg.MaterializeResult(asset_key=key, metadata=summary if key == LEDGER_KEY else {})


ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets(*RAW_KEYS),
    description="Ingest landing files (all new ones, or the paths in the run config). Writes no DuckDB.",
)
