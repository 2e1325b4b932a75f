{#-
  Long-form tags (the start of the precise index from inspection items to objects):
  one row per (enterprise, tag, value, source). `rule` names the rule (seed and row,
  or the model's rule) and `basis` the concrete comparison/evidence; `source` is the
  feed and record that produced it ('<feed>:<source_file>#<row>').
-#}

with

pool as (
    select * from {{ ref('enterprise_pool') }}
),

reg_source as (
    select enterprise_id, 'registration:' || source_file || '#' || source_row as source
    from pool
),

single_valued as (
    select p.enterprise_id, 'sector' as tag, p.sector as value, 'sector_divisions' as rule, p.sector_basis as basis, r.source
    from pool p join reg_source r using (enterprise_id) where p.sector is not null
    union all
    select p.enterprise_id, 'scale', p.scale, 'scale_thresholds:' || coalesce(p.industry_group, 'none'), p.scale_basis, r.source
    from pool p join reg_source r using (enterprise_id)
    union all
    select p.enterprise_id, 'carrier', p.carrier, 'scope_keywords:carrier + online_shop + address', p.carrier_basis, r.source
    from pool p join reg_source r using (enterprise_id)
    union all
    select p.enterprise_id, 'entity_kind', p.entity_kind, 'entity_kinds', p.entity_kind_basis, r.source
    from pool p join reg_source r using (enterprise_id)
    union all
    select p.enterprise_id, 'is_active', cast(p.is_active as varchar), 'status_words', p.is_active_basis, r.source
    from pool p join reg_source r using (enterprise_id)
    union all
    select p.enterprise_id, 'key_supervision', cast(p.key_supervision as varchar), 'key_supervision_categories',
        p.key_supervision_basis, r.source
    from pool p join reg_source r using (enterprise_id)
),

credit as (
    select
        enterprise_id,
        case when domain = 'general' then 'credit_grade' else 'credit_grade:' || domain end as tag,
        grade as value,
        'latest classification per (uscc, domain)' as rule,
        'classification ' || grade || coalesce(' on ' || classified_on, ' (undated)') as basis,
        'credit_risk:' || source_file || '#' || source_row as source
    from {{ ref('enterprise_credit_grades') }}
),

categories as (
    select
        enterprise_id,
        'category' as tag,
        category as value,
        rule,
        evidence as basis,
        source || ':' || source_file || '#' || source_row as source
    from {{ ref('int_enterprise__category_evidence') }}
)

select * from (
    select * from single_valued
    union all
    select * from credit
    union all
    select * from categories
)
