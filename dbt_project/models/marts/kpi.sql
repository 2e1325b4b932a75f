{#-
  kpi (docs/contract.md §7; definitions in docs/results.md): one row per agency, year
  and figure of the policy's §18, with its numerator and denominator. The year is the
  year a draw entry's window starts (a task's year, as `ssj draw --plans-of YEAR`).
  An agency has rows for every year it has draw entries or drawn plans in; value is
  NULL where the denominator is 0.
-#}

with

entries as (
    select *, year(window_start) as year from {{ ref('draw_entries') }}
),

results as (
    select *, year(window_start) as year from {{ ref('inspection_results') }}
),

missing as (
    select agency, year(window_start) as year, count(*) as n from {{ ref('missing_results') }} group by all
),

agency_years as (
    select distinct agency, year from entries
    union
    select distinct records.agency, year(plans.window_start)
    from {{ ref('draw_records') }} as records
    inner join {{ ref('int_plans__current') }} as plans using (agency, task_id)
),

agencies as (
    select code as agency, region_code from {{ source('raw', 'agencies') }}
),

-- the active enterprises of each region code, counted once: an agency's denominator below
-- sums the codes under its region (not every enterprise compared with every agency's prefix)
active_regions as (
    select region_code, count(*) as n from {{ ref('enterprise_pool') }} where is_active group by region_code
),

-- 抽查经营主体比例: distinct enterprises drawn / active enterprises under the agency's region (region_prefix)
inspected_share as (
    select
        agency_years.agency,
        agency_years.year,
        '抽查经营主体比例' as figure,
        (select count(distinct entries.enterprise_id) from entries
         where entries.agency = agency_years.agency and entries.year = agency_years.year) as numerator,
        (select coalesce(sum(regions.n), 0)::bigint from active_regions as regions
         where starts_with(regions.region_code, coalesce({{ region_prefix('agencies.region_code') }}, ''))) as denominator
    from agency_years
    left join agencies using (agency)
),

-- 抽查事项覆盖率: the agency's current items named (code or name) by its entries / its current items
entry_items as (
    select distinct agency, year, unnest(items) as item from entries
),

item_coverage as (
    select
        agency_years.agency,
        agency_years.year,
        '抽查事项覆盖率' as figure,
        count(distinct items.item_code) filter (where exists (
            select 1 from entry_items
            where entry_items.agency = items.agency and entry_items.year = agency_years.year
              and entry_items.item in (items.item_code, items.item_name))) as numerator,
        count(distinct items.item_code) as denominator
    from agency_years
    left join {{ ref('int_items__current') }} as items on items.agency = agency_years.agency
    group by all
),

-- 部门联合监管率: entries inspected jointly with another agency / entries
joint_rate as (
    select
        agency_years.agency,
        agency_years.year,
        '部门联合监管率' as figure,
        count(entries.agency) filter (where joint.kind = 'joint') as numerator,
        count(entries.agency) as denominator
    from agency_years
    left join entries using (agency, year)
    left join {{ ref('joint_inspections') }} as joint on joint.joint_group_id = entries.joint_group_id
    group by all
),

-- 信用规则关联应用率: tasks drawn by credit grade with ratios that differ / tasks
tasks as (
    select distinct agency, year, task_id from entries
    union
    select records.agency, year(plans.window_start), records.task_id
    from {{ ref('draw_records') }} as records
    inner join {{ ref('int_plans__current') }} as plans using (agency, task_id)
),

credit_rate as (
    select
        agency_years.agency,
        agency_years.year,
        '信用规则关联应用率' as figure,
        count(tasks.task_id) filter (where records.task_id is not null
            and len(list_distinct([plans.ratio_a, plans.ratio_b, plans.ratio_c, plans.ratio_d, plans.ratio_none])) > 1)
            as numerator,
        count(tasks.task_id) as denominator
    from agency_years
    left join tasks using (agency, year)
    left join {{ ref('draw_records') }} as records on records.agency = tasks.agency and records.task_id = tasks.task_id
    left join {{ ref('int_plans__current') }} as plans on plans.agency = tasks.agency and plans.task_id = tasks.task_id
    group by all
),

-- 检查结果按时公示率: results entered by their deadline / results due (entered, or missing past the deadline)
on_time_rate as (
    select
        agency_years.agency,
        agency_years.year,
        '检查结果按时公示率' as figure,
        count(results.agency) filter (where not results.entered_late) as numerator,
        count(results.agency) + coalesce(any_value(missing.n), 0) as denominator
    from agency_years
    left join results using (agency, year)
    left join missing using (agency, year)
    group by all
),

-- 发现问题处置率: results that found a problem with the follow-up done / results that found a problem
handled_rate as (
    select
        agency_years.agency,
        agency_years.year,
        '发现问题处置率' as figure,
        count(results.agency) filter (where results.problem_found and results.follow_up_done_on is not null) as numerator,
        count(results.agency) filter (where results.problem_found) as denominator
    from agency_years
    left join results using (agency, year)
    group by all
),

figures as (
    select * from inspected_share
    union all select * from item_coverage
    union all select * from joint_rate
    union all select * from credit_rate
    union all select * from on_time_rate
    union all select * from handled_rate
)

select
    agency,
    year,
    figure,
    numerator,
    denominator,
    case when denominator > 0 then numerator / denominator end as value
from figures
