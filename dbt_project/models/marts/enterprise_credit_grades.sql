{#-
  Current credit-risk classification of every pool enterprise per domain
  ('general' and the domain-specific 专业 classifications such as 食品, 特种设备).
  Internal, not public. enterprise_pool.credit_grade is the 'general' row here.

  A view: its rows are int_credit__linked's linked rows, as stored there; a table only
  copied them (10M enterprises: 7.5M rows, 4.0 s). Publishing, the tests and
  enterprise_tags read it like a table.
-#}

{{ config(materialized='view') }}

select
    enterprise_id,
    uscc,
    domain,
    grade,
    grade_raw,
    score,
    classified_on,
    link_method,
    version_count,
    agency,
    source_file,
    source_row
from {{ ref('int_credit__linked') }}
where enterprise_id is not null
