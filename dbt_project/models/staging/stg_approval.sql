{#- 行政审批/许可: every raw row, typed, with the row rules' verdict. -#}
{%- set columns = ['uscc', 'name', 'licence_type', 'licence_no', 'valid_from', 'valid_to', 'issuer', 'scope',
                   'status', 'updated_at'] -%}

with

source as (
    {{ ingested_rows('approval') }}
),

{#- licence types, issuers, statuses and dates hold few distinct values: cleaned (and
    parsed) once per value (parsed_per_value); valid_to 长期/长期有效 (no expiry) → 9999-12-31 -#}
{%- set per_value = [
    ('valid_from', 'valid_from_text', parse_date('valid_from_text', cleaned=true), 'valid_from'),
    ('valid_to', 'valid_to_text', parse_date('valid_to_text', open_ended=true, cleaned=true), 'valid_to'),
    ('updated_at', 'updated_at_text', parse_date('updated_at_text', cleaned=true), 'updated_at'),
    ('licence_type', 'licence_type'),
    ('issuer', 'issuer'),
    ('status', 'status'),
] %}
{{ values_per_value('approval', per_value) }},

cleaned as (
    select
        {{ cleaned_columns('approval', [
            ('uscc', 'code'), ('name', 'text'), 'licence_type_values.licence_type', ('licence_no', 'key'),
            'valid_from_values.valid_from_text', 'valid_from_values.valid_from',
            'valid_to_values.valid_to_text', 'valid_to_values.valid_to', 'issuer_values.issuer', ('scope', 'text'),
            'status_values.status', 'updated_at_values.updated_at_text', 'updated_at_values.updated_at',
        ]) }}
    from source
    {{- per_value_joins(per_value) }}
),

{{ screened_and_checked('cleaned',
    texts=['name', 'licence_type', ('valid_from', 'valid_from_text'), ('valid_to', 'valid_to_text'),
           'issuer', 'scope', 'status', ('updated_at', 'updated_at_text'), 'licence_no'],
    codes=['uscc'],
    issues=[
        issue_required('licence_type', 'licence_type'),
        issue_required('licence_no', 'licence_no'),
        issue_uscc_or_name(),
        issue_uscc('uscc'),
        issue_date('valid_from_text', 'valid_from', 'valid_from'),
        issue_date('valid_to_text', 'valid_to', 'valid_to'),
        issue_date('updated_at_text', 'updated_at', 'updated_at'),
    ]) }},

final as (
    select
        {{ staged_texts(['uscc', 'name', 'licence_type', 'licence_no']) }},
        valid_from,
        valid_to,
        {{ staged_texts(['issuer', 'scope', 'status']) }},
        updated_at,
        {{ staging_columns('approval', columns) }}
    from checked
)

select * from final
