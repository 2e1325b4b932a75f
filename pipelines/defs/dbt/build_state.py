"""Full or incremental: what a build must redo, decided from the ledger and the last build.

The pools (enterprise, inspector) are rebuilt from all their raw files in every
build that restages them. The draw-list chain is incremental (dbt incremental
models): a draw-list drop re-stages only its own file and re-resolves, regroups
and republishes only the draw tasks it carries, against a pool that did not
change. That is only right while nothing the pool is built from has changed, so
every build compares two fingerprints with those of the last successful build:

* ``rules``  — the dbt project (models, macros, seeds), connectors/feeds.yaml, the
  agency registry's bytes, ``as_of`` and the working-day calendar: any change re-derives everything;
* ``pool inputs`` — the SHA-256 of every ingested file of every feed except
  draw_list (what the pool tables are built from).

A difference in either means a **full** build: every staging model, pools and
marts, with ``--full-refresh`` for the incremental models. So does a build whose
tables were never all published: a run stopped (killed, or a failed publish)
between its dbt steps and its snapshot leaves the pools built but the current
snapshot still holding the earlier ones, and a draws build only republishes the
draw-list tables (``published_build``, recorded by the snapshot step). Otherwise a **draws**
build selects only ``stg_ledger``, everything downstream of ``stg_draw_list`` and what
reads the draw store (``DRAW_STORE_SELECTION``; together ``DRAWS_SELECTION``). And when
the current snapshot already holds everything — the ledger the last whole publication
was built from (every file decided, ingested or not) and every draw stored — there is
**none**: nothing is built and no snapshot is made (a run on a schedule with nothing
new in the landing zone), except that a configured target database is brought up to
the current snapshot (its step alone). The fingerprints are recorded in the warehouse itself
(table ``_ssj_build_state``), so a deleted or replaced DuckDB file can never be
mistaken for a built one, and only after the step that built them succeeded:
a failed build is simply redone next time (every incremental step is idempotent).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from connectors.feeds import FEED_NAMES
from pipelines.defs.ingest.calendar import CALENDAR_ID
from pipelines.defs.ingest.landing import load_ledger
from pipelines.defs.publish.snapshots import current_snapshot_id
from pipelines import DBT_PROJECT_DIR, PROJECT_ROOT
from pipelines.settings import Settings
from pipelines.warehouse import table_exists

DRAW_FEED = "draw_list"
POOL_FEEDS = tuple(f for f in FEED_NAMES if f != DRAW_FEED)
STATE_TABLE = "_ssj_build_state"
RULE_PATHS = (DBT_PROJECT_DIR / "models", DBT_PROJECT_DIR / "macros", DBT_PROJECT_DIR / "seeds",
              DBT_PROJECT_DIR / "dbt_project.yml", PROJECT_ROOT / "connectors" / "feeds.yaml",
              # the personal-number rule and the DuckDB functions the models call
              PROJECT_ROOT / "connectors" / "personal.py", PROJECT_ROOT / "pipelines" / "udfs.py")

DRAW_STORE_SELECTION = dg.AssetSelection.assets("plan_draws", "draw_records", "int_draw__plan_entries").downstream()
"""What reads the draw store: its two marts, and the drawn plans' entries with the matching they enter
(draw_entries, joint_inspections, merge_summary, agency_overlap) — what `ssj draw` publishes."""

DRAWS_SELECTION = (
    dg.AssetSelection.assets("stg_ledger")
    | dg.AssetSelection.assets("stg_draw_list").downstream()
    | DRAW_STORE_SELECTION
)
"""What a draws build materializes: the ledger snapshot, then the draw-list chain and what reads it,
and what reads the draw store (so every build publishes every draw stored, even one whose own
publication failed)."""


def rules_stamp(settings: Settings) -> str:
    """Fingerprint of everything that decides how raw rows become tables (see module doc)."""
    h = hashlib.sha256()
    files: list[Path] = []
    for path in RULE_PATHS:
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    files.append(settings.agencies)
    for path in files:
        h.update(str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path.name).encode())
        h.update(b"\0")
        h.update(path.read_bytes() if path.exists() else b"")
        h.update(b"\0")
    h.update(settings.as_of.isoformat().encode())
    h.update(CALENDAR_ID.encode())
    return h.hexdigest()


def inputs_stamp(shas: Iterable[str]) -> str:
    """Fingerprint of a set of file SHA-256s (order-free)."""
    return hashlib.sha256("\n".join(sorted(set(shas))).encode()).hexdigest()


def live_pool_inputs(warehouse: Path) -> str:
    """The pool inputs as the ledger holds them now."""
    return inputs_stamp(
        e["sha256"] for e in load_ledger(warehouse).values() if e.get("status") == "ingested" and e.get("feed") in POOL_FEEDS
    )


def ledger_stamp(entries: Iterable[tuple[str | None, str | None]]) -> str:
    """Fingerprint of the ledger's decisions: each file's SHA-256 with its status (a multiset)."""
    return hashlib.sha256("\n".join(sorted(f"{sha}:{status}" for sha, status in entries)).encode()).hexdigest()


def last_draw_no(con: duckdb.DuckDBPyConnection) -> int:
    """The number of the last `ssj draw` stored (0 before the first; macros/draw_store.sql)."""
    has_store = con.execute("select count(*) from information_schema.columns where table_schema = 'draws' "
                            "and table_name = 'draw_records' and column_name = 'draw_no'").fetchone()[0]
    return con.execute("select coalesce(max(draw_no), 0) from draws.draw_records").fetchone()[0] if has_store else 0


def live_inputs(warehouse: Path, con: duckdb.DuckDBPyConnection) -> str:
    """What a build would stand on now: the ledger's decisions and the draws stored."""
    ledger = ledger_stamp((e.get("sha256"), e.get("status")) for e in load_ledger(warehouse).values()
                          if e.get("status") != "placeholder" and e.get("path") is not None)
    return f"{ledger}|{last_draw_no(con)}"


