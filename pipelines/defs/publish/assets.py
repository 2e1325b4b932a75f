"""Publishing: every mart as Parquet (`published`), and in the target database when configured."""


import time

import dagster as dg

from connectors.sql import mask_url
from pipelines.settings import SsjSettings
from pipelines.warehouse import open_warehouse, table_exists

from .parquet import IN_ORDER_FROM, publish_parquet, remove_stale_temporaries
from .sql_target import TargetError, publish_to_target
from .metadata import table_metadata
from .tables import published_tables


def _table(key: dg.AssetKey) -> str:
    return key.path[-1]


@dg.multi_asset(
    name="published",
    group_name="publish",
    can_subset=True,
    specs=[
        dg.AssetSpec(
            ["published", table], deps=[table], kinds={"parquet"}, skippable=True,
            description=f"{table} as <warehouse>/published/{table}.parquet (CONTRACT §3), replaced atomically, "
            "sorted so identical inputs give identical bytes.",
        )
        for table in published_tables()
    ],
    description="The marts downstream systems read, written as Parquet — those selected in this run "
    "(a draws build republishes only the draw-list tables).",
)
def published(context: dg.AssetExecutionContext, settings: SsjSettings):
    s = settings.get()
    # the tables read in order from another mart after the others (IN_ORDER_FROM)
    tables = sorted((_table(k) for k in context.selected_asset_keys), key=lambda t: (t in IN_ORDER_FROM, t))
    published_now = {}  # what this step wrote: a table may be read in order from one (IN_ORDER_FROM)
    with open_warehouse(s.warehouse) as con:
        for stale in remove_stale_temporaries(s.published_dir):
            context.log.warning(f"removed {stale.name}, left by an interrupted publish")
        for table in tables:
            if not table_exists(con, table):
                raise dg.Failure(f"mart {table} is missing from {s.duckdb_path}; did dbt build it?")
            started = time.monotonic()
            rows = publish_parquet(con, table, s.published_dir, published_now)
            published_now[table] = s.published_dir / f"{table}.parquet"
            written = time.monotonic()
            summary = table_metadata(con, table)
            seconds = {"write_seconds": round(written - started, 2), "summary_seconds": round(time.monotonic() - written, 2)}
            context.log.info(f"published {table}: {rows} rows ({seconds['write_seconds']} s to write, "
                             f"{seconds['summary_seconds']} s to summarise)")
            yield dg.MaterializeResult(
                asset_key=["published", table],
                metadata={"path": str(s.published_dir / f"{table}.parquet"), "dagster/row_count": rows,
                          **seconds, **summary},
            )


@dg.multi_asset(
    name="published_to_target",
    group_name="publish",
    can_subset=True,
    specs=[
        dg.AssetSpec(["target", table], deps=[["published", table]], kinds={"postgres", "mysql"}, skippable=True,
                     description=f"{table} in the downstream database named by SSJ_TARGET_URL.")
        for table in published_tables()
    ],
    description=(
        "The same tables in the downstream database named by SSJ_TARGET_URL (any SQLAlchemy URL; "
        "PostgreSQL COPY or MariaDB bulk INSERT into a side table, swapped in within one transaction, "
        "with primary keys and indexes). Does nothing when SSJ_TARGET_URL is not set."
    ),
)
def published_to_target(context: dg.AssetExecutionContext, settings: SsjSettings):
    s = settings.get()
    tables = sorted(_table(k) for k in context.selected_asset_keys)
    if not s.target_url:
        for table in tables:
            yield dg.MaterializeResult(asset_key=["target", table], metadata={"target": "none (SSJ_TARGET_URL not set)"})
        return
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
        yield dg.MaterializeResult(asset_key=["target", table],
                                   metadata={"target": mask_url(s.target_url), "dagster/row_count": n})
