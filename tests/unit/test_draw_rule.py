"""The draw rule (pipelines/defs/draws/draw.sql) alone, on synthetic pools in DuckDB.

Over 1,000 seeds, in one set-based pass: each enterprise of a stratum is drawn
with frequency n/N (a chi-square goodness-of-fit test per stratum, for coordinated
plans and for an independent one); coordinated plans draw the same enterprises
where their scopes overlap; the ceil rule; u is Python's double exactly; ranks
follow (u, enterprise_id).
"""

from __future__ import annotations

import hashlib
import math

import duckdb
import pytest
from scipy.stats import chi2

from pipelines.defs.draws.rule import run_rule

SEEDS = 1000
RATIOS = {"A": 0.1, "B": 0.25, "C": 0.5, "D": 1.0, "none": 0.05}


def grade(i: int) -> str | None:
    return "A" if i < 40 else "B" if i < 100 else None


def connect(plans: list[tuple], pool: list[tuple], scope: list[tuple]) -> duckdb.DuckDBPyConnection:
    """plans: (agency, task_id, coordination, seed, items); pool: (enterprise_id, credit_grade);
    scope: (agency, item_code, enterprise_id)."""
    con = duckdb.connect()
    con.execute("create table plan_rows (agency varchar, task_id varchar, coordination varchar, seed varchar, "
                "items varchar[])")
    con.executemany("insert into plan_rows values (?, ?, ?, ?, ?)", plans)
    con.execute(f"""create table draw_plans as select *, sha256(seed) as seed_sha256,
        {RATIOS['A']}::double as ratio_a, {RATIOS['B']}::double as ratio_b, {RATIOS['C']}::double as ratio_c,
        {RATIOS['D']}::double as ratio_d, {RATIOS['none']}::double as ratio_none from plan_rows""")
    con.execute("create table draw_pool (enterprise_id varchar, uscc varchar, credit_grade varchar)")
    con.execute("insert into draw_pool select unnest(?::varchar[]), 'U' || unnest(?::varchar[]), unnest(?::varchar[])",
                [[e for e, _ in pool], [e for e, _ in pool], [g for _, g in pool]])
    con.execute("create table draw_scope (agency varchar, item_code varchar, enterprise_id varchar)")
    con.execute("insert into draw_scope select unnest(?::varchar[]), unnest(?::varchar[]), unnest(?::varchar[])",
                [list(column) for column in zip(*scope)])
    run_rule(con)
    return con


@pytest.fixture(scope="module")
def many_seeds():
    """200 enterprises (A: 0-39, B: 40-99, none: 100-199). Agency x: item I1 = E000-E149, I2 = E050-E199,
    I1b = E000-E009 (inside I1). Per seed k: P1 (I1) and P2 (I2) and P3 (I1, I1b) coordinated with seed
    s<k>; Q (agency y, item J = everyone) alone with seed q<k>."""
    ids = [f"E{i:03d}" for i in range(200)]
    pool = [(e, grade(i)) for i, e in enumerate(ids)]
    scope = ([("x", "I1", e) for e in ids[:150]] + [("x", "I2", e) for e in ids[50:]]
             + [("x", "I1b", e) for e in ids[:10]] + [("y", "J", e) for e in ids])
    plans = []
    for k in range(SEEDS):
        plans += [("x", f"P1-{k}", "g", f"s{k}", ["I1"]), ("x", f"P2-{k}", "g", f"s{k}", ["I2"]),
                  ("x", f"P3-{k}", "g", f"s{k}", ["I1", "I1b"]), ("y", f"Q-{k}", None, f"q{k}", ["J"])]
    con = connect(plans, pool, scope)
    yield con
    con.close()


@pytest.mark.parametrize("plan", ["P1", "P2", "Q"])
def test_each_enterprise_is_drawn_with_frequency_n_over_N(many_seeds, plan):
    strata = many_seeds.execute(f"""
        select stratum, any_value(population), any_value(sample_size) from drawn_strata
        where task_id like '{plan}-%' group by stratum having any_value(population) > 0""").fetchall()
    assert {s for s, _, _ in strata} == ({"B", "none"} if plan == "P2" else {"A", "B", "none"})
    for stratum, population, n in strata:
        counts = dict(many_seeds.execute(f"""
            select s.enterprise_id, count(d.enterprise_id) from drawn_scope as s
            left join drawn as d using (agency, task_id, enterprise_id)
            where s.task_id like '{plan}-%' and s.stratum = '{stratum}' group by s.enterprise_id""").fetchall())
        assert len(counts) == population
        assert sum(counts.values()) == SEEDS * n  # exactly n every time
        # Under simple random sampling each count is Binomial(SEEDS, p), p = n/N, and the counts add up
        # to SEEDS × n: their deviations have covariance SEEDS·p(1−p)·N/(N−1)·(I − 11ᵀ/N), so the
        # statistic below is chi-square with N − 1 degrees of freedom (asymptotically in SEEDS).
        p = n / population
        deviations = sum((c - SEEDS * p) ** 2 for c in counts.values())
        stat = deviations * (population - 1) / (population * SEEDS * p * (1 - p))
        assert chi2.sf(stat, population - 1) > 0.001, (plan, stratum, stat)


