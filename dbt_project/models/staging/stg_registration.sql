{#- 登记: every raw row, typed, with the row rules' verdict (docs/architecture.md). -#}
{%- set columns = ['uscc', 'reg_no', 'name', 'entity_type', 'legal_rep', 'reg_capital', 'established_on',
                   'status', 'address', 'region_code', 'authority', 'industry_code', 'business_scope',
                   'employees', 'revenue', 'total_assets', 'online_shop', 'updated_at'] -%}

with

source as (
    {{ ingested_rows('registration') }}
),

sector_divisions as (
    {{ sector_division_map() }}
),

status_words as (
    select {{ ordered_structs([('word', 'word'), ('status_class', 'status_class')], ['priority', 'word']) }} as words
    from {{ ref('status_words') }}
),

{#- columns of few distinct values: cleaned (and parsed) once per value (parsed_per_value);
    a status's class is that of the first status word (by priority) it contains -#}
{%- set per_value = [
    ('reg_capital', 'reg_capital_text', parse_money('reg_capital_text', cleaned=true), 'reg_capital'),
    ('established_on', 'established_on_text', parse_date('established_on_text', cleaned=true), 'established_on'),
    ('updated_at', 'updated_at_text', parse_date('updated_at_text', cleaned=true), 'updated_at'),
    ('status', 'status', first_word_class('status', 'status_words.words'), 'status_class',
     {'also': 'cross join status_words'}),
    ('employees', 'employees_text', parse_int('employees_text', cleaned=true), 'employees'),
    ('online_shop', 'online_shop_text', parse_bool('online_shop_text', cleaned=true), 'online_shop'),
    ('industry_code', 'industry_code_raw',
     normalize_industry_code('industry_code_raw', 'sector_divisions.division_map'), 'industry_code',
     {'also': 'cross join sector_divisions'}),
    ('entity_type', 'entity_type'),
    ('authority', 'authority'),
    ('region_code', 'region_code', {'cleaner': 'clean_code'}),
] %}
{{ values_per_value('registration', per_value) }},

cleaned as (
    select
        {{ cleaned_columns('registration', [
            ('uscc', 'code'), ('reg_no', 'code'), ('name', 'text'), 'entity_type_values.entity_type', ('legal_rep', 'text'),
            'reg_capital_values.reg_capital_text', 'reg_capital_values.reg_capital',
            'established_on_values.established_on_text', 'established_on_values.established_on',
            'status_values.status', 'status_values.status_class', ('address', 'text'), 'region_code_values.region_code',
            'authority_values.authority', 'industry_code_values.industry_code_raw', 'industry_code_values.industry_code',
            ('business_scope', 'text'), 'employees_values.employees_text', 'employees_values.employees',
            ('revenue', 'text', 'revenue_text'), ('total_assets', 'text', 'total_assets_text'),
            'online_shop_values.online_shop_text', 'online_shop_values.online_shop',
            'updated_at_values.updated_at_text', 'updated_at_values.updated_at',
        ]) }}
    from source
    {{- per_value_joins(per_value) }}
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

{{ screened_and_checked('typed',
    texts=['name', 'entity_type', 'legal_rep', ('reg_capital', 'reg_capital_text'),
           ('established_on', 'established_on_text'), 'status', 'address', 'authority',
           'business_scope', ('employees', 'employees_text'), ('revenue', 'revenue_text'),
           ('total_assets', 'total_assets_text'), ('online_shop', 'online_shop_text'),
           ('updated_at', 'updated_at_text')],
    codes=['uscc', 'reg_no', 'region_code', ('industry_code', 'industry_code_raw')],
    issues=[
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
    ]) }},

final as (
    select
        {{ staged_texts(['uscc', 'reg_no', 'name', 'entity_type', 'legal_rep']) }},
        reg_capital,
        established_on,
        {{ staged_texts(['status']) }},
        status_class,
        {{ staged_texts(['address', 'region_code', 'authority', 'industry_code_raw']) }},
        industry_code,
        {{ staged_texts(['business_scope']) }},
        employees,
        revenue,
        total_assets,
        online_shop,
        updated_at,
        case when uscc_valid then uscc when reg_no_valid then 'R' || reg_no end as enterprise_key,
        {{ staging_columns('registration', columns) }}
    from checked
)

select * from final
