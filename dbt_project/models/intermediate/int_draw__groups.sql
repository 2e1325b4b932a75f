{#-
  The grouping sweep (docs/contract.md §3), plus each group's stable identity. One row
  per entry with a group key (draw_group_key, macros/incremental_draws.sql): every
  resolved entry, keyed by its enterprise_id, and every unresolved entry drawn with a
  valid USCC, keyed by that USCC (docs/contract.md §9: such entries group with each
  other; their group has no enterprise_id). Unresolved entries without a USCC never
  group. Sweep rule and its set-based formulation: macros/sweep.sql (its
  `enterprise_id` input is the group key); readable reference: pipelines/sweep.py.

  joint_group_id = 'JG-' || first 16 hex digits of
      sha256(group_key || '|' || the group's sorted task keys joined by ',')
  where a task key is 'agency:task_id' and group_key is the enterprise_id (the drawn
  USCC for an unresolved group — which is the enterprise_id the enterprise gets when
  its registration arrives with that USCC, so the group keeps its ID then). It depends
  only on WHICH entries form the group, never on file order, load order or run: the
  same inputs give the same IDs, and a group whose membership changes (a redraw) gets
  a new ID. Set only for groups of two or more entries.

  Incremental per group key (strategy `regroup`, macros/incremental_draws.sql):
  a draws build re-sweeps only the enterprises (and drawn USCCs) its redone tasks touch.
-#}
-- depends_on: {{ ref('stg_draw_list') }}
{{ config(materialized='incremental', incremental_strategy='regroup', on_schema_change='fail') }}

{%- set keyed_entries -%}
(select {{ draw_group_key('entries') }} as enterprise_id, entries.agency, entries.task_id,
        entries.window_start, entries.window_end
 from {{ ref('int_draw__entries') }} as entries
 {%- if is_incremental() %}
 where {{ draw_group_key('entries') }} in ({{ enterprises_to_regroup(this) }})
 {%- endif %})
{%- endset %}

with

swept as (
    {{ sweep_groups(keyed_entries) }}
),

keyed as (
    select
        swept.enterprise_id as group_key,
        swept.* exclude (enterprise_id),
        swept.agency || ':' || swept.task_id as task_key
    from swept
),

grouped as (
    select
        keyed.*,
        list_sort(list(task_key) over (partition by group_key, group_no)) as group_task_keys
    from keyed
)

select
    grouped.group_key,
    entries.enterprise_id,
    entries.uscc,
    grouped.agency,
    grouped.task_id,
    grouped.task_key,
    grouped.window_start,
    grouped.window_end,
    grouped.sweep_rank,
    grouped.group_no,
    grouped.group_size,
    grouped.group_window_start,
    grouped.group_window_end,
    grouped.group_task_keys,
    case when grouped.group_size >= 2
        then 'JG-' || left(sha256(grouped.group_key || '|' || array_to_string(grouped.group_task_keys, ',')), 16)
    end as joint_group_id
from grouped
inner join {{ ref('int_draw__entries') }} as entries
    on entries.agency = grouped.agency
    and entries.task_id = grouped.task_id
    and {{ draw_group_key('entries') }} = grouped.group_key