def test_coordinated_plans_draw_the_same_enterprises_where_their_scopes_overlap(many_seeds):
    # the overlap E050-E149: in each stratum one plan's drawn set there holds the other's
    rows = many_seeds.execute("""
        with overlap as (
            select split_part(task_id, '-', 1) as plan, split_part(task_id, '-', 2) as k, stratum,
                   list(enterprise_id order by enterprise_id) as drawn
            from drawn where enterprise_id between 'E050' and 'E149' and task_id similar to 'P[12]-.*'
            group by all)
        select a.k, a.stratum, a.drawn, coalesce(b.drawn, []) from overlap as a
        left join overlap as b on b.k = a.k and b.stratum = a.stratum and b.plan = 'P2'
        where a.plan = 'P1'""").fetchall()
    assert len(rows) > SEEDS
    shared = 0
    for _, _, one, other in rows:
        small, big = sorted((set(one), set(other)), key=len)
        assert small <= big
        shared += len(small)
    assert shared > 0.5 * sum(len(r[2]) for r in rows)  # independent plans would share about n/N of them
    # the same scope (I1b lies inside I1) and ratios: the very same draw
    same = many_seeds.execute("""
        select count(*) from (
            select split_part(task_id, '-', 2), enterprise_id, stratum, u, rank from drawn where task_id like 'P1-%'
            except
            select split_part(task_id, '-', 2), enterprise_id, stratum, u, rank from drawn where task_id like 'P3-%')
    """).fetchone()[0]
    assert same == 0


def test_u_is_pythons_double_and_ranks_follow_u_then_enterprise_id():
    ids = [f"9135{i:014d}" for i in range(20000)]
    con = connect([("x", "T", None, "种子-2026", ["I"])], [(e, "C") for e in ids], [("x", "I", e) for e in ids])
    rows = con.execute("select enterprise_id, u, rank from drawn_scope join drawn using (agency, task_id, "
                       "enterprise_id, stratum, u, uscc) order by rank").fetchall()
    assert len(rows) == 10000  # C: ratio 0.5 of 20,000
    expected = sorted((int(hashlib.sha256(f"种子-2026:{e}".encode()).hexdigest()[:16], 16) / 2**64, e) for e in ids)
    assert [(u, e) for e, u, _ in rows] == [(u, e) for u, e in expected[:10000]]
    assert [r for _, _, r in rows] == list(range(1, 10001))
    every = dict(con.execute("select enterprise_id, u from drawn_scope").fetchall())
    assert all(every[e] == u for u, e in expected)  # the same double, bit for bit


@pytest.mark.parametrize(("ratio", "population", "n"), [
    (0.3, 10, 3),     # 0.3 × 10 = 3.0000000000000004 in doubles: 3, not 4
    (0.1, 30, 3),     # 3.0000000000000004 again
    (0.07, 100, 7),   # 7.000000000000001
    (0.05, 1, 1),     # any positive ratio of a non-empty stratum draws at least one
    (0.05, 21, 2),    # 1.05 → 2
    (0.0, 50, 0),
    (1.0, 7, 7),
    (0.5, 0, 0),
])
def test_the_ceil_rule(ratio, population, n):
    assert math.ceil(ratio * population - 1e-9) == n
    ids = [f"E{i:03d}" for i in range(population)]
    con = duckdb.connect()
    con.execute(f"""create table draw_plans as select 'x' as agency, 'T' as task_id, null as coordination, 's' as seed,
        sha256('s') as seed_sha256, ['I'] as items, {ratio}::double as ratio_a, 0.0 as ratio_b, 0.0 as ratio_c,
        0.0 as ratio_d, 0.0 as ratio_none""")
    con.execute("create table draw_pool as select unnest(?::varchar[]) as enterprise_id, null as uscc, "
                "'A' as credit_grade", [ids])
    con.execute("create table draw_scope as select 'x' as agency, 'I' as item_code, unnest(?::varchar[]) "
                "as enterprise_id", [ids])
    run_rule(con)
    assert con.execute("select population, sample_size from drawn_strata where stratum = 'A'").fetchone() == (
        population, n)
    assert con.execute("select count(*) from drawn").fetchone()[0] == n
    record = con.execute("select scope_size, strata from drawn_records").fetchone()
    assert record[0] == population
    assert [s["stratum"] for s in record[1]] == ["A", "B", "C", "D", "none"]
