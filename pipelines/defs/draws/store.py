"""Making a draw and keeping it: `ssj draw` (docs/draws.md).

The plans drawn are the current ones (``int_plans__current``) whose window starts
in the year asked for, of one coordination group when one is named. Nothing is
drawn unless the seed is the one every selected plan committed to
(``seed_sha256``). The draw reads the current published snapshot's
``enterprise_pool`` and ``item_scope`` (the snapshot is recorded as
``pool_snapshot_id``) and is kept in the warehouse's draw store (schema ``draws``,
macros/draw_store.sql): a plan drawn once keeps its draw; drawing it again with
the same seed changes nothing, with another seed is refused. Each draw record also
keeps the plan's task name and window as drawn (what its enterprises enter
matching with) and the number of the `ssj draw` that stored it. The caller holds
the warehouse's writer lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import jinja2

from pipelines.defs.publish.snapshots import current_dir, read_manifest
from pipelines.warehouse import open_warehouse, table_exists

from pipelines import DBT_PROJECT_DIR

from .rule import run_rule

PLAN_COLUMNS = ("agency, task_id, coordination, seed_sha256, items, "
                "ratio_a, ratio_b, ratio_c, ratio_d, ratio_none")


class DrawRefused(Exception):
    """Nothing was drawn; the message says why."""


@dataclass
class DrawOutcome:
    pool_snapshot_id: str
    drawn: dict[str, int] = field(default_factory=dict)  # "agency:task_id" -> enterprises drawn now
    already: list[str] = field(default_factory=list)  # plans drawn before with this seed (unchanged)


def seed_commitment(seed: str) -> str:
    """The hex SHA-256 of the seed's UTF-8 bytes: what a plan's seed_sha256 must be."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_store(con: duckdb.DuckDBPyConnection) -> None:
    """The draw store, when missing: the DDL of dbt_project/macros/draw_store.sql (dbt runs it too)."""
    text = (DBT_PROJECT_DIR / "macros" / "draw_store.sql").read_text(encoding="utf-8")
    con.execute(jinja2.Environment().from_string(text).module.draw_store_ddl())


def make_draw(warehouse: Path, year: int, seed: str, coordination: str | None = None) -> DrawOutcome:
    """Draw the selected plans that are not drawn yet and store them (see the module doc)."""
    snapshot = current_dir(warehouse)
    if snapshot is None:
        raise DrawRefused(f"nothing is published in {warehouse}: run `ssj run` first (a draw reads the published "
                          "enterprise_pool and item_scope)")
    pool_snapshot_id = read_manifest(snapshot)["snapshot_id"]
    for table in ("enterprise_pool", "item_scope"):
        if not (snapshot / f"{table}.parquet").exists():
            raise DrawRefused(f"snapshot {pool_snapshot_id} has no {table}: run `ssj run` first")
    group = "" if coordination is None else f" of coordination group {coordination!r}"
    with open_warehouse(warehouse, read_only=False, lock=False) as con:
        if not table_exists(con, "int_plans__current"):
            raise DrawRefused(f"the warehouse {warehouse} has no plans yet: run `ssj run` first")
        create_store(con)
        where = f"year(window_start) = {int(year)}" + (
            "" if coordination is None else f" and coordination = {_lit(coordination)}")
        # a plan without a commitment cannot be drawn verifiably: never selected, never in the way
        where += " and seed_sha256 is not null"
        plans = con.execute(f"select agency, task_id, seed_sha256 from int_plans__current where {where} "
                            "order by agency, task_id").fetchall()
        if not plans:
            raise DrawRefused(f"no current plan{group} with a seed commitment (seed_sha256) has a window starting "
                              f"in {year}: nothing drawn")
        digest = seed_commitment(seed)
        wrong = [f"{a}:{t}" for a, t, committed in plans if committed != digest]
        if wrong:
            raise DrawRefused(f"the seed's SHA-256 is not the seed_sha256 committed by {len(wrong)} of the "
                              f"{len(plans)} plans{group} of {year}: {', '.join(wrong)}; nothing drawn")
        # the draw publishes the seed: a plan left out that committed to it would be predictable from then on
        selected = {(a, t) for a, t, _ in plans}
        exposed = [f"{a}:{t}" for a, t in con.execute(
            "select agency, task_id from int_plans__current as p where seed_sha256 = ? and not exists ("
            "select 1 from draws.draw_records as r where r.agency = p.agency and r.task_id = p.task_id) "
            "order by agency, task_id", [digest]).fetchall() if (a, t) not in selected]
        if exposed:
            raise DrawRefused(f"{len(exposed)} plan(s) outside this selection committed to the same seed and are not "
                              f"drawn yet: {', '.join(exposed)}; publishing the seed would make their draws "
                              "predictable. Draw them in the same selection, or give them a seed of their own; "
                              "nothing drawn")
        stored = dict(((a, t), s) for a, t, s in con.execute(
            "select agency, task_id, seed_sha256 from draws.draw_records").fetchall())
        other = [f"{a}:{t}" for a, t, _ in plans if (a, t) in stored and stored[(a, t)] != digest]
        if other:
            raise DrawRefused(f"already drawn with another seed: {', '.join(other)}; a draw, once made, stays; "
                              "nothing drawn")
        outcome = DrawOutcome(pool_snapshot_id, already=[f"{a}:{t}" for a, t, _ in plans if (a, t) in stored])
        if len(outcome.already) == len(plans):
            return outcome
        con.execute(f"""
            create temp table draw_plans as
            select {PLAN_COLUMNS}, ? as seed
            from int_plans__current as p
            where {where} and not exists (
                select 1 from draws.draw_records as r where r.agency = p.agency and r.task_id = p.task_id)""",
                    [seed])
        con.execute(f"create temp view draw_pool as select enterprise_id, uscc, credit_grade "
                    f"from read_parquet({_lit(str(snapshot / 'enterprise_pool.parquet'))})")
        con.execute(f"create temp view draw_scope as select agency, item_code, enterprise_id "
                    f"from read_parquet({_lit(str(snapshot / 'item_scope.parquet'))})")
        run_rule(con)
        con.execute("begin")
        con.execute("insert into draws.plan_draws by name "
                    "select agency, task_id, enterprise_id, uscc, stratum, u, rank from drawn")
        # with what the drawn enterprises enter matching with: the plan's name and window as drawn,
        # and this draw's number (a build enters the draws numbered after the last it entered)
        con.execute("""
            insert into draws.draw_records by name
            select drawn_records.*, plans.task_name, plans.window_start, plans.window_end,
                   ? as pool_snapshot_id,
                   (select coalesce(max(draw_no), 0) + 1 from draws.draw_records) as draw_no
            from drawn_records
            inner join int_plans__current as plans using (agency, task_id)""", [pool_snapshot_id])
        con.execute("commit")
        outcome.drawn = {f"{a}:{t}": n for a, t, n in con.execute(
            "select p.agency, p.task_id, count(d.enterprise_id) from draw_plans as p "
            "left join drawn as d on d.agency = p.agency and d.task_id = p.task_id group by all order by 1, 2"
        ).fetchall()}
    return outcome
