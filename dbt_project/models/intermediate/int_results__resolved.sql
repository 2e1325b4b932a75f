{#-
  Every results row (stg_results) with its draw entry and its final verdict.

  A result belongs to a draw entry of the same agency and task (docs/contract.md §7:
  谁检查、谁录入): the entry whose enterprise the result names, matched like a draw
  list but only among that task's entries —
    1. by USCC: the result's USCC is the entry's USCC as drawn or its enterprise's;
    2. by name, only when the result carries no USCC or the entry has none at all
       (a USCC is unique: another USCC is another entity): the result's normalized
       name is the entry's drawn name or its enterprise's current name.
  USCC matches win over name matches. One entry → resolved. None → the row is
  rejected `not_drawn` (the task did not draw that enterprise, or the agency has no
  such task); several (namesakes in one task, no USCC to tell them apart) →
  `ambiguous_name`. These rows go to the quarantine with staging's rejections.

  version_rank orders the accepted results of one entry, latest first: by
  entered_on, then the later file and row (macros/staging_helpers.sql latest_first).
  A second result for an entry is a new version; the latest wins (inspection_results).
-#}

with

staged as (
    select *, {{ staged_row_id('stg') }} as row_key
    from {{ ref('stg_results') }} as stg
),

results as (
    select row_key, agency, task_id, uscc, {{ normalize_name('name') }} as name_normalized
    from staged
    where is_accepted
),

entries as (
    select
        entries.agency,
        entries.task_id,
        coalesce(entries.enterprise_id, 'uscc:' || entries.uscc, 'name:' || entries.name_normalized) as entry_key,
        entries.uscc as drawn_uscc,
        pool.uscc as pool_uscc,
        entries.name_normalized as drawn_name,
        pool.name_normalized as pool_name
    from {{ ref('draw_entries') }} as entries
    left join {{ ref('enterprise_pool') }} as pool on pool.enterprise_id = entries.enterprise_id
),

candidates as (
    select
        results.row_key,
        entries.entry_key,
        results.uscc is not null and results.uscc in (entries.drawn_uscc, entries.pool_uscc) as by_uscc
    from results
    inner join entries on entries.agency = results.agency and entries.task_id = results.task_id
    where (results.uscc is not null and results.uscc in (entries.drawn_uscc, entries.pool_uscc))
       or (results.name_normalized in (entries.drawn_name, entries.pool_name)
           and (results.uscc is null or coalesce(entries.drawn_uscc, entries.pool_uscc) is null))
),

matches as (
    -- USCC matches first: a name match counts only where no USCC matched
    select
        row_key,
        coalesce(min(entry_key) filter (where by_uscc), min(entry_key)) as entry_key,
        coalesce(nullif(count(distinct entry_key) filter (where by_uscc), 0), count(distinct entry_key)) as entry_count
    from candidates
    group by row_key
),

tasks as (
    select distinct agency, task_id from entries
),

verdicts as (
    select
        staged.row_key,
        case when matches.entry_count = 1 then matches.entry_key end as entry_key,
        case
            when not staged.is_accepted then null
            when matches.entry_count > 1 then {
                'code': 'ambiguous_name',
                'message': 'name: ' || {{ quoted('staged.name') }} || ' names ' || matches.entry_count
                    || ' enterprises drawn in task ' || staged.task_id || ' (expected the 统一社会信用代码 to tell them apart)'}
            when matches.entry_count is null and tasks.task_id is null then {
                'code': 'not_drawn',
                'message': 'task_id: ' || staged.task_id || ' is not a task of ' || staged.agency
                    || ' (expected the task_id of one of its draw lists or drawn plans)'}
            when matches.entry_count is null then {
                'code': 'not_drawn',
                'message': 'uscc, name: ' || {{ quoted("coalesce(staged.uscc, staged.name)") }}
                    || ' was not drawn in task ' || staged.task_id || ' of ' || staged.agency
                    || ' (a result is entered for an enterprise its task drew)'}
        end as issue
    from staged
    left join matches on matches.row_key = staged.row_key
    left join tasks on tasks.agency = staged.agency and tasks.task_id = staged.task_id
)

select
    staged.* exclude (row_key, reason_codes, reason, is_accepted, raw),
    verdicts.entry_key,
    case when verdicts.issue is null then staged.reason_codes
         else list_sort(list_append(staged.reason_codes, verdicts.issue.code)) end as reason_codes,
    case when verdicts.issue is null then staged.reason
         else {{ publishable_text('verdicts.issue.message') }} end as reason,
    staged.is_accepted and verdicts.issue is null as is_accepted,
    case when not staged.is_accepted or verdicts.issue is not null then staged.raw end as raw,
    case when staged.is_accepted and verdicts.issue is null then row_number() over (
        partition by staged.is_accepted and verdicts.issue is null, staged.agency, staged.task_id, verdicts.entry_key
        order by {{ latest_first('staged.entered_on') }}) end as version_rank,
    case when staged.is_accepted and verdicts.issue is null then count(*) over (
        partition by staged.is_accepted and verdicts.issue is null, staged.agency, staged.task_id, verdicts.entry_key)
        end as version_count
from staged
inner join verdicts on verdicts.row_key = staged.row_key
