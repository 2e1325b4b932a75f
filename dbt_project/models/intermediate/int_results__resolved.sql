{#-
  Every results row (stg_results) with its draw entry and its final verdict.

  A result belongs to a draw entry of the same agency and task (docs/contract.md §7:
  谁检查、谁录入): the entry whose enterprise the result names, matched like a draw
  list but only among that task's entries —
    1. by USCC: the result's USCC is the entry's USCC as drawn or its enterprise's;
    2. by name, only when the result carries no USCC or the entry has none at all
       (a USCC is unique: another USCC is another entity): the result's normalized
       name is the entry's drawn name, its enterprise's current name or one of its
       former names (int_registration__former_names).
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
        entries.enterprise_id,
        entries.uscc as drawn_uscc,
        pool.uscc as pool_uscc,
        entries.name_normalized as drawn_name,
        pool.name_normalized as pool_name
    from {{ ref('draw_entries') }} as entries
    left join {{ ref('enterprise_pool') }} as pool on pool.enterprise_id = entries.enterprise_id
),

{#- each entry under every key a result may name it by: its USCCs (as drawn, its
    enterprise's) and its names (as drawn, its enterprise's current one), so that matching
    is equality joins, never a comparison with every entry of a task. A key may repeat
    (a former name that is also the drawn name): matches counts distinct entries, so the
    repeats are not removed here (removing them was a third of this model's time). -#}
entry_keys as (
    select agency, task_id, entry_key, 'uscc' as kind, unnest([drawn_uscc, pool_uscc]) as key,
           true as has_uscc
    from entries
    union all
    select agency, task_id, entry_key, 'name' as kind, unnest([drawn_name, pool_name]) as key,
           coalesce(drawn_uscc, pool_uscc) is not null as has_uscc
    from entries
    union all
    -- and its enterprise's former names (曾用名), as draw lists are matched
    select entries.agency, entries.task_id, entries.entry_key, 'name' as kind, former.name_normalized as key,
           coalesce(entries.drawn_uscc, entries.pool_uscc) is not null as has_uscc
    from entries
    inner join {{ ref('int_registration__former_names') }} as former on former.enterprise_id = entries.enterprise_id
),

candidates as (
    select results.row_key, entry_keys.entry_key, true as by_uscc
    from results
    inner join entry_keys
        on entry_keys.kind = 'uscc' and entry_keys.agency = results.agency and entry_keys.task_id = results.task_id
        and entry_keys.key = results.uscc
    union all
    select results.row_key, entry_keys.entry_key, false as by_uscc
    from results
    inner join entry_keys
        on entry_keys.kind = 'name' and entry_keys.agency = results.agency and entry_keys.task_id = results.task_id
        and entry_keys.key = results.name_normalized
    -- a name names an entry only where no USCC can contradict it
    where results.uscc is null or not entry_keys.has_uscc
),

matches as (
    -- USCC matches first: a name match counts only where no USCC matched. The candidates
    -- are made distinct once, so the entries are counted with count(*): where no USCC
    -- matched, every candidate is a name match and each entry is one row
    select
        row_key,
        coalesce(min(entry_key) filter (where by_uscc), min(entry_key)) as entry_key,
        coalesce(nullif(count(*) filter (where by_uscc), 0), count(*)) as entry_count
    from (select distinct row_key, entry_key, by_uscc from candidates)
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
                    || ' enterprises drawn in task ' || {{ quoted('staged.task_id') }} || ' (expected the 统一社会信用代码 to tell them apart)'}
            when matches.entry_count is null and tasks.task_id is null then {
                'code': 'not_drawn',
                'message': 'task_id: ' || {{ quoted('staged.task_id') }} || ' is not a task of ' || staged.agency
                    || ' (expected the task_id of one of its draw lists or drawn plans)'}
            when matches.entry_count is null then {
                'code': 'not_drawn',
                'message': 'uscc, name: ' || {{ quoted("coalesce(staged.uscc, staged.name)") }}
                    || ' was not drawn in task ' || {{ quoted('staged.task_id') }} || ' of ' || staged.agency
                    || ' (a result is entered for an enterprise its task drew)'}
        end as issue
    from staged
    left join matches on matches.row_key = staged.row_key
    left join tasks on tasks.agency = staged.agency and tasks.task_id = staged.task_id
),

{#- `raw` of the rows matching rejects, read back from the raw store for them alone (staging
    builds it for its own rejects only: building it for every row cost most of staging's time) -#}
rejected_raw as (
    select verdicts.row_key, {{ raw_json(results_columns(), 'results', relation='raw_rows') }} as raw
    from verdicts
    inner join staged on staged.row_key = verdicts.row_key
    inner join {{ source('raw', 'results') }} as raw_rows
        on raw_rows._file_sha256 = staged.file_sha256 and raw_rows._source_row = staged.source_row
    where verdicts.issue is not null
),

{#- the versions of each entry's accepted results, ranked on the narrow columns alone
    (a window over the whole rows copied every column through its sort) -#}
versions as (
    select
        staged.row_key,
        row_number() over (
            partition by staged.agency, staged.task_id, verdicts.entry_key
            order by {{ latest_first('staged.entered_on') }}) as version_rank,
        count(*) over (partition by staged.agency, staged.task_id, verdicts.entry_key) as version_count
    from staged
    inner join verdicts on verdicts.row_key = staged.row_key
    where staged.is_accepted and verdicts.issue is null
)

select
    staged.* exclude (row_key, reason_codes, reason, is_accepted, raw),
    verdicts.entry_key,
    case when verdicts.issue is null then staged.reason_codes
         else list_sort(list_append(staged.reason_codes, verdicts.issue.code)) end as reason_codes,
    case when verdicts.issue is null then staged.reason
         else {{ publishable_text('verdicts.issue.message') }} end as reason,
    staged.is_accepted and verdicts.issue is null as is_accepted,
    coalesce(staged.raw, rejected_raw.raw) as raw,
    versions.version_rank,
    versions.version_count
from staged
inner join verdicts on verdicts.row_key = staged.row_key
left join rejected_raw on rejected_raw.row_key = staged.row_key
left join versions on versions.row_key = staged.row_key
