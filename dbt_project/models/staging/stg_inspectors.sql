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
        {{ cleaned_columns('inspectors', [
            ('cert_no', 'key'), ('name', 'text'), ('id_no', 'code'), ('agency_name', 'text'), ('unit', 'text'),
            ('region_code', 'code'), ('qualifications', 'list', 'qualifications_raw'),
            ('specialties', 'list', 'specialties_raw'), ('cert_valid_to', 'text', 'cert_valid_to_text'),
            ('status', 'text'), ('updated_at', 'text', 'updated_at_text'),
        ]) }}
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

{{ screened_and_checked('typed',
    texts=['name', 'agency_name', 'unit',
           ('qualifications', "array_to_string(qualifications_raw, chr(10))"),
           ('specialties', "array_to_string(specialties_raw, chr(10))"),
           ('cert_valid_to', 'cert_valid_to_text'), 'status', ('updated_at', 'updated_at_text'), 'cert_no'],
    codes=['id_no', 'region_code'],
    issues=[
        issue_required('cert_no', 'cert_no'),
        issue_required('name', 'name'),
        issue_required('agency_name', 'agency_name'),
        issue_id_no('id_no'),
        issue_date('cert_valid_to_text', 'cert_valid_to', 'cert_valid_to'),
        issue_date('updated_at_text', 'updated_at', 'updated_at'),
    ]) }},

final as (
    select
        {{ staged_texts(['cert_no', 'name']) }},
        id_no_masked,
        {{ staged_texts(['agency_name', 'unit', 'region_code']) }},
        {{ staged_texts(['qualifications_raw', 'specialties_raw'], list=true) }},
        cert_valid_to,
        {{ staged_texts(['status']) }},
        updated_at,
        {{ staging_columns('inspectors', columns) }}
    from checked
)

select * from final
