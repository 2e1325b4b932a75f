{#-
  年度抽查工作计划: the current version of every plan, one row per (agency, task_id):
  what a draw reads.

  The agency is the folder's (an agency drops only its own plans). Latest version
  wins (docs/contract.md §2): plans carry no date of their own, so the later file
  (file_mtime), then source_file, then source_row.
-#}

with

ranked as (
    {{ ranked_versions(ref('stg_plans'), ['agency', 'task_id'], 'null::date') }}
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
