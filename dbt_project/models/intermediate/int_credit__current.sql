{#-
  企业信用风险分类结果: the current classification per (uscc, domain).
  Latest by classified_on (undated last), then the later file, source_file, source_row.
-#}

{#- The latest row of each (uscc, domain) is found on narrow columns (`versions`, an
    aggregate: see latest_version), then its whole row read by its row id (staged_row_id). -#}

with

versions as (
    select
        uscc,
        domain,
        count(*) as version_count,
        {{ value_at_max(staged_row_id('stg'), latest_version('classified_on')) }} as stg_rowid
    from {{ ref('stg_credit_risk') }} as stg
    where is_accepted and uscc is not null
    group by uscc, domain
)

select
    stg.uscc,
    stg.domain,
    stg.grade,
    stg.grade_raw,
    stg.score,
    stg.classified_on,
    stg.name,
    versions.version_count,
    stg.agency,
    stg.source_file,
    stg.file_sha256,
    stg.source_row,
    stg.file_mtime
from {{ ref('stg_credit_risk') }} as stg
join versions on {{ staged_row_id('stg') }} = versions.stg_rowid
