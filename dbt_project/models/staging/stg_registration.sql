{#- 登记: every raw row, typed, with the row rules' verdict (docs/architecture.md). -#}
{%- set columns = ['uscc', 'reg_no', 'name', 'entity_type', 'legal_rep', 'reg_capital', 'established_on',
                   'status', 'address', 'region_code', 'authority', 'industry_code', 'business_scope',
                   'employees', 'revenue', 'total_assets', 'online_shop', 'updated_at'] -%}

with

source as (
    {{ ingested_rows('registration') }}
),

sector_divisions as (
    select map(list(division order by division), list(sector order by division)) as division_map
    from {{ ref('sector_divisions') }}
),

status_words as (
    select list({'word': word, 'status_class': status_class} order by priority, word) as words
    from {{ ref('status_words') }}
),

cleaned as (
    select
        {{ staging_lineage() }},
        {{ clean_code('source.uscc') }} as uscc,
        {{ clean_code('source.reg_no') }} as reg_no,
        {{ clean_text('source.name') }} as name,
        {{ clean_text('source.entity_type') }} as entity_type,
        {{ clean_text('source.legal_rep') }} as legal_rep,
        {{ clean_text('source.reg_capital') }} as reg_capital_text,
        {{ clean_text('source.established_on') }} as established_on_text,
        {{ clean_text('source.status') }} as status,
        {{ clean_text('source.address') }} as address,
        {{ clean_code('source.region_code') }} as region_code,
        {{ clean_text('source.authority') }} as authority,
        {{ clean_text('source.industry_code') }} as industry_code_raw,
        {{ clean_text('source.business_scope') }} as business_scope,
        {{ clean_text('source.employees') }} as employees_text,
        {{ clean_text('source.revenue') }} as revenue_text,
        {{ clean_text('source.total_assets') }} as total_assets_text,
        {{ clean_text('source.online_shop') }} as online_shop_text,
        {{ clean_text('source.updated_at') }} as updated_at_text,
        try_cast(source._extra as json) as extra
    from source
),

typed as (
    select
        cleaned.*,
        {{ uscc_is_valid('uscc') }} as uscc_valid,
        {{ reg_no_is_valid('reg_no') }} as reg_no_valid,
        {{ parse_money('reg_capital_text', cleaned=true) }} as reg_capital,
        {{ parse_date('established_on_text', cleaned=true) }} as established_on,
        list_transform(
            [list_filter(status_words.words, lambda _w: contains(cleaned.status, _w.word))],
            lambda _m: case when len(_m) > 0 then _m[1].status_class end
        )[1] as status_class,
        {{ normalize_industry_code('industry_code_raw', 'sector_divisions.division_map') }} as industry_code,
        {{ parse_int('employees_text', cleaned=true) }} as employees,
        {{ parse_money('revenue_text', cleaned=true) }} as revenue,
        {{ parse_money('total_assets_text', cleaned=true) }} as total_assets,
        {{ parse_bool('online_shop_text', cleaned=true) }} as online_shop,
        {{ parse_date('updated_at_text', cleaned=true) }} as updated_at
    from cleaned
    cross join sector_divisions
    cross join status_words
),

checked as (
    select
        typed.*,
        {{ collect_issues([
            issue_malformed('parse_error'),
            issue_required('name', 'name'),
            issue('uscc is null and reg_no is null', 'missing_required',
                  "'uscc, reg_no: a 统一社会信用代码 or a 注册号 is required, both are missing'"),
            issue_uscc('uscc', valid='uscc_valid'),
            issue_reg_no('reg_no', valid='reg_no_valid'),
            issue_money('reg_capital_text', 'reg_capital', 'reg_capital'),
            issue_date('established_on_text', 'established_on', 'established_on'),
            issue_int('employees_text', 'employees', 'employees'),
            issue_money('revenue_text', 'revenue', 'revenue'),
            issue_money('total_assets_text', 'total_assets', 'total_assets'),
            issue_bool('online_shop_text', 'online_shop', 'online_shop'),
            issue_date('updated_at_text', 'updated_at', 'updated_at'),
        ]) }} as outcome
    from typed
),

final as (
    select
        uscc,
        reg_no,
        name,
        entity_type,
        legal_rep,
        reg_capital,
        established_on,
        status,
        status_class,
        address,
        region_code,
        authority,
        industry_code_raw,
        industry_code,
        business_scope,
        employees,
        revenue,
        total_assets,
        online_shop,
        updated_at,
        case when uscc_valid then uscc when reg_no_valid then 'R' || reg_no end as enterprise_key,
        {{ staging_columns(raw_json(columns, relation='checked._source')) }}
    from checked
)

select * from final
