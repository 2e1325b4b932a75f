{#- 企业信用风险分类结果: every raw row, typed, grade mapped through the seed vocabulary. -#}
{%- set columns = ['uscc', 'name', 'grade', 'domain', 'score', 'classified_on'] -%}

with

source as (
    {{ ingested_rows('credit_risk') }}
),

grade_vocab as (
    select map(list(upper(raw)), list(grade)) as vocab
    from {{ ref('credit_grade_vocab') }}
),

cleaned as (
    select
        {{ staging_lineage() }},
        {{ clean_code('source.uscc') }} as uscc,
        {{ clean_text('source.name') }} as name,
        {{ clean_text('source.grade') }} as grade_raw,
        {{ clean_text('source.domain') }} as domain_text,
        {{ clean_text('source.score') }} as score_text,
        {{ clean_text('source.classified_on') }} as classified_on_text,
        try_cast(source._extra as json) as extra
    from source
),

typed as (
    select
        cleaned.*,
        -- the vocabulary is keyed by the upper-cased, cleaned raw grade ('a类' = 'A类')
        grade_vocab.vocab[upper(grade_raw)] as grade,
        case when domain_text is null or domain_text in ('通用', 'general') then 'general' else domain_text end as domain,
        {{ parse_number('score_text', cleaned=true) }} as score,
        {{ parse_date('classified_on_text', cleaned=true) }} as classified_on
    from cleaned
    cross join grade_vocab
),

checked as (
    select
        typed.*,
        {{ collect_issues([
            issue_malformed('parse_error'),
            issue_required('uscc', 'uscc'),
            issue_required('grade_raw', 'grade'),
            issue_uscc('uscc'),
            issue('grade_raw is not null and grade is null', 'invalid_grade',
                  "'grade: ' || " ~ quoted('grade_raw') ~ " || ' is not a known credit-risk grade (expected A-D, A类, 低风险/一般风险/较高风险/高风险 or 1-4 with 1 = A; see seed credit_grade_vocab)'"),
            issue_number('score_text', 'score', 'score'),
            issue_date('classified_on_text', 'classified_on', 'classified_on'),
        ]) }} as outcome
    from typed
),

final as (
    select
        uscc,
        name,
        grade,
        grade_raw,
        domain,
        score,
        classified_on,
        {{ staging_columns(raw_json(columns, relation='checked._source')) }}
    from checked
)

select * from final
