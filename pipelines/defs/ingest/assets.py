"""Ingestion as Dagster definitions: the landing-files asset, its job and the landing sensor."""


import dagster as dg

from pipelines.settings import SsjSettings

from .landing import ingest_landing


class IngestConfig(dg.Config):
    paths: list[str] = []
    """Relative paths to ingest; empty means every new file in the landing zone."""


@dg.asset(
    group_name="ingest",
    kinds={"python", "parquet"},
    description=(
        "Every file dropped in the landing zone, decided once: ingested into the raw store "
        "(one Parquet file per drop, every row kept as text with lineage), a duplicate of bytes "
        "already ingested, or rejected whole and left in place. One ledger entry per file."
    ),
)
def landing_files(context: dg.AssetExecutionContext, config: IngestConfig, settings: SsjSettings) -> dg.MaterializeResult:
    s = settings.get()
    report = ingest_landing(s.landing, s.warehouse, s.agencies, only=config.paths or None)
    counts = report.counts()
    rejected = [d for d in report.decisions if d.status == "rejected"]
    table = "\n".join(f"| {d.rel} | {d.error_code} | {d.error} |" for d in rejected[:50])
    for d in rejected:
        context.log.warning(f"rejected {d.rel}: {d.error}")
    return dg.MaterializeResult(
        metadata={
            "files_ingested": counts.get("ingested", 0),
            "files_duplicate": counts.get("duplicate", 0),
            "files_rejected": counts.get("rejected", 0),
            "files_already_seen": report.skipped,
            "rows_read_by_feed": dg.MetadataValue.json(report.rows_by_feed()),
            "rejected_files": dg.MetadataValue.md(
                "| file | code | reason |\n|---|---|---|\n" + table if rejected else "none"
            ),
        }
    )


ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets(landing_files),
    description="Ingest landing files (all new ones, or the paths in the run config). Writes no DuckDB.",
)
