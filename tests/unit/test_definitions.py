"""The code location loads cleanly and its graph orders ingestion → staging → marts → publish."""

from __future__ import annotations

import warnings

import dagster as dg

from connectors.feeds import FEED_NAMES


def load():
    from pipelines.definitions import defs

    return defs()


def test_loads_without_warnings():
    """No Dagster warning (beta / preview / superseded APIs, asset-graph problems) from our definitions.

    Import-time deprecation notices of third-party packages (sqlglotrs, ...) are theirs, not ours."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = load()
        d.resolve_asset_graph()
        for job in ("full_job", "build_job", "ingest_job"):
            d.resolve_job_def(job)
    ours = [w for w in caught if "dagster" in w.filename or "/pipelines/" in w.filename or "/connectors/" in w.filename
            or type(w.message).__module__.startswith("dagster")]
    assert not ours, [f"{w.filename}:{w.lineno}: {w.message}" for w in ours]


def test_every_staging_model_reads_its_raw_table_the_ledger_snapshot_and_the_sql_extracts():
    graph = load().resolve_asset_graph()
    for feed in FEED_NAMES:
        parents = graph.get(dg.AssetKey(f"stg_{feed}")).parent_keys
        assert {dg.AssetKey(["raw", feed]), dg.AssetKey("stg_ledger"), dg.AssetKey("sql_sources")} <= parents
    assert dg.AssetKey(["raw", "ledger"]) in graph.get(dg.AssetKey("stg_ledger")).parent_keys
    assert dg.AssetKey("stg_ledger") in graph.get(dg.AssetKey("ingest_log")).parent_keys
    # dbt's feed_names() is FEED_NAMES; a result's final verdict comes after matching, a link's after
    # the pool (feed_verdicts)
    after = {"results": "int_results__resolved", "links": "int_links__checked"}
    verdicts = {dg.AssetKey(after.get(feed, f"stg_{feed}")) for feed in FEED_NAMES}
    for mart in ("quarantine", "ingest_log"):
        assert verdicts <= graph.get(dg.AssetKey(mart)).parent_keys


def test_every_mart_is_published_into_the_snapshot_then_sent_to_the_target_one_asset_each():
    from pipelines.defs.publish.tables import published_tables

    graph = load().resolve_asset_graph()
    snapshot = graph.get(dg.AssetKey("snapshot")).parent_keys
    for mart in published_tables():
        assert graph.get(dg.AssetKey(["published", mart])).parent_keys == {dg.AssetKey(mart)}
        assert dg.AssetKey(["published", mart]) in snapshot
        assert graph.get(dg.AssetKey(["target", mart])).parent_keys == {dg.AssetKey("snapshot")}
    for table in ("changes", "ssj_snapshot"):
        assert graph.get(dg.AssetKey(["target", table])).parent_keys == {dg.AssetKey("snapshot")}


def test_a_draws_build_selects_the_draw_chain_and_leaves_the_pools_alone():
    from pipelines.defs.dbt.build_state import DRAWS_SELECTION

    graph = load().resolve_asset_graph()
    keys = {k.to_user_string() for k in DRAWS_SELECTION.resolve(graph)}
    for name in ("stg_ledger", "stg_draw_list", "int_draw__current", "int_draw__resolved", "int_draw__entries",
                 "int_draw__groups", "draw_entries", "joint_inspections", "agency_overlap", "merge_summary",
                 "quarantine", "ingest_log", "published/draw_entries", "published/joint_inspections",
                 "published/changes", "snapshot", "target/joint_inspections", "target/enterprise_pool"):
        assert name in keys, name
    for name in ("stg_registration", "stg_approval", "stg_credit_risk", "stg_inspectors", "enterprise_pool",
                 "inspector_pool", "enterprise_tags", "published/enterprise_pool", "raw/draw_list"):
        assert name not in keys, name


def test_a_draw_publishes_the_draw_store_and_the_matching_its_plans_enter():
    """`ssj draw` builds what reads the draw store: its marts, the drawn plans' entries and the draw chain
    after them, never the dropped lists' staging and resolution nor the pools."""
    from pipelines.defs.dbt.build_state import DRAW_STORE_SELECTION, DRAWS_SELECTION

    graph = load().resolve_asset_graph()
    keys = {k.to_user_string() for k in DRAW_STORE_SELECTION.resolve(graph)}
    for name in ("plan_draws", "draw_records", "int_draw__plan_entries", "int_draw__entries", "int_draw__groups",
                 "draw_entries", "joint_inspections", "merge_summary", "agency_overlap", "published/draw_entries",
                 "published/joint_inspections", "published/merge_summary", "published/agency_overlap", "snapshot"):
        assert name in keys, name
    for name in ("stg_draw_list", "int_draw__current", "int_draw__resolved", "enterprise_pool", "item_scope",
                 "int_plans__current"):
        assert name not in keys, name
    assert DRAW_STORE_SELECTION.resolve(graph) <= DRAWS_SELECTION.resolve(graph)


def test_gx_suites_and_conservation_are_blocking_checks():
    graph = load().resolve_asset_graph()
    checks = {k.to_user_string() for k in graph.asset_check_keys}
    for feed in FEED_NAMES:
        assert f"stg_{feed}:gx_{feed}_suite" in checks
    assert "ingest_log:rows_conserved" in checks
    for key in graph.asset_check_keys:
        if key.name.startswith("gx_") or key.name == "rows_conserved":
            assert graph.get_check_spec(key).blocking, key


def test_build_job_neither_scans_the_landing_zone_nor_extracts():
    job = load().resolve_job_def("build_job")
    ops = {n.name for n in job.graph.node_defs}
    assert "landing_files" not in ops and "sql_sources" not in ops
