{#- 行政审批/许可: every raw row, typed, with the row rules' verdict. -#}
{%- set columns = ['uscc', 'name', 'licence_type', 'licence_no', 'valid_from', 'valid_to', 'issuer', 'scope',
                   'status', 'updated_at'] -%}

with

source as (
    {{ ingested_rows('approval') }}
),

cleaned as (
    select
        {{ staging_lineage() }},
        {{ clean_code('source.uscc') }} as uscc,
        {{ clean_text('source.name') }} as name,
        {{ clean_text('source.licence_type') }} as licence_type,
        {{ clean_key('source.licence_no') }} as licence_no,
        {{ clean_text('source.valid_from') }} as valid_from_text,
        {{ clean_text('source.valid_to') }} as valid_to_text,
        {{ clean_text('source.issuer') }} as issuer,
        {{ clean_text('source.scope') }} as scope,
        {{ clean_text('source.status') }} as status,
        {{ clean_text('source.updated_at') }} as updated_at_text,
        try_cast(source._extra as json) as extra
    from source
),

typed as (
    select
        cleaned.*,
        {{ parse_date('valid_from_text', cleaned=true) }} as valid_from,
        -- 长期/长期有效 (no expiry) → 9999-12-31
        {{ parse_date('valid_to_text', open_ended=true, cleaned=true) }} as valid_to,
        {{ parse_date('updated_at_text', cleaned=true) }} as updated_at
    from cleaned
),

checked as (
    select
        typed.*,
        {{ collect_issues([
            issue_malformed('parse_error'),
            issue_required('licence_type', 'licence_type'),
            issue_required('licence_no', 'licence_no'),
            issue('uscc is null and name is null', 'missing_required',
                  "'uscc, name: a 统一社会信用代码 or an enterprise name is required, both are missing'"),
            issue_uscc('uscc'),
            issue_date('valid_from_text', 'valid_from', 'valid_from'),
            issue_date('valid_to_text', 'valid_to', 'valid_to'),
            issue_date('updated_at_text', 'updated_at', 'updated_at'),
        ]) }} as outcome
    from typed
),

final as (
    select
        uscc,
        name,
        licence_type,
        licence_no,
        valid_from,
        valid_to,
        issuer,
        scope,
        status,
        updated_at,
        {{ staging_columns(raw_json(columns, relation='checked._source')) }}
    from checked
)

select * from final
