{#- 执法检查人员: every raw row, typed. The full 身份证号 never leaves this model's
    input: only id_no_masked and a salted hash (SSJ_ID_SALT) come out, and
    `raw`, `extra` and `reason` carry masked numbers only. -#}
{%- set columns = ['cert_no', 'name', 'id_no', 'agency_name', 'unit', 'region_code', 'qualifications',
                   'specialties', 'cert_valid_to', 'status', 'updated_at'] -%}
{%- set salt = "'" ~ env_var('SSJ_ID_SALT', 'shuangsuiji') | replace("'", "''") ~ "'" -%}

{#- `raw` of a rejected row: its 身份证号 masked, and any valid one in another column too. -#}
{%- set raw = mask_id_numbers_in_text(raw_json(columns, relation='checked._source',
        overrides={'id_no': mask_id(clean_code('checked._source.id_no'))}) ~ '::varchar') ~ '::json' %}

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
        try_cast({{ mask_id_numbers_in_text('source._extra') }} as json) as extra
    from source
),

typed as (
    select
        cleaned.*,
        {{ mask_id('id_no') }} as id_no_masked,
        {{ hash_id('id_no', salt) }} as id_no_hash,
        -- 长期/长期有效 (no expiry) → 9999-12-31
        {{ parse_date('cert_valid_to_text', open_ended=true, cleaned=true) }} as cert_valid_to,
        {{ parse_date('updated_at_text', cleaned=true) }} as updated_at
    from cleaned
),

checked as (
    select
        typed.*,
        {{ collect_issues([
            issue_malformed(mask_id_numbers_in_text('parse_error')),
            issue_required('cert_no', 'cert_no'),
            issue_required('name', 'name'),
            issue_required('agency_name', 'agency_name'),
            issue_id_no('id_no'),
            issue_date('cert_valid_to_text', 'cert_valid_to', 'cert_valid_to'),
            issue_date('updated_at_text', 'updated_at', 'updated_at'),
        ]) }} as outcome
    from typed
),

final as (
    select
        cert_no,
        name,
        id_no_masked,
        id_no_hash,
        agency_name,
        unit,
        region_code,
        qualifications_raw,
        specialties_raw,
        cert_valid_to,
        status,
        updated_at,
        {{ staging_columns(raw) }}
    from checked
)

select * from final
