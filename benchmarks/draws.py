"""The draw (ssj-prn-v1): the inspections coordination saves, and what drawing costs against the floor.

    make bench-draws
    python -m benchmarks.draws --enterprises 1000000 [--repeat 3]

A generated year, built in DuckDB (no pipeline run): a pool of ``--enterprises``
enterprises in ten sectors (``i % 10``) and five credit strata (A 10%, B 60%, C 15%,
D 5%, none 10%, evenly in every sector). Five agencies each have two items whose
scopes overlap: agency k's ``I1`` covers sectors k, k+1, k+2 and ``I2`` sectors
k+2, k+3, so its plan's scope (the union) is four sectors, 40% of the pool, and
agency k+1's scope shares three of them. One plan per agency, every plan with the
same ratios (A 3%, B 5%, C 10%, D 20%, none 5%): the five plans draw equal sample
sizes.

The draw is the real one (``pipelines/defs/draws/rule.py``, ``draw.sql``), run twice:

* **coordinated** — the five plans in one coordination group, drawn with one seed;
* **independent** — each plan its own group, drawn with a seed of its own.

**Burden**: distinct enterprises drawn by the five plans, against the sum of their
sample sizes (a visit per plan) and against the independent draw; also the
independent draw's expected number (``pipelines/defs/draws/burden.py``).

**Speed**: the **floor** is what DuckDB alone needs to compute the draw's hashes
and sort: the same ``sha256`` expression over every (plan, enterprise) scope row
of the five plans, sorted by plan, stratum, u and enterprise. Its input (the scope
rows with their seed and stratum) is built beforehand, untimed; the draws time
everything ``run_rule`` does (scopes from the items, strata, ranks, records).
Median of ``--repeat`` runs each, alternating, in one process. The floor's first
n rows of every stratum are checked to be the draw's.

Prints the machine and the table; writes ``bench/draws-<n>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import duckdb

from pipelines.defs.draws.burden import expected_independent
from pipelines.defs.draws.rule import run_rule

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
AGENCIES = [f"agency-{k}" for k in range(5)]
RATIOS = {"a": 0.03, "b": 0.05, "c": 0.10, "d": 0.20, "none": 0.05}
SEED = "ssj-bench-draw-2026"
U_SQL = "('0x' || left(sha256(seed || ':' || enterprise_id), 16))::ubigint::double / 18446744073709551616.0"
"""The draw's u (draw.sql), for the floor."""


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    return (f"{cpu}, {os.cpu_count()} cores, {mem} GiB, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")


def generate(con: duckdb.DuckDBPyConnection, n: int) -> None:
    """``draw_pool`` and ``draw_scope``: the pool and the five agencies' item scopes (see the module doc)."""
    con.execute(f"""
        create or replace table draw_pool as
        select '91350102' || lpad((i * 7919 % 10000000000)::varchar, 10, '0') as enterprise_id,
               'U' || i::varchar as uscc,
               i % 10 as sector,
               case when (i // 10) % 20 < 2 then 'A' when (i // 10) % 20 < 14 then 'B'
                    when (i // 10) % 20 < 17 then 'C' when (i // 10) % 20 < 18 then 'D' end as credit_grade
        from range({n}) t(i)""")
    con.execute("""
        create or replace table draw_scope as
        select 'agency-' || k::varchar as agency, item_code, enterprise_id
        from range(5) a(k)
        cross join (values ('I1', 0, 3), ('I2', 2, 2)) items(item_code, first, width)
        inner join draw_pool on (draw_pool.sector - k - first + 10) % 10 < width""")


def plans(con: duckdb.DuckDBPyConnection, coordinated: bool) -> None:
    rows = [(a, f"{a}-2026-01", "bench-group" if coordinated else None, SEED if coordinated else f"{SEED}:{a}")
            for a in AGENCIES]
    con.execute("create or replace table plan_rows (agency varchar, task_id varchar, coordination varchar, "
                "seed varchar)")
    con.executemany("insert into plan_rows values (?, ?, ?, ?)", rows)
    ratios = ", ".join(f"{r}::double as ratio_{s}" for s, r in RATIOS.items())
    con.execute(f"""create or replace table draw_plans as
        select agency, task_id, coordination, seed, sha256(seed) as seed_sha256, ['I1', 'I2'] as items, {ratios}
        from plan_rows""")


def timed(con: duckdb.DuckDBPyConnection, sql_or_fn) -> float:
    t0 = time.perf_counter()
    sql_or_fn(con) if callable(sql_or_fn) else con.execute(sql_or_fn)
    return time.perf_counter() - t0


FLOOR = f"""create or replace table floor_sorted as
    select task_id, stratum, enterprise_id, {U_SQL} as u from floor_input order by task_id, stratum, u, enterprise_id"""


