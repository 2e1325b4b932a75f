{#-
  inspection_results (docs/contract.md §7): the current result of every draw entry
  that has one — the latest version by entered_on (int_results__resolved) — with the
  entry it belongs to and its deadlines, in working days of the official calendar:

    entry_due_on      the agency's entry_working_days-th (default 20th) working day
                      after inspected_on, the starting day not counted (stg_results);
    entered_late      entered_on after entry_due_on;
    follow_up_due_on  the agency's follow_up_working_days-th working day after
                      follow_up_done_on (NULL without a follow-up);
    follow_up_late    the follow-up's result entered after follow_up_due_on, or not
                      entered at all while as_of is past it (false without a follow-up);
    publish_until     the 公示's repair date (the policy's §9): a penalty's result until
                      the penalty's own publicity ends; an order to stop or to correct
                      (the result category or the follow-up) until 6 months after
                      rectification, NULL — still published — while not rectified; any
                      other result NULL (no end).

  uscc and name are the enterprise's (the pool's) where the entry is resolved, else as
  drawn; agency_name is the registry's name of the agency (what publicity shows).
-#}

with

current_results as (
    select * from {{ ref('int_results__resolved') }}
    where is_accepted and version_rank = 1
),

entries as (
    select
        *,
        coalesce(enterprise_id, 'uscc:' || uscc, 'name:' || name_normalized) as entry_key
    from {{ ref('draw_entries') }}
)

select
    results.agency,
    agencies.name as agency_name,
    results.task_id,
    entries.task_name,
    entries.enterprise_id,
    entries.joint_group_id,
    coalesce(pool.uscc, entries.uscc) as uscc,
    coalesce(pool.name, entries.name) as name,
    entries.items,
    entries.window_start,
    entries.window_end,
    results.result_code,
    results.result_name as result,
    results.problem_found,
    results.inspected_on,
    results.entered_on,
    results.entry_due_on,
    results.entered_on > results.entry_due_on as entered_late,
    results.follow_up,
    results.follow_up_code,
    results.follow_up_done_on,
    results.follow_up_entered_on,
    results.follow_up_due_on,
    coalesce(results.follow_up_entered_on > results.follow_up_due_on
             or (results.follow_up_entered_on is null and {{ as_of() }} > results.follow_up_due_on), false) as follow_up_late,
    results.penalty_publicity_until,
    results.rectified_on,
    case
        when results.penalty_publicity_until is not null then results.penalty_publicity_until
        when results.repair = 'rectification' then cast(results.rectified_on + interval 6 month as date)
    end as publish_until,
    results.inspectors,
    results.version_count,
    results.source_file,
    results.file_sha256,
    results.source_row
from current_results as results
inner join entries
    on entries.agency = results.agency
    and entries.task_id = results.task_id
    and entries.entry_key = results.entry_key
left join {{ ref('enterprise_pool') }} as pool on pool.enterprise_id = entries.enterprise_id
left join {{ source('raw', 'agencies') }} as agencies on agencies.code = results.agency
