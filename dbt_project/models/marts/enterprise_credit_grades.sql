{#-
  Current credit-risk classification of every pool enterprise per domain
  ('general' and the domain-specific 专业 classifications such as 食品, 特种设备).
  Internal, not public. enterprise_pool.credit_grade is the 'general' row here.
-#}

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
