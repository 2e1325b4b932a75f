{#-
  Each current draw-list row resolved to an enterprise of the pool, in order
  (docs/matching.md; docs/contract.md §9):
    0. steward       a data steward's link (int_links__current, target_feed draw_list)
                     names the row: same agency, task_id = source_key, the same
                     normalized name (both NULL counts as the same), and the same USCC
                     when both carry one — the link's enterprise_id, whatever the rules
                     below would find;
    1. uscc          the drawn USCC (staging has checked it) is an enterprise's USCC;
    2. reg_no        a valid 注册号 (extra column) is an enterprise's 注册号 (exactly one);
    3. name_address  normalize_name(name) + normalize_address(address) match exactly
                     one enterprise's current name and address;
    4. name          normalize_name(name) matches exactly one enterprise's current name;
    5. former_name   no enterprise carries the name now, and exactly one enterprise
                     carried it on an earlier registration version
                     (int_registration__former_names);
    6. none.
  Name candidates never include an enterprise whose USCC differs from a USCC the
  row carries (a USCC is unique: same name, other USCC = another entity, e.g. a
  namesake in another district). Several candidates are never guessed between:
  the row stays unresolved and is flagged ambiguous_name — a name several enterprises
  carry now, or (when none carries it now) one several carried before. A current
  name goes before a former one: a name an enterprise carries now is that
  enterprise's, whoever carried it before.

  Flags (a sorted list; docs/matching.md says what each one asks of a steward):
    not_in_pool          unresolved, no candidate at all;
    ambiguous_name       unresolved, the name matched more than one enterprise;
    inactive_enterprise  resolved to an enterprise with is_active = false (the entry
                         still takes part in grouping);
    name_mismatch        resolved by uscc or reg_no, the row carries a name, and its
                         normalized name is neither the enterprise's current name nor
                         one of its former names;
    address_mismatch     resolved by name or former_name while the row's address
                         contradicts the enterprise's (macro addresses_contradict: the
                         district and the road both differ);
    steward_link         resolved by a steward's link (match_method steward);
    out_of_region        resolved, and the enterprise's region_code is not under the
                         drawing agency's region_code (agency registry; macros/regions.sql:
                         GB/T 2260 nesting, 350102 is under 350100); an agency or an
                         enterprise without a region_code never flags.

  Address matching normalizes the pool's address of the name candidates only (the
  same normalize_address as the drawn address), not the whole pool's; so does the
  address_mismatch flag (the resolved rows' enterprises only).

  Each join reads the pool table itself (only the columns it needs); one shared
  `pool` CTE made DuckDB materialize the whole 10M-row pool first.

  Incremental by task, like int_draw__current: only the redone tasks' rows are
  resolved against the pool (a full build — new pool inputs, a links file among
  them — resolves them all).
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

by_link as (
    {{ steward_links('draws', 'row_key', 'draw_list', 'task_id', 'enterprise_id') }}
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

former_candidates as (
    -- only for the rows neither a key nor a current name resolves or finds ambiguous
    select draws.row_key, former.enterprise_id
    from draws
    inner join {{ ref('int_registration__former_names') }} as former
        on former.name_normalized = draws.name_normalized
    inner join {{ ref('enterprise_pool') }} as pool on pool.enterprise_id = former.enterprise_id
    where draws.name_normalized is not null
      and (draws.uscc is null or pool.uscc is null or pool.uscc = draws.uscc)
      and draws.row_key not in (select row_key from by_key)
      and draws.row_key not in (select row_key from name_candidates)
),

by_former_name as (
    select row_key, count(distinct enterprise_id) as former_count, min(enterprise_id) as former_id
    from former_candidates
    group by row_key
),

resolved as (
    select
        draws.*,
        case
            when by_link.enterprise_id is not null then by_link.enterprise_id
            when by_uscc.enterprise_id is not null then by_uscc.enterprise_id
            when by_reg_no.n = 1 then by_reg_no.enterprise_id
            when by_name.name_address_count = 1 then by_name.name_address_id
            when by_name.name_count = 1 then by_name.name_id
            when by_former_name.former_count = 1 then by_former_name.former_id
        end as enterprise_id,
        case
            when by_link.enterprise_id is not null then 'steward'
            when by_uscc.enterprise_id is not null then 'uscc'
            when by_reg_no.n = 1 then 'reg_no'
            when by_name.name_address_count = 1 then 'name_address'
            when by_name.name_count = 1 then 'name'
            when by_former_name.former_count = 1 then 'former_name'
            else 'none'
        end as match_method,
        -- 0 when a key resolved the row
        coalesce(by_name.name_count, by_former_name.former_count, 0) as name_candidates
    from draws
    left join by_link on by_link.row_key = draws.row_key
    left join by_uscc on by_uscc.row_key = draws.row_key
    left join by_reg_no on by_reg_no.row_key = draws.row_key
    left join by_name on by_name.row_key = draws.row_key
    left join by_former_name on by_former_name.row_key = draws.row_key
),

checked as (
    -- the resolved rows against their enterprise: the pool's names, address and region
    select
        resolved.*,
        pool.is_active,
        resolved.match_method in ('uscc', 'reg_no')
            and resolved.name_normalized is not null
            and resolved.name_normalized is distinct from pool.name_normalized
            and not exists (select 1 from {{ ref('int_registration__former_names') }} as former
                            where former.enterprise_id = resolved.enterprise_id
                              and former.name_normalized = resolved.name_normalized) as name_mismatch,
        -- a CASE, not an AND: the pool's address is normalized for the name-resolved rows alone
        -- (for every resolved row, it cost three times the rest of the resolution at 1M enterprises)
        case when resolved.match_method in ('name', 'former_name') and resolved.address_normalized is not null
             then {{ addresses_contradict('resolved.address_normalized', normalize_address('pool.address')) }}
             else false end as address_mismatch,
        coalesce(not {{ region_is_under('pool.region_code', 'agencies.region_code') }}, false) as out_of_region
    from resolved
    left join {{ ref('enterprise_pool') }} as pool on pool.enterprise_id = resolved.enterprise_id
    left join {{ source('raw', 'agencies') }} as agencies on agencies.code = resolved.agency
)

select
    checked.* exclude (row_key, name_mismatch, address_mismatch, out_of_region),
    list_sort(list_filter([
        case when checked.match_method = 'none' and checked.name_candidates <= 1 then 'not_in_pool' end,
        case when checked.match_method = 'none' and checked.name_candidates > 1 then 'ambiguous_name' end,
        case when checked.is_active = false then 'inactive_enterprise' end,
        case when checked.match_method = 'steward' then 'steward_link' end,
        case when checked.name_mismatch then 'name_mismatch' end,
        case when checked.address_mismatch then 'address_mismatch' end,
        case when checked.out_of_region then 'out_of_region' end
    ], lambda f: f is not null)) as flags
from checked
