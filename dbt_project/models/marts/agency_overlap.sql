{#-
  Agency-by-agency overlap matrix: for each pair of agencies (agency_a <
  agency_b), how many distinct enterprises both drew in overlapping windows — i.e.
  that sit in one joint group with an entry of each — and how many joint groups
  hold both. Pairs with no overlap are not listed (a sparse matrix).
-#}

with

group_agencies as (
    -- an unresolved group (no enterprise_id) counts by its drawn USCC
    select distinct joint_group_id, coalesce(enterprise_id, uscc) as enterprise_id, unnest(agencies) as agency
    from {{ ref('joint_inspections') }}
),

pairs as (
    select
        a.agency as agency_a,
        b.agency as agency_b,
        a.enterprise_id,
        a.joint_group_id
    from group_agencies as a
    inner join group_agencies as b
        on a.joint_group_id = b.joint_group_id
        and a.agency < b.agency
)

select
    pairs.agency_a,
    reg_a.name as agency_a_name,
    pairs.agency_b,
    reg_b.name as agency_b_name,
    count(distinct pairs.enterprise_id) as shared_enterprises,
    count(distinct pairs.joint_group_id) as joint_groups
from pairs
left join {{ source('raw', 'agencies') }} as reg_a on reg_a.code = pairs.agency_a
left join {{ source('raw', 'agencies') }} as reg_b on reg_b.code = pairs.agency_b
group by all
order by pairs.agency_a, pairs.agency_b
