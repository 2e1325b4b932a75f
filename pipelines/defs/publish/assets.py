"""The `published` asset: every mart as Parquet, and in the target database when configured."""


import dagster as dg

from pipelines.settings import SsjSettings
from pipelines.warehouse import open_warehouse, table_exists

from .parquet import publish_parquet
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
