"""Full, draws or none: the plan follows the rules', the pool inputs' and the published inputs'
fingerprints (build_state.py)."""

from __future__ import annotations

from datetime import date

import json

import duckdb

from pipelines.defs.dbt.build_state import (
    BuildPlan,
    inputs_stamp,
    live_pool_inputs,
    plan_build,
    record_published,
    rules_stamp,
    write_state,
)
from pipelines.defs.draws.store import create_store
from pipelines.defs.ingest.landing import load_ledger
from pipelines.defs.ingest.raw_store import ledger_dir
from pipelines.settings import Settings
from tests.support import SAMPLE_REGISTRY, write_raw


def settings(tmp_path, as_of=date(2026, 11, 26)) -> Settings:
    return Settings(landing=tmp_path / "landing", warehouse=tmp_path / "wh", agencies=SAMPLE_REGISTRY, as_of=as_of)


def record_build(s: Settings, published: bool = True) -> None:
    """A build's record (and its staged ledger, as stg_ledger holds it), then its snapshot's."""
    with duckdb.connect(str(s.duckdb_path)) as con:
        write_state(con, {"built_rules": rules_stamp(s), "pool_inputs": live_pool_inputs(s.warehouse),
                          "plans_drawn_through": "0"})
        con.execute("create or replace table stg_ledger (sha256 varchar, status varchar)")
        for entry in load_ledger(s.warehouse).values():
            con.execute("insert into stg_ledger values (?, ?)", [entry["sha256"], entry["status"]])
        if published:  # the snapshot step's record, no snapshot folder: the warehouse has none
            record_published(con, "", carried=[])


def test_no_recorded_build_means_full(tmp_path):
    s = settings(tmp_path)
    write_raw(s.warehouse, "registration", [{"name": "甲"}], agency="samr-350102")
    assert plan_build(s).mode == "full"


def test_only_new_draw_lists_mean_draws_and_new_pool_files_mean_full(tmp_path):
    s = settings(tmp_path)
    write_raw(s.warehouse, "registration", [{"name": "甲"}], agency="samr-350102")
    record_build(s)
    write_raw(s.warehouse, "draw_list", [{"task_id": "T1", "name": "甲"}], agency="samr-350102")
    assert plan_build(s).mode == "draws"
    write_raw(s.warehouse, "credit_risk", [{"name": "甲", "grade": "A"}], agency="samr-350102")
    plan = plan_build(s)
    assert plan.mode == "full" and "pools" in plan.reason


def test_a_change_of_rules_or_as_of_means_full(tmp_path):
    s = settings(tmp_path)
    write_raw(s.warehouse, "registration", [{"name": "甲"}], agency="samr-350102")
    record_build(s)
    assert plan_build(settings(tmp_path, as_of=date(2026, 11, 27))).mode == "full"
    other = tmp_path / "agencies.yaml"
    other.write_bytes(SAMPLE_REGISTRY.read_bytes() + b"\n# edited\n")
    assert plan_build(Settings(s.landing, s.warehouse, other, s.as_of)).mode == "full"


def test_nothing_new_means_none_and_any_decided_file_or_stored_draw_means_draws(tmp_path):
    s = settings(tmp_path)
    write_raw(s.warehouse, "registration", [{"name": "甲"}], agency="samr-350102")
    write_raw(s.warehouse, "draw_list", [{"task_id": "T1", "name": "甲"}], agency="samr-350102")
    record_build(s)
    plan = plan_build(s)
    assert plan.mode == "none" and "nothing new" in plan.reason

    rejected = ledger_dir(s.warehouse) / "rejected.json"  # a drop rejected: ingest_log has a row more
    rejected.write_text(json.dumps({"path": "samr-350102/registration/坏.csv", "sha256": "0" * 64,
                                    "status": "rejected", "feed": "registration"}), encoding="utf-8")
    assert plan_build(s).mode == "draws"
    record_build(s)
    assert plan_build(s).mode == "none"

    with duckdb.connect(str(s.duckdb_path)) as con:  # `ssj draw` stored a draw its build did not publish
        create_store(con)
        con.execute("insert into draws.draw_records (agency, task_id, items, seed, seed_sha256, pool_snapshot_id, "
                    "scope_size, strata, algorithm, draw_no) values ('samr-350102', 'JH-1', [], 's', 'h', 'p', 0, [], "
                    "'ssj-prn-v1', 1)")
    assert plan_build(s).mode == "draws"


def test_a_build_whose_snapshot_failed_is_not_none(tmp_path):
    """A draws build staged the new files but its snapshot was never switched in: redo it."""
    s = settings(tmp_path)
    write_raw(s.warehouse, "registration", [{"name": "甲"}], agency="samr-350102")
    record_build(s)
    write_raw(s.warehouse, "draw_list", [{"task_id": "T1", "name": "甲"}], agency="samr-350102")
    record_build(s, published=False)  # staged (stg_ledger has the list), snapshot step not reached
    assert plan_build(s).mode == "draws"


def test_none_builds_only_the_target_step(tmp_path):
    from pipelines.definitions import defs

    graph = defs().resolve_asset_graph()
    keys = BuildPlan("none", "").selection.resolve(graph)
    assert keys and all(k.path[0] == "target" for k in keys)


def test_inputs_stamp_ignores_order_and_repeats():
    assert inputs_stamp(["b", "a", "a"]) == inputs_stamp(["a", "b"]) != inputs_stamp(["a"])


def test_a_build_never_published_whole_means_full(tmp_path):
    """A run killed between its dbt steps and its snapshot: the pools are built, the current
    snapshot still holds the earlier ones; a draws build would only republish the draw tables."""
    s = settings(tmp_path)
    write_raw(s.warehouse, "registration", [{"name": "甲"}], agency="samr-350102")
    record_build(s, published=False)
    plan = plan_build(s)
    assert plan.mode == "full" and "snapshot" in plan.reason
    with duckdb.connect(str(s.duckdb_path)) as con:  # a draws run's snapshot, the rest carried over
        record_published(con, "", carried=["enterprise_pool"])
    assert plan_build(s).mode == "full"  # carried from a snapshot that did not hold this build
    with duckdb.connect(str(s.duckdb_path)) as con:  # a full run's snapshot: every table written
        record_published(con, "", carried=[])
    assert plan_build(s).mode == "none"  # and nothing new since
    with duckdb.connect(str(s.duckdb_path)) as con:  # then a draws run carrying the rest over
        record_published(con, "", carried=["enterprise_pool"])
    assert plan_build(s).mode == "none"


def test_a_current_snapshot_other_than_the_one_recorded_means_full(tmp_path):
    """published/ switched by hand to another snapshot (or the warehouse copied without it)."""
    s = settings(tmp_path)
    write_raw(s.warehouse, "registration", [{"name": "甲"}], agency="samr-350102")
    record_build(s)
    with duckdb.connect(str(s.duckdb_path)) as con:
        record_published(con, "20261201T000000.000000Z", carried=[])  # not the current one: there is none
    plan = plan_build(s)
    assert plan.mode == "full" and "snapshot" in plan.reason
