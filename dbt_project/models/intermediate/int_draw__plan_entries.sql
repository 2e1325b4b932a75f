{#-
  Drawn plans as draw entries (docs/contract.md §6, docs/draws.md "From a draw to a
  joint inspection"): one entry per enterprise `ssj draw` drew for a plan, in the same
  columns as a dropped draw list's entries (int_draw__entries unites the two).

  A drawn enterprise is already resolved: enterprise_id and uscc are the draw's,
  match_method is `plan`. The window and task_name are those the draw record kept
  when the plan was drawn (macros/draw_store.sql): a plan file changed later does not
  move a draw's window. (A draw stored before records kept a window takes the plan's
  current one.) items are the plan's item codes. name, name_normalized and address
  are the pool's; flags as for a dropped row: inactive_enterprise when the pool holds
  the enterprise as inactive, not_in_pool when the pool no longer holds it (the entry
  keeps its enterprise_id and still takes part in grouping).

  No source file: the lineage columns are NULL, row_count 1; draw_no is the `ssj draw`
  that stored it (the incremental chain enters the draws made since its last build).
-#}
{{ config(materialized='view') }}

with

drawn as (
    select
        draws.agency,
        draws.task_id,
        draws.enterprise_id,
        draws.uscc,
        coalesce(records.task_name, plans.task_name) as task_name,
        coalesce(records.window_start, plans.window_start) as window_start,
        coalesce(records.window_end, plans.window_end) as window_end,
        records.items,
        records.draw_no
    from {{ source('draws', 'plan_draws') }} as draws
    inner join {{ source('draws', 'draw_records') }} as records
        on records.agency = draws.agency and records.task_id = draws.task_id
    left join {{ ref('int_plans__current') }} as plans
        on plans.agency = draws.agency and plans.task_id = draws.task_id
)

select
    drawn.agency,
    drawn.task_id,
    drawn.enterprise_id as entity_key,
    drawn.task_name,
    drawn.uscc,
    pool.name,
    pool.name_normalized,
    pool.address,
    drawn.enterprise_id,
    'plan' as match_method,
    drawn.window_start,
    drawn.window_end,
    list_sort(list_distinct(drawn.items)) as items,
    list_sort(list_filter([
        case when pool.enterprise_id is null then 'not_in_pool' end,
        case when pool.is_active = false then 'inactive_enterprise' end
    ], lambda f: f is not null)) as flags,
    pool.is_active,
    null::varchar as source_file,
    null::varchar as file_sha256,
    null::bigint as source_row,
    null::bigint[] as source_rows,
    1::bigint as row_count,
    null::bigint as task_version_count,
    drawn.agency || ':' || drawn.task_id as task_key,
    drawn.draw_no
from drawn
left join {{ ref('enterprise_pool') }} as pool on pool.enterprise_id = drawn.enterprise_id
