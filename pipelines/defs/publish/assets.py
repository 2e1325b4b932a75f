"""Publishing: every mart as Parquet in the run's snapshot, switched in whole; then the target database.

``published/<table>`` writes the run's tables into its pending snapshot folder,
``snapshot`` completes it (the tables the run did not rebuild, ``changes``,
``_snapshot.json``) and switches ``<warehouse>/published`` to it in one rename
(snapshots.py), and ``target/<table>`` copies that snapshot into the database
named by SSJ_TARGET_URL in one transaction (sql_target.py).
"""


import time

import dagster as dg

from connectors.sql import mask_url
from pipelines.defs.dbt.build_state import last_build_published, record_published
from pipelines.locks import warehouse_lock
from pipelines.settings import SsjSettings
from pipelines.warehouse import open_warehouse, table_exists

from .metadata import column_schema, table_metadata
from .parquet import IN_ORDER_FROM, UNIQUE_KEYS, publish_parquet
from .snapshots import CHANGE_TABLES, CHANGES, SnapshotError, complete_snapshot, snapshot_dir, start_pending
from .sql_target import SNAPSHOT_TABLE, TargetError, publish_snapshot
from .tables import lineage_columns, published_tables


def _table(key: dg.AssetKey) -> str:
    return key.path[-1]


@dg.multi_asset(
    name="published",
    group_name="publish",
    can_subset=True,
    specs=[
        dg.AssetSpec(
            ["published", table], deps=[table], kinds={"parquet"}, skippable=True,
            description=f"{table} as <warehouse>/published/{table}.parquet, sorted so identical inputs give "
            "identical bytes; written into the run's snapshot, which `snapshot` switches in whole.",
        )
        for table in published_tables()
    ],
    description="The marts downstream systems read, written as Parquet into the run's pending snapshot "
    "(<warehouse>/snapshots/.pending-<run id>) — those selected in this run (a draws build republishes "
    "only the draw-list tables; `snapshot` takes the others from the current snapshot).",
)
def published(context: dg.AssetExecutionContext, settings: SsjSettings):
    s = settings.get()
    # the tables read in order from another mart after the others (IN_ORDER_FROM)
    tables = sorted((_table(k) for k in context.selected_asset_keys), key=lambda t: (t in IN_ORDER_FROM, t))
    published_now = {}  # what this step wrote: a table may be read in order from one (IN_ORDER_FROM)
    with open_warehouse(s.warehouse) as con:
        folder, stale = start_pending(s.warehouse, context.run_id)
        for path in stale:
            context.log.warning(f"removed {path.name}, left by an interrupted run (never published)")
        for table in tables:
            if not table_exists(con, table):
                raise dg.Failure(f"mart {table} is missing from {s.duckdb_path}; did dbt build it?")
            started = time.monotonic()
            rows = publish_parquet(con, table, folder, published_now)
            published_now[table] = folder / f"{table}.parquet"
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
    name="snapshot",
    group_name="publish",
    specs=[
        dg.AssetSpec(
            ["published", CHANGES], deps=[["published", t] for t in CHANGE_TABLES], kinds={"parquet"},
            description="What the snapshot changed against the previous one: one row per added, removed or "
            f"changed key of {', '.join(CHANGE_TABLES)} (docs/downstream.md).",
        ),
        dg.AssetSpec(
            "snapshot", deps=[["published", t] for t in published_tables()],
            description="The run's snapshot completed and switched in: <warehouse>/published now points at "
            "snapshots/<snapshot_id> (every table, changes, _snapshot.json), in one atomic rename.",
        ),
    ],
    description="Completes the run's snapshot (the tables it did not rebuild, changes, _snapshot.json) and "
    "switches <warehouse>/published to it; keeps the last SSJ_KEEP_SNAPSHOTS (7) snapshots.",
)
def snapshot(context: dg.AssetExecutionContext, settings: SsjSettings):
    s = settings.get()
    try:
        with warehouse_lock(s.warehouse):
            with open_warehouse(s.warehouse, read_only=False, lock=False) as con:
                may_carry = last_build_published(con)
            snap = complete_snapshot(
                s.warehouse, context.run_id, published_tables(), as_of=s.as_of.isoformat(),
                keys={t: UNIQUE_KEYS[t][0] for t in CHANGE_TABLES},
                lineage={t: lineage_columns(t) for t in CHANGE_TABLES}, may_carry=may_carry,
            )
            with open_warehouse(s.warehouse, read_only=False, lock=False) as con:
                record_published(con, snap.manifest["snapshot_id"], snap.carried)
    except SnapshotError as exc:
        raise dg.Failure(str(exc)) from None
    manifest = snap.manifest
    if snap.migrated:
        context.log.info(f"the published/ folder of earlier runs became snapshot {snap.migrated}")
    if snap.pruned:
        context.log.info(f"removed snapshots {', '.join(snap.pruned)} (SSJ_KEEP_SNAPSHOTS)")
    counts = ", ".join(f"{t}: " + ", ".join(f"{n} {c}" for c, n in sorted(by.items())) for t, by in sorted(snap.changes.items()))
    context.log.info(f"published snapshot {manifest['snapshot_id']} ({counts or 'no changes'})")
    yield dg.MaterializeResult(
        asset_key=["published", CHANGES],
        metadata={
            "path": str(s.published_dir / f"{CHANGES}.parquet"),
            "dagster/row_count": manifest["tables"][CHANGES]["rows"],
            "dagster/column_schema": column_schema(CHANGES, [
                ("table_name", "varchar"), ("key", "varchar"), ("change", "varchar"),
                ("changed_columns", "varchar[]"), ("snapshot_id", "varchar"), ("previous_snapshot_id", "varchar")]),
            "changes": dg.MetadataValue.md(
                "| table | added | removed | changed |\n|---|---:|---:|---:|\n" + "\n".join(
                    f"| {t} | {by.get('added', 0)} | {by.get('removed', 0)} | {by.get('changed', 0)} |"
                    for t, by in sorted(snap.changes.items())) if snap.changes else "no changes"),
        },
    )
    yield dg.MaterializeResult(
        asset_key="snapshot",
        metadata={
            "snapshot_id": manifest["snapshot_id"],
            "previous_snapshot_id": manifest["previous_snapshot_id"] or "none",
            "as_of": manifest["as_of"],
            "created_at": manifest["created_at"],
            "path": str(snap.folder),
            "tables": dg.MetadataValue.md("| table | rows | sha256 |\n|---|---:|---|\n" + "\n".join(
                f"| {t} | {d['rows']} | `{d['sha256'][:16]}…` |" for t, d in manifest["tables"].items())),
        },
    )


