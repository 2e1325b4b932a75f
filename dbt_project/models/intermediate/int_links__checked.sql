{#-
  Every links row (stg_links) with its final verdict: an accepted row whose
  enterprise_id the pool does not hold (no current registration carries it:
  int_registration__current, the pool's rows) is rejected `enterprise_not_in_pool` —
  a decision must name an enterprise of the pool (docs/contract.md §9). These rows go
  to the quarantine with staging's rejections (feed_verdicts).

  The pool is read as int_registration__current, not the enterprise_pool mart: the
  pool's licence counts follow the licences a link decides (int_licence__linked).
  The enterprise_id of a rejected row keeps its digit runs masked, as staging masks
  every text of a rejected row.
-#}

with

staged as (
    select * from {{ ref('stg_links') }}
),

pool as (
    select enterprise_id from {{ ref('int_registration__current') }}
),

verdicts as (
    select
        staged.file_sha256,
        staged.source_row,
        case when staged.is_accepted and pool.enterprise_id is null then {{ struct_of([
            ('code', "'enterprise_not_in_pool'"),
            ('message', "'enterprise_id: ' || " ~ quoted('staged.enterprise_id')
                ~ " || ' is not an enterprise of the pool (expected the enterprise_id of a row of enterprise_pool)'")]) }}
        end as issue
    from staged
    left join pool on pool.enterprise_id = staged.enterprise_id
)

select
    staged.* {{ star_except() }} (enterprise_id, reason_codes, reason, is_accepted, raw),
    case when verdicts.issue is null then staged.enterprise_id
         else mask_personal(staged.enterprise_id) end as enterprise_id,
    case when verdicts.issue is null then staged.reason_codes
         else {{ list_sorted(list_appended('staged.reason_codes', 'verdicts.issue.code')) }} end as reason_codes,
    case when verdicts.issue is null then staged.reason
         else {{ publishable_text('verdicts.issue.message') }} end as reason,
    staged.is_accepted and verdicts.issue is null as is_accepted,
    case when not staged.is_accepted or verdicts.issue is not null then staged.raw end as raw
from staged
inner join verdicts on verdicts.file_sha256 = staged.file_sha256 and verdicts.source_row = staged.source_row
