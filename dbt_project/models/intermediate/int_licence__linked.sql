{#-
  Current licences linked to an enterprise of the pool.

  link_method:
    uscc          the row's USCC is a current registration's USCC
    name_address  no USCC; (normalized name, normalized address) matches exactly one registration
    name          no USCC; normalized name matches exactly one registration
                  (when the row had an address that matched none, link_note says so)
    ambiguous     no USCC; the name matches several registrations and the address
                  does not single one out — kept unlinked, never guessed
    none          the USCC is not in the pool, or the name matches no registration
  enterprise_id is NULL unless link_method is uscc / name_address / name.
-#}

with

lic as (
    select * from {{ ref('int_licence__current') }}
),

reg as (
    select uscc from {{ ref('int_registration__current') }} where uscc is not null
),

name_candidates as (
    -- the registrations bearing the normalized name of a licence without a USCC (a
    -- hash join built on those few licences, not an index of every name in the pool);
    -- only these candidates' addresses are normalized, not the whole pool's
    select
        lic.licence_no,
        cur.enterprise_id,
        coalesce(lic.address_normalized = {{ normalize_address('cur.address') }}, false) as address_matches
    from lic
    inner join {{ ref('int_registration__current') }} as cur on cur.name_normalized = lic.name_normalized
    where lic.uscc is null
),

by_name as (
    select
        licence_no,
        count(*) as name_candidates,
        list_sort(list(enterprise_id)) as name_ids,
        count(*) filter (where address_matches) as name_address_candidates,
        list_sort(list(enterprise_id) filter (where address_matches)) as name_address_ids
    from name_candidates
    group by licence_no
),

resolved as (
    select
        lic.*,
        reg.uscc is not null as uscc_found,
        by_name.name_address_candidates,
        by_name.name_address_ids,
        by_name.name_candidates,
        by_name.name_ids
    from lic
    left join reg on lic.uscc = reg.uscc
    left join by_name on by_name.licence_no = lic.licence_no
),

decided as (
    select
        resolved.*,
        case
            when uscc is not null and uscc_found then 'uscc'
            when uscc is not null then 'none'
            when name_address_candidates = 1 then 'name_address'
            when name_address_candidates > 1 then 'ambiguous'
            when name_candidates = 1 then 'name'
            when name_candidates > 1 then 'ambiguous'
            else 'none'
        end as link_method
    from resolved
)

select
    licence_no,
    licence_type,
    case link_method
        when 'uscc' then uscc
        when 'name_address' then name_address_ids[1]
        when 'name' then name_ids[1]
    end as enterprise_id,
    link_method,
    case
        when link_method = 'uscc' then 1
        when link_method = 'none' and uscc is not null then 0
        when name_address_candidates >= 1 then name_address_candidates
        else coalesce(name_candidates, 0)
    end as candidate_count,
    case
        when link_method = 'ambiguous' then coalesce(name_address_ids, name_ids)
    end as candidate_ids,
    case
        when link_method = 'none' and uscc is not null then 'uscc_not_in_pool'
        when link_method = 'none' and name_normalized is null then 'no_uscc_no_name'
        when link_method = 'none' then 'name_not_in_pool'
        when link_method = 'ambiguous' then 'ambiguous_name'
        when link_method = 'name' and address_normalized is not null then 'address_not_matched'
    end as link_note,
    uscc,
    name,
    name_normalized,
    address,
    address_normalized,
    valid_from,
    valid_to,
    issuer,
    scope,
    status,
    updated_at,
    is_valid_on_as_of,
    invalid_reason,
    version_count,
    agency,
    source_file,
    file_sha256,
    source_row,
    file_mtime
from decided
