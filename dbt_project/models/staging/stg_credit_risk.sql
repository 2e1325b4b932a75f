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

{#- grades, domains, scores and dates hold few distinct values: cleaned (and parsed) once per value (parsed_per_value) -#}
grade_values as (
    {{ parsed_per_value('credit_risk', 'grade', 'grade_raw') }}
),

domain_values as (
    {{ parsed_per_value('credit_risk', 'domain', 'domain_text') }}
),

score_values as (
    {{ parsed_per_value('credit_risk', 'score', 'score_text', parse_number('score_text', cleaned=true), 'score') }}
),

classified_on_values as (
    {{ parsed_per_value('credit_risk', 'classified_on', 'classified_on_text', parse_date('classified_on_text', cleaned=true), 'classified_on') }}
),

cleaned as (
    select
        {{ staging_lineage() }},
        {{ clean_code('source.uscc') }} as uscc,
        {{ clean_text('source.name') }} as name,
        grade_values.grade_raw,
        domain_values.domain_text,
        score_values.score_text,
        score_values.score,
        classified_on_values.classified_on_text,
        classified_on_values.classified_on,
        {{ extra_json('credit_risk') }} as extra
    from source
    left join score_values on score_values.raw_value = source.score
    left join classified_on_values on classified_on_values.raw_value = source.classified_on
    left join grade_values on grade_values.raw_value = source.grade
    left join domain_values on domain_values.raw_value = source.domain
),

typed as (
    select
        cleaned.*,
        -- the vocabulary is keyed by the upper-cased, cleaned raw grade ('a类' = 'A类')
        grade_vocab.vocab[upper(grade_raw)] as grade,
        case when domain_text is null or domain_text in ('通用', 'general') then 'general' else domain_text end as domain
    from cleaned
    cross join grade_vocab
),

{#- every text is screened for a personal ID number and a control character; every
    code, and the columns outside the contract, for a control character -#}
screened as (
    select
        typed.*,
        {{ screen_texts(['name', ('grade', 'grade_raw'), ('domain', 'domain_text'), ('score', 'score_text'),
                         ('classified_on', 'classified_on_text')],
                        codes=['uscc'], json='_source._extra') }} as screening
    from typed
),

checked as (
    select
        screened.*,
        {{ collect_issues([
            issue_malformed('parse_error'),
            issue_control_character('screening.control'),
            issue_personal_id('screening.personal_id'),
            issue_required('uscc', 'uscc'),
            issue_required('grade_raw', 'grade'),
            issue_uscc('uscc'),
            issue('grade_raw is not null and grade is null', 'invalid_grade',
                  "'grade: ' || " ~ quoted('grade_raw') ~ " || ' is not a known credit-risk grade (expected A-D, A类, 低风险/一般风险/较高风险/高风险 or 1-4 with 1 = A; see seed credit_grade_vocab)'"),
            issue_number('score_text', 'score', 'score'),
            issue_date('classified_on_text', 'classified_on', 'classified_on'),
        ]) }} as outcome
    from screened
),

final as (
    select
        {{ staged_text('uscc') }} as uscc,
        {{ staged_text('name') }} as name,
        grade,
        {{ staged_text('grade_raw') }} as grade_raw,
        {{ staged_text('domain') }} as domain,
        score,
        classified_on,
        {{ staging_columns(raw_json(columns, 'credit_risk', relation='checked._source')) }}
    from checked
)

select * from final