TARGET_TABLES = (*published_tables(), CHANGES, SNAPSHOT_TABLE)


@dg.multi_asset(
    name="published_to_target",
    group_name="publish",
    specs=[
        dg.AssetSpec(["target", table], deps=["snapshot"], kinds={"postgres", "mysql"}, skippable=True,
                     description=f"{table} in the downstream database named by SSJ_TARGET_URL."
                     if table != SNAPSHOT_TABLE else
                     "The one-row table saying which snapshot the target's tables hold (snapshot_id, as_of, created_at).")
        for table in TARGET_TABLES
    ],
    description=(
        "The current snapshot in the downstream database named by SSJ_TARGET_URL (any SQLAlchemy URL; "
        "PostgreSQL or MariaDB/MySQL): every table staged, then emptied and refilled in one transaction, so "
        "grants and downstream views survive. Does nothing when SSJ_TARGET_URL is not set."
    ),
)
def published_to_target(context: dg.AssetExecutionContext, settings: SsjSettings):
    s = settings.get()
    if not s.target_url:
        for table in TARGET_TABLES:
            yield dg.MaterializeResult(asset_key=["target", table], metadata={"target": "none (SSJ_TARGET_URL not set)"})
        return
    try:
        folder = snapshot_dir(s.warehouse)  # resolved once: the snapshot this step publishes
    except FileNotFoundError as exc:
        raise dg.Failure(f"{exc}: there is no snapshot to publish to the target database") from None
    try:
        counts = publish_snapshot(folder, s.target_url)
    except TargetError as exc:
        raise dg.Failure(
            description=f"{exc}. Snapshot {folder.name} is published in {s.published_dir}; "
            "the target database keeps its previous snapshot (all tables in one transaction).",
        ) from None
    context.log.info(f"published snapshot {folder.name} to {mask_url(s.target_url)}: "
                     + ", ".join(f"{t} {n}" for t, n in counts.items()))
    for table in TARGET_TABLES:
        yield dg.MaterializeResult(
            asset_key=["target", table],
            metadata={"target": mask_url(s.target_url), "snapshot_id": folder.name,
                      "dagster/row_count": counts.get(table, 1)},
        )
