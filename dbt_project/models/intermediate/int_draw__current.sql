{#-
  抽取名单: the current version of every draw task, one row per accepted draw-list row.

  "A task that arrives again in a later file replaces that task's earlier rows in
  full" (docs/contract.md §2): for each (agency, task_id) only the rows of the task's
  latest file are kept — latest by file_mtime, then source_file name (the later
  name wins on equal times), then ingested_at and file_sha256 (same name, new
  bytes, same mtime: the later ingestion wins; the hash only makes the order total).
  The agency is the folder's agency (staging quarantines a row whose declared
  agency is another one, `agency_mismatch`).

  Only ACCEPTED rows decide which file is a task's latest version: a redraw whose
  rows for the task were all quarantined does not wipe the previous plan (its
  rows are in the quarantine table for the agency to fix). A redraw with some
  rows accepted replaces the task in full.

  A 注册号 may come in a column outside the contract (extra: reg_no / 注册号 /
  工商注册号); it is used for matching only when its MOD 11,10 check digit is right.

  Incremental by task (delete+insert on agency, task_id): a build redoes only the
  tasks with newly staged rows (draw_tasks_to_redo); a task's batch is its whole
  current version, so the delete leaves nothing stale.
-#}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['agency', 'task_id'],
          on_schema_change='fail') }}

with

accepted as (
    select * from {{ ref('stg_draw_list') }} as stg
    where is_accepted and task_id is not null
    {%- if is_incremental() %}
      and {{ is_task_to_redo('stg') }}
    {%- endif %}
),

task_files as (
    select distinct agency, task_id, file_sha256, source_file, file_mtime, ingested_at
    from accepted
),

task_versions as (
    select
        task_files.*,
        row_number() over (
            partition by agency, task_id
            order by file_mtime desc nulls last, source_file desc, ingested_at desc nulls last, file_sha256 desc
        ) as version_rank,
        count(*) over (partition by agency, task_id) as version_count
    from task_files
),

current_rows as (
    select
        accepted.*,
        task_versions.version_count
    from accepted
    inner join task_versions
        on task_versions.agency = accepted.agency
        and task_versions.task_id = accepted.task_id
        and task_versions.file_sha256 = accepted.file_sha256
        and task_versions.source_file = accepted.source_file
    where task_versions.version_rank = 1
),

with_reg_no as (
    select
        current_rows.*,
        {{ clean_code("coalesce(extra->>'reg_no', extra->>'注册号', extra->>'工商注册号')") }} as reg_no_extra
    from current_rows
)

select
    agency,
    task_id,
    task_name,
    uscc,
    case when {{ reg_no_is_valid('reg_no_extra') }} then reg_no_extra end as reg_no,
    name,
    {{ normalize_name('name') }} as name_normalized,
    address,
    {{ normalize_address('address') }} as address_normalized,
    coalesce(items, []::varchar[]) as items,
    window_start,
    window_end,
    version_count,
    source_file,
    file_sha256,
    file_mtime,
    source_row
from with_reg_no
