{#-
  年度抽查工作计划: the current version of every plan, one row per (agency, task_id):
  what a draw reads.

  The agency is the folder's (an agency drops only its own plans). Latest version
  wins (docs/contract.md §2): plans carry no date of their own, so the later file
  (file_mtime), then source_file, then source_row.
-#}

with

accepted as (
    select * from {{ ref('stg_plans') }}
    where is_accepted and task_id is not null
),

ranked as (
    select
        accepted.*,
        count(*) over (partition by agency, task_id) as version_count,
        row_number() over (
            partition by agency, task_id
            order by {{ latest_first('null::date') }}
        ) as version_rank
    from accepted
)

select
    agency,
    task_id,
    task_name,
    items,
    window_start,
    window_end,
    ratio_a,
    ratio_b,
    ratio_c,
    ratio_d,
    ratio_none,
    coordination,
    seed_sha256,
    version_count,
    source_file,
    file_sha256,
    source_row,
    file_mtime
from ranked
where version_rank = 1
