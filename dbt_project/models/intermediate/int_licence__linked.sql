{#-
  Current licences linked to an enterprise of the pool.

  link_method:
    steward       a data steward's link (int_links__current, target_feed approval) names
                  the licence: same agency, licence_no = source_key, the same normalized
                  name (both NULL counts as the same) and the same USCC when both carry
                  one — its enterprise_id, before every rule below
    uscc          the row's USCC is a current registration's USCC
    name_address  no USCC; (normalized name, normalized address) matches exactly one registration
    name          no USCC; normalized name matches exactly one registration
                  (when the row had an address that matched none, link_note says so)
    former_name   no USCC; no registration carries the name now, and exactly one
                  enterprise carried it on an earlier version (int_registration__former_names)
    ambiguous     no USCC; the name matches several registrations and the address
                  does not single one out (or, when none carries it now, several
                  enterprises carried it) — kept unlinked, never guessed
    none          the USCC is not in the pool, or the name matches no registration
  enterprise_id is NULL unless link_method is steward / uscc / name_address / name / former_name.

  link_flags: the matching flags of docs/matching.md that apply to a licence, on linked
  rows (a sorted list, empty when none):
    name_mismatch     linked by uscc, the licence names a holder, and its normalized name
                      is neither the enterprise's current nor a former name;
    address_mismatch  linked by name or former_name while the licence's address
                      contradicts the enterprise's (macro addresses_contradict);
    out_of_region     the enterprise's region_code is not under the dropping agency's
                      (macros/regions.sql); an agency or enterprise without one never flags;
    steward_link      linked by a steward's link (link_method steward).
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
        {{ sorted_list('enterprise_id') }} as name_ids,
        count(*) filter (where address_matches) as name_address_candidates,
        {{ sorted_list('enterprise_id', where='address_matches') }} as name_address_ids
    from name_candidates
    group by licence_no
),

by_former_name as (
    -- licences without a USCC whose name no registration carries now
    select
        lic.licence_no,
        count(distinct former.enterprise_id) as former_candidates,
        {{ sorted_list('former.enterprise_id', distinct=true) }} as former_ids
    from lic
    inner join {{ ref('int_registration__former_names') }} as former on former.name_normalized = lic.name_normalized
    where lic.uscc is null
      and lic.licence_no not in (select licence_no from by_name)
    group by lic.licence_no
),

by_link as (
    {{ steward_links('lic', 'licence_no', 'approval', 'licence_no', 'link_id') }}
),

resolved as (
    select
        lic.*,
        by_link.link_id,
        reg.uscc is not null as uscc_found,
        by_name.name_address_candidates,
        by_name.name_address_ids,
        by_name.name_candidates,
        by_name.name_ids,
        by_former_name.former_candidates,
        by_former_name.former_ids
    from lic
    left join reg on lic.uscc = reg.uscc
    left join by_name on by_name.licence_no = lic.licence_no
    left join by_former_name on by_former_name.licence_no = lic.licence_no
    left join by_link on by_link.licence_no = lic.licence_no
),

decided as (
    select
        resolved.*,
        case
            when link_id is not null then 'steward'
            when uscc is not null and uscc_found then 'uscc'
            when uscc is not null then 'none'
            when name_address_candidates = 1 then 'name_address'
            when name_address_candidates > 1 then 'ambiguous'
            when name_candidates = 1 then 'name'
            when name_candidates > 1 then 'ambiguous'
            when former_candidates = 1 then 'former_name'
            when former_candidates > 1 then 'ambiguous'
            else 'none'
        end as link_method
    from resolved
),

linked as (
    select
        decided.*,
        case link_method
            when 'steward' then link_id
            when 'uscc' then uscc
            when 'name_address' then {{ first_of('name_address_ids') }}
            when 'name' then {{ first_of('name_ids') }}
            when 'former_name' then {{ first_of('former_ids') }}
        end as enterprise_id
    from decided
),

checked as (
    -- the linked rows against their enterprise: its names, address and region
    select
        linked.*,
        {%- set flags %}
            case when linked.link_method = 'uscc'
                      and linked.name_normalized is not null
                      and linked.name_normalized is distinct from cur.name_normalized
                      and not exists (select 1 from {{ ref('int_registration__former_names') }} as former
                                      where former.enterprise_id = linked.enterprise_id
                                        and former.name_normalized = linked.name_normalized)
                 then 'name_mismatch' end,
            case when linked.link_method in ('name', 'former_name')
                      and {{ addresses_contradict('linked.address_normalized', normalize_address('cur.address')) }}
                 then 'address_mismatch' end,
            case when not {{ region_is_under('cur.region_code', 'agencies.region_code') }}
                 then 'out_of_region' end,
            case when linked.link_method = 'steward' then 'steward_link' end
        {% endset %}
        {{ sorted_present(flags, 'f') }} as link_flags
    from linked
    left join {{ ref('int_registration__current') }} as cur on cur.enterprise_id = linked.enterprise_id
    left join {{ source('raw', 'agencies') }} as agencies on agencies.code = linked.agency
)

select
    licence_no,
    licence_type,
    enterprise_id,
    link_method,
    case
        when link_method in ('steward', 'uscc') then 1
        when link_method = 'none' and uscc is not null then 0
        when name_address_candidates >= 1 then name_address_candidates
        else coalesce(name_candidates, former_candidates, 0)
    end as candidate_count,
    case
        when link_method = 'ambiguous' then coalesce(name_address_ids, name_ids, former_ids)
    end as candidate_ids,
    case
        when link_method = 'none' and uscc is not null then 'uscc_not_in_pool'
        when link_method = 'none' and name_normalized is null then 'no_uscc_no_name'
        when link_method = 'none' then 'name_not_in_pool'
        when link_method = 'ambiguous' then 'ambiguous_name'
        when link_method = 'name' and address_normalized is not null then 'address_not_matched'
    end as link_note,
    link_flags,
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
    {{ version_lineage() }}
from checked