def built_inputs(con: duckdb.DuckDBPyConnection) -> str:
    """What the warehouse's last build stood on: the ledger snapshot it staged and the draws it entered."""
    if not table_exists(con, "stg_ledger"):
        return ""
    ledger = ledger_stamp(con.execute("select sha256, status from stg_ledger").fetchall())
    return f"{ledger}|{read_state(con).get('plans_drawn_through', '')}"


def staged_pool_inputs(con: duckdb.DuckDBPyConnection) -> str:
    """The pool inputs as the last staging step saw them (its ledger snapshot, ``stg_ledger``)."""
    if not table_exists(con, "stg_ledger"):
        return ""
    feeds = ", ".join(f"'{f}'" for f in POOL_FEEDS)
    rows = con.execute(f"select sha256 from stg_ledger where status = 'ingested' and feed in ({feeds})").fetchall()
    return inputs_stamp(r[0] for r in rows)


# ------------------------------------------------------------------ state --


def read_state(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if not table_exists(con, STATE_TABLE):
        return {}
    return dict(con.execute(f"select key, value from {STATE_TABLE}").fetchall())


def write_state(con: duckdb.DuckDBPyConnection, values: dict[str, str]) -> None:
    con.execute(f"create table if not exists {STATE_TABLE} (key varchar primary key, value varchar)")
    for key, value in values.items():
        con.execute(f"insert or replace into {STATE_TABLE} values (?, ?)", [key, value])


def state_of(warehouse: Path) -> dict[str, str]:
    """The recorded state, read without taking the writer lock (empty before the first build), with
    ``live_inputs`` under the key ``live_inputs``."""
    path = Path(warehouse) / "ssj.duckdb"
    if not path.exists():
        return {}
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:  # a writer holds it: plan a full build, which is always right
        return {}
    try:
        return {**read_state(con), "live_inputs": live_inputs(warehouse, con)}
    finally:
        con.close()


# ------------------------------------------------------------------- plan --


@dataclass(frozen=True)
class BuildPlan:
    mode: str  # "full" | "draws" | "none"
    reason: str

    @property
    def selection(self) -> dg.AssetSelection:
        """What the build materializes; for "none", the target database's step (which does
        nothing without SSJ_TARGET_URL, and brings the target up to the current snapshot with it)."""
        if self.mode == "none":
            return dg.AssetSelection.key_prefixes("target")
        everything = dg.AssetSelection.all() - dg.AssetSelection.groups("ingest")
        return everything if self.mode == "full" else DRAWS_SELECTION


def built(state: dict[str, str]) -> str:
    """The build the warehouse's tables stand on: its rules and pool inputs."""
    return f"{state.get('built_rules', '')}|{state.get('pool_inputs', '')}"


def last_build_published(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the current snapshot holds the tables of the warehouse's build (so a run may take
    the tables it did not rebuild from it)."""
    state = read_state(con)
    return state.get("published_build") == built(state)


def record_published(con: duckdb.DuckDBPyConnection, snapshot_id: str, carried: Iterable[str]) -> None:
    """After snapshot ``snapshot_id`` was switched in: it holds the current build's tables if the run
    published every table itself, or took the others (``carried``) from a snapshot that did; and
    then it holds what that build stood on (``built_inputs``)."""
    state = read_state(con)
    whole = not list(carried) or last_build_published(con)
    write_state(con, {"published_build": built(state) if whole else "", "published_snapshot": snapshot_id,
                      "published_inputs": built_inputs(con) if whole else ""})


def plan_build(settings: Settings) -> BuildPlan:
    """Full or draws, for a build about to start (``ssj run``, the build sensor)."""
    state = state_of(settings.warehouse)
    if not state.get("built_rules"):
        return BuildPlan("full", "no complete build recorded in this warehouse")
    if state["built_rules"] != rules_stamp(settings):
        return BuildPlan("full", "the rules changed (dbt project, feeds.yaml, agency registry or as_of)")
    if state.get("pool_inputs") != live_pool_inputs(settings.warehouse):
        return BuildPlan("full", "new files of a feed other than draw_list (the pools, items or plans)")
    if (state.get("published_build") != built(state)
            or (state.get("published_snapshot") or None) != current_snapshot_id(settings.warehouse)):
        return BuildPlan("full", "the last build's tables are not all in the current snapshot "
                                 "(a run stopped between its build and its snapshot)")
    if state.get("published_inputs") and state["published_inputs"] == state.get("live_inputs"):
        return BuildPlan("none", f"nothing new: snapshot {state['published_snapshot']} holds every file and draw")
    return BuildPlan("draws", "only draw lists are new: incremental draw-list build")
