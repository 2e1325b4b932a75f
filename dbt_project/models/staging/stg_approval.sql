{#- 行政审批/许可: every raw row, typed, with the row rules' verdict. -#}
{%- set columns = ['uscc', 'name', 'licence_type', 'licence_no', 'valid_from', 'valid_to', 'issuer', 'scope',
                   'status', 'updated_at'] -%}

with

source as (
    {{ ingested_rows('approval') }}
),

{#- licence types, issuers, statuses and dates hold few distinct values: cleaned (and
    parsed) once per value (parsed_per_value) -#}
licence_type_values as (
    {{ parsed_per_value('approval', 'licence_type', 'licence_type') }}
),

issuer_values as (
    {{ parsed_per_value('approval', 'issuer', 'issuer') }}
),

status_values as (
    {{ parsed_per_value('approval', 'status', 'status') }}
),

valid_from_values as (
    {{ parsed_per_value('approval', 'valid_from', 'valid_from_text', parse_date('valid_from_text', cleaned=true), 'valid_from') }}
),

valid_to_values as (
    -- 长期/长期有效 (no expiry) → 9999-12-31
    {{ parsed_per_value('approval', 'valid_to', 'valid_to_text', parse_date('valid_to_text', open_ended=true, cleaned=true), 'valid_to') }}
),

updated_at_values as (
    {{ parsed_per_value('approval', 'updated_at', 'updated_at_text', parse_date('updated_at_text', cleaned=true), 'updated_at') }}
),

cleaned as (
    select
        {{ staging_lineage() }},
        {{ clean_code('source.uscc') }} as uscc,
        {{ clean_text('source.name') }} as name,
        licence_type_values.licence_type,
        {{ clean_key('source.licence_no') }} as licence_no,
        valid_from_values.valid_from_text,
        valid_from_values.valid_from,
        valid_to_values.valid_to_text,
        valid_to_values.valid_to,
        issuer_values.issuer,
        {{ clean_text('source.scope') }} as scope,
        status_values.status,
        updated_at_values.updated_at_text,
        updated_at_values.updated_at,
        {{ extra_json('approval') }} as extra
    from source
    left join valid_from_values on valid_from_values.raw_value = source.valid_from
    left join valid_to_values on valid_to_values.raw_value = source.valid_to
    left join updated_at_values on updated_at_values.raw_value = source.updated_at
    left join licence_type_values on licence_type_values.raw_value = source.licence_type
    left join issuer_values on issuer_values.raw_value = source.issuer
    left join status_values on status_values.raw_value = source.status
),

{#- every text is screened for a personal ID number and a control character; every
    code, and the columns outside the contract, for a control character -#}
screened as (
    select
        cleaned.*,
        {{ screen_texts(['name', 'licence_type', ('valid_from', 'valid_from_text'), ('valid_to', 'valid_to_text'),
                         'issuer', 'scope', 'status', ('updated_at', 'updated_at_text'), 'licence_no'],
                        codes=['uscc'], json='_source._extra') }} as screening
    from cleaned
),

checked as (
    select
        screened.*,
        {{ collect_issues([
            issue_malformed('parse_error'),
            issue_control_character('screening.control'),
            issue_personal_id('screening.personal_id'),
            issue_required('licence_type', 'licence_type'),
            issue_required('licence_no', 'licence_no'),
            issue('uscc is null and name is null', 'missing_required',
                  "'uscc, name: a 统一社会信用代码 or an enterprise name is required, both are missing'"),
            issue_uscc('uscc'),
            issue_date('valid_from_text', 'valid_from', 'valid_from'),
            issue_date('valid_to_text', 'valid_to', 'valid_to'),
            issue_date('updated_at_text', 'updated_at', 'updated_at'),
        ]) }} as outcome
    from screened
),

final as (
    select
        {{ staged_text('uscc') }} as uscc,
        {{ staged_text('name') }} as name,
        {{ staged_text('licence_type') }} as licence_type,
        {{ staged_text('licence_no') }} as licence_no,
        valid_from,
        valid_to,
        {{ staged_text('issuer') }} as issuer,
        {{ staged_text('scope') }} as scope,
        {{ staged_text('status') }} as status,
        updated_at,
        {{ staging_columns(raw_json(columns, 'approval', relation='checked._source')) }}
    from checked
)

select * from final
