{#-
  年度抽查工作计划: the current version of every plan, one row per (agency, task_id):
  what a draw reads.

  A plan is the folder agency's own, and undated: its latest version (ranked_versions,
  docs/contract.md §2) is that of the later file (file_mtime, then source_file), then
  of the later source_row.
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
    {{ version_lineage() }}
from ranked
where version_rank = 1
