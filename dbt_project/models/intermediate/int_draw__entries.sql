{#-
  Draw entries: one per (agency, task_id, enterprise) — the draw list's key (docs/contract.md §2).

  The enterprise of a row is its resolved enterprise_id; an unresolved row is
  keyed by what it carries (its USCC, else its normalized name), so two rows of
  one task naming the same unresolved enterprise are one entry too. Grouping keys an
  entry by draw_group_key (macros/incremental_draws.sql): its enterprise_id, else the
  drawn USCC — an unresolved entry with a valid USCC still groups (docs/contract.md §9).

  Duplicate rows of one enterprise within a task's (current) file collapse into
  one entry:
    * items       union of the rows' items (sorted, distinct);
    * window      the WIDEST: earliest start, latest end — every date any of the
                  rows planned stays in the entry's window (a duplicate is the same
                  planned inspection, not a second one; taking the narrowest could
                  produce an empty window);
    * flags       union;
    * task_name, uscc, name, address  the first non-NULL value in row order
                  (arg_min skips NULLs: a USCC-only row and a name-only row give both);
    * source_row  the first row; source_rows lists them all; row_count counts them.

  Drawn plans (int_draw__plan_entries, one entry per drawn enterprise) are entries
  too, source = 'plan' (a dropped list's are 'drop'): they group like any other. A
  task (agency, task_id) that is both a drawn plan and a dropped list is the dropped
  list's: the list an agency drops for a task is what it inspects for that task
  (it may have replaced an enterprise of the draw), so the plan's entries of that
  task are left out — one task, one version, as with a redrawn list.

  Incremental by task, like int_draw__current; a build also redoes the plans drawn
  since the last one (macros/incremental_draws.sql).
-#}
-- depends_on: {{ ref('stg_draw_list') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['agency', 'task_id'],
          on_schema_change='fail') }}

with

rows as (
    select
        *,
        coalesce(enterprise_id, 'uscc:' || uscc, 'name:' || name_normalized) as entity_key
    from {{ ref('int_draw__resolved') }} as res
    {%- if is_incremental() %}
    where {{ is_task_to_redo('res') }}
    {%- endif %}
),

dropped as (
    select
        agency,
        task_id,
        entity_key,
        arg_min(task_name, source_row) as task_name,
        arg_min(uscc, source_row) as uscc,
        arg_min(name, source_row) as name,
        arg_min(name_normalized, source_row) as name_normalized,
        arg_min(address, source_row) as address,
        any_value(enterprise_id) as enterprise_id,
        -- the strongest match among the rows (steward > uscc > reg_no > name_address > name > former_name > none)
        arg_min(match_method, case match_method when 'steward' then 0 when 'uscc' then 1 when 'reg_no' then 2
            when 'name_address' then 3 when 'name' then 4 when 'former_name' then 5 else 6 end) as match_method,
        min(window_start) as window_start,
        max(window_end) as window_end,
        list_sort(list_distinct(flatten(list(items)))) as items,
        list_sort(list_distinct(flatten(list(flags)))) as flags,
        any_value(is_active) as is_active,
        any_value(source_file) as source_file,
        any_value(file_sha256) as file_sha256,
        min(source_row) as source_row,
        list_sort(list(source_row)) as source_rows,
        count(*) as row_count,
        any_value(version_count) as task_version_count,
        agency || ':' || task_id as task_key,
        'drop' as source
    from rows
    group by agency, task_id, entity_key
),

planned as (
    select plan.* exclude (draw_no), 'plan' as source
    from {{ ref('int_draw__plan_entries') }} as plan
    where not exists (select 1 from {{ ref('int_draw__resolved') }} as res
                      where res.agency = plan.agency and res.task_id = plan.task_id)
    {%- if is_incremental() %}
      and {{ is_task_to_redo('plan') }}
    {%- endif %}
)

select * from dropped
union all by name
select * from planned
