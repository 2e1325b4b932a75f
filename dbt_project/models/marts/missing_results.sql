{#-
  missing_results (docs/contract.md §7): the draw entries without a result whose
  window ended more than entry_working_days (default 20) working days before as_of —
  as_of is on or after the next working day after the deadline entry_due_on
  (视为未完成检查任务: the policy's §8). An entry whose deadline the calendar cannot
  count yet (a year the installed calendar has no notice for) is not listed: it is not
  known to be late.
-#}

with

entries as (
    select
        entries.*,
        coalesce(entries.enterprise_id, 'uscc:' || entries.uscc, 'name:' || entries.name_normalized) as entry_key,
        {{ deadline_working_days('agencies.entry_working_days') }} as entry_working_days
    from {{ ref('draw_entries') }} as entries
    left join {{ source('raw', 'agencies') }} as agencies on agencies.code = entries.agency
),

due as (
    select
        entries.*,
        {{ working_day_after('entries.window_end', 'entries.entry_working_days') }} as entry_due_on,
        {{ working_day_after('entries.window_end', 'entries.entry_working_days + 1') }} as overdue_on
    from entries
)

select
    due.agency,
    due.task_id,
    due.task_name,
    due.enterprise_id,
    due.joint_group_id,
    due.uscc,
    due.name,
    due.items,
    due.window_start,
    due.window_end,
    due.entry_due_on,
    due.source
from due
where due.overdue_on <= {{ as_of() }}
  and not exists (
      select 1 from {{ ref('int_results__resolved') }} as results
      where results.is_accepted and results.agency = due.agency and results.task_id = due.task_id
        and results.entry_key = due.entry_key)
