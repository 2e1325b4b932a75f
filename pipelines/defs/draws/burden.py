"""How many enterprises drawn plans visit, coordinated or not (docs/draws.md, "The burden").

Read after the draw rule ran (``run_rule``) on a connection: its ``drawn_scope`` and
``drawn_strata`` say, for every plan, which enterprises its scope holds and with
which probability each is drawn, n/N of its stratum (every plan is a simple random
sample of each of its strata). Drawn with one seed, plans agree where their scopes
overlap; drawn with a seed each, they are independent, and an enterprise in the
scope of plans p₁ … p_k is drawn by at least one of them with probability
1 − Π (1 − n_pᵢ/N_pᵢ). Summed over the enterprises, that is the number of distinct
enterprises independent draws of the same plans visit, on average.
"""

from __future__ import annotations

import duckdb

CHANCES = """
select drawn_scope.agency, drawn_scope.task_id, drawn_scope.enterprise_id,
       case when drawn_strata.population = 0 then 0.0
            else least(drawn_strata.sample_size, drawn_strata.population)::double / drawn_strata.population
       end as p
from drawn_scope
inner join drawn_strata using (agency, task_id, stratum)
"""
"""Every (plan, enterprise of its scope) with the probability the plan draws it."""


def expected_independent(con: duckdb.DuckDBPyConnection, group: str = "'all'", *, chances: str = f"({CHANCES})",
                         plans: str = "draw_plans") -> dict[str, float]:
    """Per group of plans, the expected number of distinct enterprises drawn were each plan drawn with a
    seed of its own. ``group``: an SQL expression over the columns of ``plans`` (a relation with
    ``agency`` and ``task_id``); ``chances``: a relation like ``CHANCES`` (default: the last draw's)."""
    return dict(con.execute(f"""
        with grouped as (
            select {group} as grp, chances.enterprise_id, 1 - product(1 - chances.p) as visited
            from {chances} as chances
            inner join {plans} as plans on plans.agency = chances.agency and plans.task_id = chances.task_id
            group by all
        )
        select grp, sum(visited)::double from grouped group by grp""").fetchall())
