"""Publishing: every mart as Parquet (`published`), and in the target database when configured."""


import dagster as dg

from connectors.sql import mask_url
from pipelines.settings import SsjSettings
from pipelines.warehouse import open_warehouse, table_exists

from .parquet import publish_parquet, remove_stale_temporaries
from .sql_target import TargetError, publish_to_target
from .tables import published_tables


@dg.asset(
    group_name="publish",
    kinds={"parquet", "duckdb"},
    deps=[dg.AssetKey(t) for t in published_tables()],
    description=(
        "The marts downstream systems read (CONTRACT §3) written to <warehouse>/published/<table>.parquet, "
        "each replaced atomically and sorted so identical inputs give identical bytes."
    ),
)
def published(context: dg.AssetExecutionContext, settings: SsjSettings) -> dg.MaterializeResult:
    s = settings.get()
    counts: dict[str, int] = {}
    with open_warehouse(s.warehouse) as con:
        for stale in remove_stale_temporaries(s.published_dir):
            context.log.warning(f"removed {stale.name}, left by an interrupted publish")
        for table in published_tables():
            if not table_exists(con, table):
                raise dg.Failure(f"mart {table} is missing from {s.duckdb_path}; did dbt build it?")
            counts[table] = publish_parquet(con, table, s.published_dir)
            context.log.info(f"published {table}: {counts[table]} rows")
    return dg.MaterializeResult(
        metadata={
            "published_dir": str(s.published_dir),
            "rows": dg.MetadataValue.json(counts),
            **{f"rows_{t}": n for t, n in counts.items()},
        }
    )


@dg.asset(
    group_name="publish",
    kinds={"postgres", "mysql"},
    deps=[published],
    description=(
        "The same tables in the downstream database named by SSJ_TARGET_URL (any SQLAlchemy URL; "
        "PostgreSQL COPY or MariaDB bulk INSERT into a side table, swapped in within one transaction, "
        "with primary keys and indexes). Does nothing when SSJ_TARGET_URL is not set."
    ),
)
def published_to_target(context: dg.AssetExecutionContext, settings: SsjSettings) -> dg.MaterializeResult:
    s = settings.get()
    if not s.target_url:
        return dg.MaterializeResult(metadata={"target": "none (SSJ_TARGET_URL not set)"})
    tables = list(published_tables())
    try:
        with open_warehouse(s.warehouse) as con:
            counts = publish_to_target(con, tables, s.target_url)
    except TargetError as exc:
        raise dg.Failure(
            description=f"{exc}. The Parquet files and DuckDB tables of this run are published; "
            "the target keeps its previous tables (each swap is all or nothing).",
        ) from None
    for table, n in counts.items():
        context.log.info(f"published {table} to {mask_url(s.target_url)}: {n} rows")
    return dg.MaterializeResult(
        metadata={"target": mask_url(s.target_url), "rows": dg.MetadataValue.json(counts)}
    )
