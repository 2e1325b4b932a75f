{#-
  joint_inspections (docs/contract.md §3): the merge list, one row per group of two or
  more draw entries that hit the same enterprise with a common window of at
  least one day (grouping: int_draw__groups / macros/sweep.sql).

  kind: joint (2+ distinct agencies) / internal (one agency, several tasks).
  lead_agency: the group's agency with the lowest lead_priority in the agency
  registry (an agency without a priority sorts last), ties by agency code.
  items: union of the entries' items, sorted and distinct.
  A group of unresolved entries drawn with one valid USCC (docs/contract.md §9) has
  enterprise_id NULL, uscc the drawn USCC and name the first member's drawn name (by
  task key); a resolved group's uscc and name are the pool's.
  window_start / window_end: the common window (max start, min end).

  Incremental (strategy `regroup`): a draws build replaces the groups of every
  enterprise its redone tasks touch.
-#}
-- depends_on: {{ ref('stg_draw_list') }}
{{ config(materialized='incremental', incremental_strategy='regroup', on_schema_change='fail') }}

with

members as (
    select
        groups.joint_group_id,
        groups.group_key,
        groups.enterprise_id,
        groups.agency,
        groups.task_key,
        groups.group_window_start,
        groups.group_window_end,
        entries.items,
        entries.name as drawn_name,
        agencies.lead_priority
    from {{ ref('int_draw__groups') }} as groups
    inner join {{ ref('int_draw__entries') }} as entries
        on {{ draw_group_key('entries') }} = groups.group_key
        and entries.agency = groups.agency
        and entries.task_id = groups.task_id
    left join {{ source('raw', 'agencies') }} as agencies
        on agencies.code = groups.agency
    where groups.joint_group_id is not null
    {%- if is_incremental() %}
      and groups.group_key in ({{ enterprises_to_regroup(this) }})
    {%- endif %}
),

aggregated as (
    select
        joint_group_id,
        any_value(group_key) as group_key,
        any_value(enterprise_id) as enterprise_id,
        arg_min(drawn_name, task_key) as drawn_name,
        list_sort(list(distinct agency)) as agencies,
        list_sort(list(task_key)) as task_keys,
        count(distinct agency) as agency_count,
        count(*) as entry_count,
        list_sort(list_distinct(flatten(list(items)))) as items,
        any_value(group_window_start) as window_start,
        any_value(group_window_end) as window_end,
        min(coalesce(lead_priority, 2147483647)) as min_priority
    from members
    group by joint_group_id
),

lead as (
    select joint_group_id, min(agency) as lead_agency
    from members
    inner join aggregated using (joint_group_id)
    where coalesce(members.lead_priority, 2147483647) = aggregated.min_priority
    group by joint_group_id
)

select
    aggregated.joint_group_id,
    aggregated.enterprise_id,
    case when aggregated.enterprise_id is null then aggregated.group_key else pool.uscc end as uscc,
    case when aggregated.enterprise_id is null then aggregated.drawn_name else pool.name end as name,
    pool.is_active as enterprise_is_active,
    aggregated.agencies,
    aggregated.task_keys,
    aggregated.agency_count,
    aggregated.entry_count,
    aggregated.items,
    aggregated.window_start,
    aggregated.window_end,
    lead.lead_agency,
    case when aggregated.agency_count >= 2 then 'joint' else 'internal' end as kind
from aggregated
inner join lead using (joint_group_id)
left join {{ ref('enterprise_pool') }} as pool
    on pool.enterprise_id = aggregated.enterprise_id
