{#-
  The figure the policy cares about: inspections saved by merging.

  One row per scope:
    all       every draw entry (resolved or not);
    joint     entries in joint groups (2+ agencies);
    internal  entries in internal groups (one agency, several tasks).
  entries            draw entries in the scope
  groups             joint_inspections rows in the scope
  merged_entries     entries that sit in a group
  unmerged_entries   entries in no group (only scope 'all'; unresolved entries included)
  inspections_needed groups + unmerged_entries
  inspections_saved  entries − (groups + unmerged_entries) = merged_entries − groups
  joint + internal add up to all for groups, merged_entries and inspections_saved.
-#}

with

entries as (
    select
        draw_entries.joint_group_id,
        joint_inspections.kind
    from {{ ref('draw_entries') }} as draw_entries
    left join {{ ref('joint_inspections') }} as joint_inspections
        on joint_inspections.joint_group_id = draw_entries.joint_group_id
),

scopes as (
    select 'all' as scope, joint_group_id, kind from entries
    union all
    select kind as scope, joint_group_id, kind from entries where kind is not null
),

scope_names as (
    select * from (values ('all', 1), ('joint', 2), ('internal', 3)) as t(scope, scope_order)
),

counted as (
    select
        scope_names.scope,
        scope_names.scope_order,
        count(scopes.scope) as entries,
        count(distinct scopes.joint_group_id) as groups,
        count(scopes.joint_group_id) as merged_entries,
        count(scopes.scope) - count(scopes.joint_group_id) as unmerged_entries
    from scope_names
    left join scopes on scopes.scope = scope_names.scope
    group by scope_names.scope, scope_names.scope_order
)

select
    scope,
    entries,
    groups,
    merged_entries,
    unmerged_entries,
    groups + unmerged_entries as inspections_needed,
    entries - (groups + unmerged_entries) as inspections_saved
from counted
order by scope_order
