{#-
  检查对象名录库 — one row per enterprise (docs/contract.md §3), every tag with its basis.
  Same inputs + same as_of → identical rows (published sorted by enterprise_id).
-#}

with

ent as (
    -- the current registration row of every enterprise with its profile and scale tags
    -- (two views: one pass over the rows, no 10M × 10M joins)
    select * from {{ ref('int_enterprise__scale') }}
),

categories as (
    select * from {{ ref('int_enterprise__categories') }}
),

licences as (
    select
        enterprise_id,
        count(distinct case when is_valid_on_as_of then licence_no end) as licence_count,
        count(distinct licence_no) as licence_count_all
    from {{ ref('int_licence__linked') }}
    where enterprise_id is not null
    group by enterprise_id
),

credit as (
    select
        enterprise_id,
        max(case when domain = 'general' then grade end) as credit_grade,
        max(case when domain = 'general' then
            'general classification ' || grade
            || case when grade_raw <> grade then ' (raw ' || grade_raw || ')' else '' end
            || coalesce(' on ' || classified_on, ' (undated)')
            || ', ' || source_file || ' row ' || source_row
        end) as credit_grade_basis,
        count(*) as credit_row_count
    from {{ ref('int_credit__linked') }}
    where enterprise_id is not null
    group by enterprise_id
),

key_categories as (
    select {{ ordered_list('category', ['category']) }} as key_set from {{ ref('key_supervision_categories') }}
),

joined as (
    select
        ent.enterprise_id,
        ent.uscc,
        ent.reg_no,
        ent.name,
        ent.name_normalized,
        ent.entity_kind,
        ent.status,
        ent.is_active,
        ent.region_code,
        ent.industry_code,
        ent.sector,
        ent.scale,
        coalesce(categories.categories, {{ empty_text_list() }}) as categories,
        ent.carrier,
        credit.credit_grade,
        {{ list_where('coalesce(categories.categories, ' ~ empty_text_list() ~ ')', 'c', list_has('key_categories.key_set', 'c')) }}
            as key_categories,
        coalesce(licences.licence_count, 0) as licence_count,
        {%- set sources %}'registration',
             case when licences.enterprise_id is not null then 'approval' end,
             case when credit.enterprise_id is not null then 'credit_risk' end{% endset %}
        {{ sorted_present(sources, 's') }} as sources,
        -- explanations
        ent.entity_kind_basis,
        ent.is_active_basis,
        ent.sector_basis,
        ent.scale_basis,
        coalesce(categories.category_basis, 'no valid licence mapped to a category, no scope keyword') as category_basis,
        ent.carrier_basis,
        coalesce(credit.credit_grade_basis, 'no general credit-risk classification') as credit_grade_basis,
        -- extra context (more columns are welcome)
        ent.id_method,
        ent.entity_type,
        ent.status_class,
        ent.address,
        ent.industry_code_raw,
        ent.sector_name,
        ent.industry_group,
        ent.employees,
        ent.revenue,
        ent.total_assets,
        ent.online_shop,
        coalesce(licences.licence_count_all, 0) as licence_count_all,
        ent.updated_at,
        ent.version_count,
        ent.agency,
        ent.source_file,
        ent.source_row
    from ent
    left join categories using (enterprise_id)
    left join licences using (enterprise_id)
    left join credit using (enterprise_id)
    cross join key_categories
)

select
    enterprise_id,
    uscc,
    reg_no,
    name,
    name_normalized,
    entity_kind,
    status,
    is_active,
    region_code,
    industry_code,
    sector,
    scale,
    categories,
    carrier,
    credit_grade,
    {{ list_size('key_categories') }} > 0 as key_supervision,
    licence_count,
    sources,
    entity_kind_basis,
    is_active_basis,
    sector_basis,
    scale_basis,
    category_basis,
    carrier_basis,
    credit_grade_basis,
    case
        when {{ list_size('key_categories') }} > 0
            then {{ joined_text('key_categories', ', ') }} || ' in key_supervision_categories → key supervision'
        else 'no category in key_supervision_categories'
    end as key_supervision_basis,
    id_method,
    entity_type,
    status_class,
    address,
    industry_code_raw,
    sector_name,
    industry_group,
    employees,
    revenue,
    total_assets,
    online_shop,
    licence_count_all,
    updated_at,
    version_count,
    agency,
    source_file,
    source_row
from joined
