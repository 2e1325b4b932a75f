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

{#- columns of few distinct values: cleaned (and parsed) once per value (parsed_per_value) -#}
reg_capital_values as (
    {{ parsed_per_value('registration', 'reg_capital', 'reg_capital_text', parse_money('reg_capital_text', cleaned=true), 'reg_capital') }}
),

established_on_values as (
    {{ parsed_per_value('registration', 'established_on', 'established_on_text', parse_date('established_on_text', cleaned=true), 'established_on') }}
),

updated_at_values as (
    {{ parsed_per_value('registration', 'updated_at', 'updated_at_text', parse_date('updated_at_text', cleaned=true), 'updated_at') }}
),

status_values as (
    -- the class of the first status word (by priority) the status contains
    {{ parsed_per_value('registration', 'status', 'status', "list_transform(
            [list_filter(status_words.words, lambda _w: contains(status, _w.word))],
            lambda _m: case when len(_m) > 0 then _m[1].status_class end
        )[1]", 'status_class', also='cross join status_words') }}
),

employees_values as (
    {{ parsed_per_value('registration', 'employees', 'employees_text', parse_int('employees_text', cleaned=true), 'employees') }}
),

online_shop_values as (
    {{ parsed_per_value('registration', 'online_shop', 'online_shop_text', parse_bool('online_shop_text', cleaned=true), 'online_shop') }}
),

entity_type_values as (
    {{ parsed_per_value('registration', 'entity_type', 'entity_type') }}
),

authority_values as (
    {{ parsed_per_value('registration', 'authority', 'authority') }}
),

region_code_values as (
    {{ parsed_per_value('registration', 'region_code', 'region_code', cleaner='clean_code') }}
),

industry_code_values as (
    {{ parsed_per_value('registration', 'industry_code', 'industry_code_raw',
                        normalize_industry_code('industry_code_raw', 'sector_divisions.division_map'), 'industry_code',
                        also='cross join sector_divisions') }}
),

cleaned as (
    select
        {{ staging_lineage() }},
        {{ clean_code('source.uscc') }} as uscc,
        {{ clean_code('source.reg_no') }} as reg_no,
        {{ clean_text('source.name') }} as name,
        entity_type_values.entity_type,
        {{ clean_text('source.legal_rep') }} as legal_rep,
        reg_capital_values.reg_capital_text,
        reg_capital_values.reg_capital,
        established_on_values.established_on_text,
        established_on_values.established_on,
        status_values.status,
        status_values.status_class,
        {{ clean_text('source.address') }} as address,
        region_code_values.region_code,
        authority_values.authority,
        industry_code_values.industry_code_raw,
        industry_code_values.industry_code,
        {{ clean_text('source.business_scope') }} as business_scope,
        employees_values.employees_text,
        employees_values.employees,
        {{ clean_text('source.revenue') }} as revenue_text,
        {{ clean_text('source.total_assets') }} as total_assets_text,
        online_shop_values.online_shop_text,
        online_shop_values.online_shop,
        updated_at_values.updated_at_text,
        updated_at_values.updated_at,
        {{ extra_json('registration') }} as extra
    from source
    left join reg_capital_values on reg_capital_values.raw_value = source.reg_capital
    left join established_on_values on established_on_values.raw_value = source.established_on
    left join updated_at_values on updated_at_values.raw_value = source.updated_at
    left join status_values on status_values.raw_value = source.status
    left join employees_values on employees_values.raw_value = source.employees
    left join online_shop_values on online_shop_values.raw_value = source.online_shop
    left join industry_code_values on industry_code_values.raw_value = source.industry_code
    left join entity_type_values on entity_type_values.raw_value = source.entity_type
    left join authority_values on authority_values.raw_value = source.authority
    left join region_code_values on region_code_values.raw_value = source.region_code
),

typed as (
    select
        cleaned.*,
        {{ uscc_is_valid('uscc') }} as uscc_valid,
        {{ reg_no_is_valid('reg_no') }} as reg_no_valid,
        {{ parse_money('revenue_text', cleaned=true) }} as revenue,
        {{ parse_money('total_assets_text', cleaned=true) }} as total_assets
    from cleaned
),

{#- every text is screened for a personal ID number and a control character; every
    code, and the columns outside the contract, for a control character -#}
screened as (
    select
        typed.*,
        {{ screen_texts(['name', 'entity_type', 'legal_rep', ('reg_capital', 'reg_capital_text'),
                         ('established_on', 'established_on_text'), 'status', 'address', 'authority',
                         'business_scope', ('employees', 'employees_text'), ('revenue', 'revenue_text'),
                         ('total_assets', 'total_assets_text'), ('online_shop', 'online_shop_text'),
                         ('updated_at', 'updated_at_text')],
                        codes=['uscc', 'reg_no', 'region_code', ('industry_code', 'industry_code_raw')], json='_source._extra') }} as screening
    from typed
),

checked as (
    select
        screened.*,
        {{ collect_issues([
            issue_malformed('parse_error'),
            issue_control_character('screening.control'),
            issue_personal_id('screening.personal_id'),
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
    from screened
),

final as (
    select
        {{ staged_text('uscc') }} as uscc,
        {{ staged_text('reg_no') }} as reg_no,
        {{ staged_text('name') }} as name,
        {{ staged_text('entity_type') }} as entity_type,
        {{ staged_text('legal_rep') }} as legal_rep,
        reg_capital,
        established_on,
        {{ staged_text('status') }} as status,
        status_class,
        {{ staged_text('address') }} as address,
        {{ staged_text('region_code') }} as region_code,
        {{ staged_text('authority') }} as authority,
        {{ staged_text('industry_code_raw') }} as industry_code_raw,
        industry_code,
        {{ staged_text('business_scope') }} as business_scope,
        employees,
        revenue,
        total_assets,
        online_shop,
        updated_at,
        case when uscc_valid then uscc when reg_no_valid then 'R' || reg_no end as enterprise_key,
        {{ staging_columns(raw_json(columns, 'registration', relation='checked._source')) }}
    from checked
)

select * from final
