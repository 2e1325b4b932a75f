{#- 企业信用风险分类结果: every raw row, typed, grade mapped through the seed vocabulary. -#}
{%- set columns = ['uscc', 'name', 'grade', 'domain', 'score', 'classified_on'] -%}

with

source as (
    {{ ingested_rows('credit_risk') }}
),

grade_vocab as (
    select {{ lookup_map('upper(raw)', 'grade') }} as vocab
    from {{ ref('credit_grade_vocab') }}
),

{#- grades, domains, scores and dates hold few distinct values: cleaned (and parsed) once per value (parsed_per_value) -#}
{%- set per_value = [
    ('score', 'score_text', parse_number('score_text', cleaned=true), 'score'),
    ('classified_on', 'classified_on_text', parse_date('classified_on_text', cleaned=true), 'classified_on'),
    ('grade', 'grade_raw'),
    ('domain', 'domain_text'),
] %}
{{ values_per_value('credit_risk', per_value) }},

cleaned as (
    select
        {{ cleaned_columns('credit_risk', [
            ('uscc', 'code'), ('name', 'text'), 'grade_values.grade_raw', 'domain_values.domain_text',
            'score_values.score_text', 'score_values.score',
            'classified_on_values.classified_on_text', 'classified_on_values.classified_on',
        ]) }}
    from source
    {{- per_value_joins(per_value) }}
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

{{ screened_and_checked('typed',
    texts=['name', ('grade', 'grade_raw'), ('domain', 'domain_text'), ('score', 'score_text'),
           ('classified_on', 'classified_on_text')],
    codes=['uscc'],
    issues=[
        issue_required('uscc', 'uscc'),
        issue_required('grade_raw', 'grade'),
        issue_uscc('uscc'),
        issue('grade_raw is not null and grade is null', 'invalid_grade',
              "'grade: ' || " ~ quoted('grade_raw') ~ " || ' is not a known credit-risk grade (expected A-D, A类, 低风险/一般风险/较高风险/高风险 or 1-4 with 1 = A; see seed credit_grade_vocab)'"),
        issue_number('score_text', 'score', 'score'),
        issue_date('classified_on_text', 'classified_on', 'classified_on'),
    ]) }},

final as (
    select
        {{ staged_texts(['uscc', 'name']) }},
        grade,
        {{ staged_texts(['grade_raw', 'domain']) }},
        score,
        classified_on,
        {{ staging_columns('credit_risk', columns) }}
    from checked
)

select * from final
