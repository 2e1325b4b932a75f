{#-
  企业信用风险分类结果: the current classification per (uscc, domain).
  Latest by classified_on (undated last), then the later file, source_file, source_row.
-#}

with

accepted as (
    select * from {{ ref('stg_credit_risk') }}
    where is_accepted and uscc is not null
),

ranked as (
    select
        accepted.*,
        count(*) over (partition by uscc, domain) as version_count,
        row_number() over (
            partition by uscc, domain
            order by {{ latest_first('classified_on') }}
        ) as version_rank
    from accepted
)

select
    uscc,
    domain,
    grade,
    grade_raw,
    score,
    classified_on,
    name,
    version_count,
    agency,
    source_file,
    file_sha256,
    source_row,
    file_mtime
from ranked
where version_rank = 1