def burden(con: duckdb.DuckDBPyConnection) -> dict:
    samples, distinct = con.execute(
        "select (select sum(sample_size) from drawn_strata), count(distinct enterprise_id) from drawn").fetchone()
    return {"sample_sizes": int(samples), "distinct_enterprises": distinct,
            "per_plan": dict(con.execute("select task_id, count(*) from drawn group by 1 order by 1").fetchall()),
            "independent_expected": round(expected_independent(con)["all"], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.enterprises % 200:
        raise SystemExit("--enterprises: a multiple of 200 (every sector and stratum the same size)")

    con = duckdb.connect()
    t0 = time.perf_counter()
    generate(con, args.enterprises)
    scope_items = con.execute("select count(*) from draw_scope").fetchone()[0]
    print(f"generated {args.enterprises:,} enterprises, {scope_items:,} item-scope rows in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)

    # the floor's input: the five plans' scope rows with their seed and stratum, built untimed
    plans(con, coordinated=True)
    run_rule(con)
    con.execute("""create or replace table floor_input as
        select drawn_scope.task_id, draw_plans.seed, drawn_scope.enterprise_id, drawn_scope.stratum
        from drawn_scope inner join draw_plans using (agency, task_id)""")
    scope_rows = con.execute("select count(*) from floor_input").fetchone()[0]

    times: dict[str, list[float]] = {"floor": [], "coordinated": [], "independent": []}
    result: dict[str, dict] = {}
    for _ in range(args.repeat):
        times["floor"].append(timed(con, FLOOR))
        for case in ("coordinated", "independent"):
            plans(con, coordinated=case == "coordinated")
            times[case].append(timed(con, run_rule))
            result[case] = burden(con)
            if case == "coordinated":  # the floor orders the scope as the draw does: its first n are the drawn
                differ = con.execute("""
                    select count(*) from (
                        select task_id, enterprise_id from (
                            select task_id, stratum, enterprise_id,
                                   row_number() over (partition by task_id, stratum order by u, enterprise_id) as r
                            from floor_sorted) as f
                        inner join drawn_strata as s using (task_id, stratum) where r <= s.sample_size
                        except select task_id, enterprise_id from drawn)""").fetchone()[0]
                assert differ == 0, f"{differ} rows of the floor's order are not drawn"
    con.close()

    floor = statistics.median(times["floor"])
    co, ind = result["coordinated"], result["independent"]
    saving = 1 - co["distinct_enterprises"] / ind["distinct_enterprises"]
    summary = {
        "machine": machine(),
        "enterprises": args.enterprises, "item_scope_rows": scope_items, "plan_scope_rows": scope_rows,
        "repeat": args.repeat,
        "seconds": {k: [round(t, 3) for t in v] for k, v in times.items()},
        "median_seconds": {k: round(statistics.median(v), 3) for k, v in times.items()},
        "ratio_to_floor": {k: round(statistics.median(v) / floor, 2) for k, v in times.items()},
        "burden": {**result, "fewer_enterprises_coordinated_vs_independent": round(saving, 4),
                   "fewer_enterprises_coordinated_vs_sample_sizes": round(
                       1 - co["distinct_enterprises"] / co["sample_sizes"], 4)},
    }
    BENCH.mkdir(exist_ok=True)
    (BENCH / f"draws-{args.enterprises}.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")

    print(f"Machine: {summary['machine']}.")
    print(f"Pool {args.enterprises:,} enterprises; 5 plans, {scope_rows:,} (plan, enterprise) scope rows from "
          f"{scope_items:,} item-scope rows; median of {args.repeat}, alternating.")
    print(f"  {'case':<58} {'seconds':>8} {'ratio to floor':>15}")
    labels = {"floor": "floor (DuckDB alone: sha256 of every scope row, sorted)",
              "coordinated": "draw, 5 plans, one coordination group (one seed)",
              "independent": "draw, 5 plans, independent (a seed each)"}
    for case, label in labels.items():
        mid = statistics.median(times[case])
        print(f"  {label:<58} {mid:8.2f} {mid / floor:14.2f}x   runs {', '.join(f'{t:.2f}' for t in times[case])}")
    print(f"Burden: the 5 plans' sample sizes add up to {co['sample_sizes']:,} "
          f"({', '.join(f'{v:,}' for v in co['per_plan'].values())}).")
    print(f"  coordinated: {co['distinct_enterprises']:,} distinct enterprises drawn "
          f"({1 - co['distinct_enterprises'] / co['sample_sizes']:.1%} fewer than the sample sizes' sum)")
    print(f"  independent: {ind['distinct_enterprises']:,} distinct enterprises drawn "
          f"(expected {co['independent_expected']:,.1f})")
    print(f"  coordination draws {saving:.1%} fewer distinct enterprises than independent draws")


if __name__ == "__main__":
    main()
