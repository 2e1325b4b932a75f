{#-
  Each current draw-list row resolved to an enterprise of the pool, in order:
    1. uscc          the drawn USCC (staging has checked it) is an enterprise's USCC;
    2. reg_no        a valid 注册号 (extra column) is an enterprise's 注册号 (exactly one);
    3. name_address  normalize_name(name) + normalize_address(address) match exactly
                     one enterprise;
    4. name          normalize_name(name) matches exactly one enterprise;
    5. none.
  Name candidates never include an enterprise whose USCC differs from a USCC the
  row carries (a USCC is unique: same name, other USCC = another entity, e.g. a
  namesake in another district). Several candidates are never guessed between:
  the row stays unresolved and is flagged ambiguous_name.

  Flags: not_in_pool (unresolved, no candidate at all), ambiguous_name
  (unresolved, the name matched more than one enterprise), inactive_enterprise
  (resolved to an enterprise with is_active = false — the agency drew a
  注销/吊销 enterprise and needs to know; the entry still takes part in grouping).

  Address matching normalizes the pool's address of the name candidates only (the
  same normalize_address as the drawn address), not the whole pool's.

  Each join reads the pool table itself (only the columns it needs); one shared
  `pool` CTE made DuckDB materialize the whole 10M-row pool first.

  Incremental by task, like int_draw__current: only the redone tasks' rows are
  resolved against the pool (a full build — new pool inputs — resolves them all).
-#}
-- depends_on: {{ ref('stg_draw_list') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['agency', 'task_id'],
          on_schema_change='fail') }}

with

draws as (
    select
        *,
        {{ staged_row_id('cur') }} as row_key  -- internal: which row a match belongs to
    from {{ ref('int_draw__current') }} as cur
    {%- if is_incremental() %}
    where {{ is_task_to_redo('cur') }}
    {%- endif %}
),

by_uscc as (
    select draws.row_key, min(pool.enterprise_id) as enterprise_id
    from draws
    inner join {{ ref('enterprise_pool') }} as pool on pool.uscc = draws.uscc
    group by draws.row_key
),

by_reg_no as (
    select draws.row_key, min(pool.enterprise_id) as enterprise_id, count(*) as n
    from draws
    inner join {{ ref('enterprise_pool') }} as pool on pool.reg_no = draws.reg_no
    where draws.reg_no is not null
    group by draws.row_key
),

by_key as (
    -- rows the USCC or the 注册号 resolves: names are not looked at for them
    select row_key from by_uscc
    union all
    select row_key from by_reg_no where n = 1
),

name_candidates as (
    -- only for the rows no key resolves; the pool's address is normalized only for
    -- these candidates, not the whole pool
    select
        draws.row_key,
        pool.enterprise_id,
        coalesce(draws.address_normalized is not null
            and {{ normalize_address('pool.address') }} = draws.address_normalized, false) as address_matches
    from draws
    inner join {{ ref('enterprise_pool') }} as pool on pool.name_normalized = draws.name_normalized
    where draws.name_normalized is not null
      and (draws.uscc is null or pool.uscc is null or pool.uscc = draws.uscc)
      and draws.row_key not in (select row_key from by_key)
),

by_name as (
    select
        row_key,
        count(*) as name_count,
        min(enterprise_id) as name_id,
        count(*) filter (where address_matches) as name_address_count,
        min(enterprise_id) filter (where address_matches) as name_address_id
    from name_candidates
    group by row_key
),

resolved as (
    select
        draws.*,
        case
            when by_uscc.enterprise_id is not null then by_uscc.enterprise_id
            when by_reg_no.n = 1 then by_reg_no.enterprise_id
            when by_name.name_address_count = 1 then by_name.name_address_id
            when by_name.name_count = 1 then by_name.name_id
        end as enterprise_id,
        case
            when by_uscc.enterprise_id is not null then 'uscc'
            when by_reg_no.n = 1 then 'reg_no'
            when by_name.name_address_count = 1 then 'name_address'
            when by_name.name_count = 1 then 'name'
            else 'none'
        end as match_method,
        coalesce(by_name.name_count, 0) as name_candidates  -- 0 when a key resolved the row
    from draws
    left join by_uscc on by_uscc.row_key = draws.row_key
    left join by_reg_no on by_reg_no.row_key = draws.row_key
    left join by_name on by_name.row_key = draws.row_key
)

select
    resolved.* exclude (row_key),
    pool.is_active,
    list_sort(list_filter([
        case when resolved.match_method = 'none' and resolved.name_candidates <= 1 then 'not_in_pool' end,
        case when resolved.match_method = 'none' and resolved.name_candidates > 1 then 'ambiguous_name' end,
        case when pool.is_active = false then 'inactive_enterprise' end
    ], lambda f: f is not null)) as flags
from resolved
left join {{ ref('enterprise_pool') }} as pool on pool.enterprise_id = resolved.enterprise_id
