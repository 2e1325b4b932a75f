{#- 执法检查人员: every raw row, typed. The full 身份证号 never leaves this model's
    input: only id_no_masked comes out (mask_personal_value, first 4 + last 4), and
    `raw` (id_no is a personal column: masked whole), `extra` and `reason` carry
    masked numbers only. -#}
{%- set columns = ['cert_no', 'name', 'id_no', 'agency_name', 'unit', 'region_code', 'qualifications',
                   'specialties', 'cert_valid_to', 'status', 'updated_at'] -%}

with

source as (
    {{ ingested_rows('inspectors') }}
),

cleaned as (
    select
        {{ staging_lineage() }},
        {{ clean_key('source.cert_no') }} as cert_no,
        {{ clean_text('source.name') }} as name,
        {{ clean_code('source.id_no') }} as id_no,
        {{ clean_text('source.agency_name') }} as agency_name,
        {{ clean_text('source.unit') }} as unit,
        {{ clean_code('source.region_code') }} as region_code,
        {{ split_list('source.qualifications') }} as qualifications_raw,
        {{ split_list('source.specialties') }} as specialties_raw,
        {{ clean_text('source.cert_valid_to') }} as cert_valid_to_text,
        {{ clean_text('source.status') }} as status,
        {{ clean_text('source.updated_at') }} as updated_at_text,
        {{ extra_json('inspectors') }} as extra
    from source
),

typed as (
    select
        cleaned.*,
        mask_personal_value(id_no) as id_no_masked,
        -- 长期/长期有效 (no expiry) → 9999-12-31
        {{ parse_date('cert_valid_to_text', open_ended=true, cleaned=true) }} as cert_valid_to,
        {{ parse_date('updated_at_text', cleaned=true) }} as updated_at
    from cleaned
),

{#- every text is screened for a personal ID number and a control character; every
    code, and the columns outside the contract, for a control character -#}
screened as (
    select
        typed.*,
        {{ screen_texts(['name', 'agency_name', 'unit',
                         ('qualifications', "array_to_string(qualifications_raw, chr(10))"),
                         ('specialties', "array_to_string(specialties_raw, chr(10))"),
                         ('cert_valid_to', 'cert_valid_to_text'), 'status', ('updated_at', 'updated_at_text'), 'cert_no'],
                        codes=['id_no', 'region_code'], json='_source._extra') }} as screening
    from typed
),

checked as (
    select
        screened.*,
        {{ collect_issues([
            issue_malformed('parse_error'),
            issue_control_character('screening.control'),
            issue_personal_id('screening.personal_id'),
            issue_required('cert_no', 'cert_no'),
            issue_required('name', 'name'),
            issue_required('agency_name', 'agency_name'),
            issue_id_no('id_no'),
            issue_date('cert_valid_to_text', 'cert_valid_to', 'cert_valid_to'),
            issue_date('updated_at_text', 'updated_at', 'updated_at'),
        ]) }} as outcome
    from screened
),

final as (
    select
        {{ staged_text('cert_no') }} as cert_no,
        {{ staged_text('name') }} as name,
        id_no_masked,
        {{ staged_text('agency_name') }} as agency_name,
        {{ staged_text('unit') }} as unit,
        {{ staged_text('region_code') }} as region_code,
        {{ staged_text('qualifications_raw', list=true) }} as qualifications_raw,
        {{ staged_text('specialties_raw', list=true) }} as specialties_raw,
        cert_valid_to,
        {{ staged_text('status') }} as status,
        updated_at,
        {{ staging_columns(raw_json(columns, 'inspectors', relation='checked._source')) }}
    from checked
)

select * from final
