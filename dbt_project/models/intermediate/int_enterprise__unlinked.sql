{#-
  Approval and credit-risk rows that could not be tied to exactly one enterprise of
  the pool (link_method none / ambiguous): kept and flagged for a data steward,
  never guessed.
-#}

select
    'approval' as feed,
    licence_no as record_key,
    uscc,
    name,
    name_normalized,
    link_method,
    link_note,
    candidate_count,
    candidate_ids,
    agency,
    source_file,
    source_row
from {{ ref('int_licence__linked') }}
where enterprise_id is null

union all

select
    'credit_risk' as feed,
    uscc || '/' || domain as record_key,
    uscc,
    name,
    {{ normalize_name('name') }} as name_normalized,  -- only for these rows: credit rows link by USCC alone
    link_method,
    link_note,
    0 as candidate_count,
    null::{{ text_type(list=true) }} as candidate_ids,
    agency,
    source_file,
    source_row
from {{ ref('int_credit__linked') }}
where enterprise_id is null
