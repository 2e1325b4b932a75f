{#-
  The grouping sweep (docs/contract.md §3) over the resolved draw entries, plus each
  group's stable identity. One row per resolved entry (unresolved entries never
  group). Sweep rule and its set-based formulation: macros/sweep.sql; readable
  reference: pipelines/sweep.py.

  joint_group_id = 'JG-' || first 16 hex digits of
      sha256(enterprise_id || '|' || the group's sorted task keys joined by ',')
  where a task key is 'agency:task_id'. It depends only on WHICH entries form the
  group, never on file order, load order or run: the same inputs give the same IDs,
  and a group whose membership changes (a redraw) gets a new ID. Set only for
  groups of two or more entries.

  Incremental per enterprise (strategy `regroup`, macros/incremental_draws.sql):
  a draws build re-sweeps only the enterprises its redone tasks touch.
-#}
-- depends_on: {{ ref('stg_draw_list') }}
{{ config(materialized='incremental', incremental_strategy='regroup', on_schema_change='fail') }}

with

swept as (
    {%- if is_incremental() %}
    {{ sweep_groups("(select * from " ~ ref('int_draw__entries') ~ " where enterprise_id in ("
                    ~ enterprises_to_regroup(this) ~ "))") }}
    {%- else %}
    {{ sweep_groups(ref('int_draw__entries')) }}
    {%- endif %}
),

keyed as (
    select
        swept.*,
        swept.agency || ':' || swept.task_id as task_key
    from swept
),

grouped as (
    select
        keyed.*,
        list_sort(list(task_key) over (partition by enterprise_id, group_no)) as group_task_keys
    from keyed
)

select
    enterprise_id,
    agency,
    task_id,
    task_key,
    window_start,
    window_end,
    sweep_rank,
    group_no,
    group_size,
    group_window_start,
    group_window_end,
    group_task_keys,
    case when group_size >= 2
        then 'JG-' || left(sha256(enterprise_id || '|' || array_to_string(group_task_keys, ',')), 16)
    end as joint_group_id
from grouped
