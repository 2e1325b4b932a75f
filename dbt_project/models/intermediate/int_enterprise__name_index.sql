{#-
  Name look-up for rows that carry no USCC (approval, draw lists): every
  normalized name, and every (normalized name, normalized address), with the
  current registrations that bear it. A match is usable only when
  candidate_count = 1 (enterprise_id is then set); otherwise it is ambiguous
  and must never be guessed. Names/addresses through normalize_name() /
  normalize_address() — the one normalization used everywhere.
-#}

with

reg as (
    select enterprise_id, name_normalized, address_normalized
    from {{ ref('int_registration__current') }}
    where name_normalized is not null
),

by_name as (
    select
        'name' as match_level,
        name_normalized,
        null::varchar as address_normalized,
        count(*) as candidate_count,
        list_sort(list(enterprise_id)) as candidate_ids
    from reg
    group by name_normalized
),

by_name_address as (
    select
        'name_address' as match_level,
        name_normalized,
        address_normalized,
        count(*) as candidate_count,
        list_sort(list(enterprise_id)) as candidate_ids
    from reg
    where address_normalized is not null
    group by name_normalized, address_normalized
)

select
    match_level,
    name_normalized,
    address_normalized,
    candidate_count,
    candidate_ids,
    case when candidate_count = 1 then candidate_ids[1] end as enterprise_id
from (
    select * from by_name
    union all
    select * from by_name_address
)
