"""`ssj verify-draw`: every draw of a snapshot re-derived from the published Parquet files.

Deliberately independent of draw.sql: plain Python over the files a reader gets
(draw_records, plan_draws, and the enterprise_pool and item_scope of each draw's
``pool_snapshot_id``), following the method as docs/draws.md states it. Two
implementations of one rule, agreeing, are the check.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.defs.publish.snapshots import snapshot_dir

ALGORITHM = "ssj-prn-v1"
GRADES = ("A", "B", "C", "D")


def u(seed: str, enterprise_id: str) -> float:
    return int(hashlib.sha256(f"{seed}:{enterprise_id}".encode("utf-8")).hexdigest()[:16], 16) / 2**64


def rederive(record: dict, pool: dict[str, tuple[str | None, str | None]], scope: dict[str, dict[str, set[str]]]
             ) -> tuple[set[tuple], list[dict], int]:
    """The plan_draws rows of one draw record, its strata and its scope size.

    ``pool``: enterprise_id -> (uscc, credit_grade); ``scope``: agency -> item_code -> enterprise_ids."""
    items = scope.get(record["agency"], {})
    in_scope = set().union(*(items.get(code, set()) for code in record["items"]))
    by_stratum: dict[str, list[tuple[float, str]]] = {s: [] for s in (*GRADES, "none")}
    for e in in_scope:
        grade = pool.get(e, (None, None))[1]
        by_stratum[grade if grade in GRADES else "none"].append((u(record["seed"], e), e))
    ratios = {s["stratum"]: s["ratio"] for s in record["strata"]}
    rows, strata = set(), []
    for stratum, members in by_stratum.items():
        ratio = ratios.get(stratum)
        n = 0 if ratio is None else math.ceil(ratio * len(members) - 1e-9)
        strata.append({"stratum": stratum, "population": len(members), "ratio": ratio, "sample_size": n})
        for rank, (value, e) in enumerate(sorted(members)[:n], start=1):
            rows.add((e, pool.get(e, (None, None))[0], stratum, value, rank))
    return rows, strata, len(in_scope)


def _pool_files(warehouse: Path, snapshot_id: str) -> tuple[dict, dict]:
    folder = snapshot_dir(warehouse, snapshot_id)
    pool = {r["enterprise_id"]: (r["uscc"], r["credit_grade"]) for r in pq.read_table(
        folder / "enterprise_pool.parquet", columns=["enterprise_id", "uscc", "credit_grade"]).to_pylist()}
    scope: dict[str, dict[str, set[str]]] = {}
    for r in pq.read_table(folder / "item_scope.parquet", columns=["agency", "item_code", "enterprise_id"]).to_pylist():
        scope.setdefault(r["agency"], {}).setdefault(r["item_code"], set()).add(r["enterprise_id"])
    return pool, scope


def verify_draws(warehouse: Path, snapshot_id: str | None = None) -> tuple[str, int, list[str]]:
    """(the snapshot's id, plans checked, one message per plan that differs); no messages = identical."""
    folder = snapshot_dir(warehouse, snapshot_id)
    if not (folder / "draw_records.parquet").exists():
        raise FileNotFoundError(f"snapshot {folder.name} publishes no draws (draw_records)")
    records = pq.read_table(folder / "draw_records.parquet").to_pylist()
    published: dict[tuple[str, str], set[tuple]] = {}
    for r in pq.read_table(folder / "plan_draws.parquet").to_pylist():
        published.setdefault((r["agency"], r["task_id"]), set()).add(
            (r["enterprise_id"], r["uscc"], r["stratum"], r["u"], r["rank"]))
    pools: dict[str, tuple[dict, dict]] = {}
    problems = []
    for record in records:
        plan = (record["agency"], record["task_id"])
        name = f"{plan[0]}:{plan[1]}"
        if hashlib.sha256(record["seed"].encode("utf-8")).hexdigest() != record["seed_sha256"]:
            problems.append(f"{name}: sha256(seed) is not the committed seed_sha256")
        if record["algorithm"] != ALGORITHM:
            problems.append(f"{name}: algorithm {record['algorithm']!r} is not {ALGORITHM}")
            continue
        try:
            if record["pool_snapshot_id"] not in pools:
                pools[record["pool_snapshot_id"]] = _pool_files(warehouse, record["pool_snapshot_id"])
        except FileNotFoundError as exc:
            problems.append(f"{name}: the pool snapshot is not readable ({exc})")
            continue
        rows, strata, scope_size = rederive(record, *pools[record["pool_snapshot_id"]])
        got = published.pop(plan, set())
        if rows != got:
            problems.append(f"{name}: plan_draws differs from the re-derived draw ({len(got - rows)} published rows "
                            f"not re-derived, {len(rows - got)} re-derived rows not published)")
        if strata != record["strata"] or scope_size != record["scope_size"]:
            problems.append(f"{name}: draw_records' strata or scope_size differ from the re-derived ones")
    problems += [f"{a}:{t}: plan_draws rows without a draw record" for a, t in sorted(published)]
    return folder.name, len(records), problems
