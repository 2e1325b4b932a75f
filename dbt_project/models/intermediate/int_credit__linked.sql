{#-
  Current credit-risk classifications linked to an enterprise of the pool.
  The feed requires a USCC, so rows link by USCC only (link_method 'uscc');
  a USCC that is not in the pool is kept with link_method 'none'.
-#}

with

cr as (
    select * from {{ ref('int_credit__current') }}
),

reg as (
    select uscc from {{ ref('int_registration__current') }} where uscc is not null
)

select
    cr.uscc,
    cr.domain,
    case when reg.uscc is not null then cr.uscc end as enterprise_id,
    case when reg.uscc is not null then 'uscc' else 'none' end as link_method,
    case when reg.uscc is null then 'uscc_not_in_pool' end as link_note,
    cr.grade,
    cr.grade_raw,
    cr.score,
    cr.classified_on,
    cr.name,
    cr.version_count,
    cr.agency,
    {{ version_lineage('cr.') }}
from cr
left join reg on cr.uscc = reg.uscc
