{#-
  Eligible inspectors per agency, unit (所/科室) and specialty — what a
  county bureau needs to choose its random-selection mode (全局内随机 /
  局机关与所随机 / 若干所内随机 / 单一所内随机): e.g. a 所 with fewer than two
  eligible inspectors in a field cannot staff an inspection alone
  (行政处罚法 §42: at least two officers).

  One row per (agency_name, unit, specialty):
    specialty = '*'   every inspector of the unit;
    specialty = term  inspectors holding the term as a qualification OR a specialty
                      (controlled vocabulary).
  A roster row without a unit is counted under unit '(未注明)'.
  Columns: inspectors (all, current), eligible_inspectors, can_pair (eligible ≥ 2),
  unit_eligible (eligible in the unit, any specialty), agency_eligible (eligible
  in the agency with this specialty, all units), agency_units_with_pair (units of
  the agency that can pair on this specialty).
-#}

with

pool as (
    select
        agency_name,
        coalesce(unit, '(未注明)') as unit,
        is_eligible,
        list_distinct(list_concat(qualifications, specialties)) as terms
    from {{ ref('inspector_pool') }}
),

by_term as (
    select agency_name, unit, is_eligible, '*' as specialty from pool
    union all
    select agency_name, unit, is_eligible, unnest(terms) as specialty from pool
),

counted as (
    select
        agency_name,
        unit,
        specialty,
        count(*) as inspectors,
        count(*) filter (where is_eligible) as eligible_inspectors
    from by_term
    group by agency_name, unit, specialty
)

select
    agency_name,
    unit,
    specialty,
    inspectors,
    eligible_inspectors,
    eligible_inspectors >= 2 as can_pair,
    max(case when specialty = '*' then eligible_inspectors end) over (partition by agency_name, unit) as unit_eligible,
    sum(eligible_inspectors) over (partition by agency_name, specialty) as agency_eligible,
    count(*) filter (where eligible_inspectors >= 2) over (partition by agency_name, specialty) as agency_units_with_pair
from counted
order by agency_name, unit, specialty
