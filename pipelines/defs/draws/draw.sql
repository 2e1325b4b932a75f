-- ssj-prn-v1: the draw rule, its one definition (docs/draws.md, docs/contract.md §6).
--
-- Reads three relations the caller provides:
--   draw_plans (agency, task_id, coordination, seed, seed_sha256, items varchar[],
--               ratio_a, ratio_b, ratio_c, ratio_d, ratio_none double)
--   draw_pool  (enterprise_id, uscc, credit_grade)          -- a snapshot's enterprise_pool
--   draw_scope (agency, item_code, enterprise_id)           -- the same snapshot's item_scope
-- and leaves three temporary tables:
--   drawn_scope   every enterprise of every plan's scope, with its stratum and u
--   drawn_strata  per plan and stratum (all five): population N, ratio, sample size n
--   drawn         the drawn enterprises, rank 1..n within (plan, stratum)
-- Set-based: one pass for every plan (and every seed) at once.

create or replace temp table drawn_scope as
with plan_items as (
    select agency, task_id, seed, unnest(items) as item_code from draw_plans
),
scope as (
    select distinct plan_items.agency, plan_items.task_id, plan_items.seed, draw_scope.enterprise_id
    from plan_items
    inner join draw_scope
        on draw_scope.agency = plan_items.agency and draw_scope.item_code = plan_items.item_code
)
select
    scope.agency,
    scope.task_id,
    scope.enterprise_id,
    draw_pool.uscc,
    case when draw_pool.credit_grade in ('A', 'B', 'C', 'D') then draw_pool.credit_grade else 'none' end as stratum,
    -- u(e) = int(first 16 hex digits of sha256("SEED:enterprise_id"), 16) / 2^64, as a double
    ('0x' || left(sha256(scope.seed || ':' || scope.enterprise_id), 16))::ubigint::double
        / 18446744073709551616.0 as u
from scope
left join draw_pool on draw_pool.enterprise_id = scope.enterprise_id;

create or replace temp table drawn_strata as
with strata (stratum, stratum_order) as (
    values ('A', 1), ('B', 2), ('C', 3), ('D', 4), ('none', 5)
),
sizes as (
    select agency, task_id, stratum, count(*) as population
    from drawn_scope
    group by agency, task_id, stratum
),
ratios as (
    select
        draw_plans.agency,
        draw_plans.task_id,
        strata.stratum,
        strata.stratum_order,
        coalesce(sizes.population, 0) as population,
        case strata.stratum
            when 'A' then draw_plans.ratio_a when 'B' then draw_plans.ratio_b when 'C' then draw_plans.ratio_c
            when 'D' then draw_plans.ratio_d else draw_plans.ratio_none
        end::double as ratio
    from draw_plans
    cross join strata
    left join sizes
        on sizes.agency = draw_plans.agency and sizes.task_id = draw_plans.task_id
        and sizes.stratum = strata.stratum
)
select
    agency, task_id, stratum, stratum_order, population, ratio,
    -- the ceil rule, in double arithmetic; no ratio draws nobody
    coalesce(ceil(ratio * population::double - 1e-9)::bigint, 0) as sample_size
from ratios;

create or replace temp table drawn as
select
    drawn_scope.agency,
    drawn_scope.task_id,
    drawn_scope.enterprise_id,
    drawn_scope.uscc,
    drawn_scope.stratum,
    drawn_scope.u,
    row_number() over (
        partition by drawn_scope.agency, drawn_scope.task_id, drawn_scope.stratum
        order by drawn_scope.u, drawn_scope.enterprise_id
    ) as rank
from drawn_scope
inner join drawn_strata
    on drawn_strata.agency = drawn_scope.agency and drawn_strata.task_id = drawn_scope.task_id
    and drawn_strata.stratum = drawn_scope.stratum
qualify rank <= drawn_strata.sample_size;

create or replace temp table drawn_records as
select
    draw_plans.agency,
    draw_plans.task_id,
    draw_plans.coordination,
    list_sort(list_distinct(draw_plans.items)) as items,
    draw_plans.seed,
    draw_plans.seed_sha256,
    (select count(*) from drawn_scope
     where drawn_scope.agency = draw_plans.agency and drawn_scope.task_id = draw_plans.task_id) as scope_size,
    (select list({'stratum': stratum, 'population': population, 'ratio': ratio, 'sample_size': sample_size}
                 order by stratum_order)
     from drawn_strata
     where drawn_strata.agency = draw_plans.agency and drawn_strata.task_id = draw_plans.task_id) as strata,
    'ssj-prn-v1' as algorithm
from draw_plans;
