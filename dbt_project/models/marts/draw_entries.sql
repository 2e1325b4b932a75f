{#-
  draw_entries (docs/contract.md §3): every current draw entry, resolved and grouped.
  One row per (agency, task_id, enterprise): duplicate rows of one enterprise in a
  task collapse (see int_draw__entries); rows of superseded task versions are gone
  (a redrawn task replaces its earlier rows in full, see int_draw__current).
  source: drop (a dropped draw list's row) or plan (an enterprise `ssj draw` drew for
  a plan, int_draw__plan_entries; a task dropped as a list is the list's).
  uscc and name are as drawn (normalized by the value rules); name_normalized is
  the matching key. match_method and flags: int_draw__resolved (docs/matching.md). An
  unresolved entry drawn with a valid USCC groups with the other entries of that USCC
  (draw_group_key): its joint_group_id is set, its enterprise_id stays NULL.

  Incremental (strategy `regroup`): a draws build replaces the rows of the redone
  tasks and of every enterprise they touch (whose joint_group_id may change).
-#}
-- depends_on: {{ ref('stg_draw_list') }}
{{ config(materialized='incremental', incremental_strategy='regroup', regroup_tasks=true, on_schema_change='fail') }}

select
    entries.agency,
    entries.task_id,
    entries.task_name,
    entries.uscc,
    entries.name,
    entries.name_normalized,
    entries.address,
    entries.enterprise_id,
    entries.source,
    entries.match_method,
    entries.window_start,
    entries.window_end,
    entries.items,
    groups.joint_group_id,
    entries.flags,
    entries.is_active as enterprise_is_active,
    entries.source_file,
    entries.file_sha256,
    entries.source_row,
    entries.source_rows,
    entries.row_count,
    entries.task_version_count
from {{ ref('int_draw__entries') }} as entries
left join {{ ref('int_draw__groups') }} as groups
    on groups.group_key = {{ draw_group_key('entries') }}
    and groups.agency = entries.agency
    and groups.task_id = entries.task_id
{%- if is_incremental() %}
where {{ draw_group_key('entries') }} in ({{ enterprises_to_regroup(this) }})
   or {{ is_task_to_redo('entries') }}
{%- endif %}
