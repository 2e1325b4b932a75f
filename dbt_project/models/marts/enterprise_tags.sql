{#-
  Long-form tags (the start of the precise index from inspection items to objects):
  one row per (enterprise, tag, value, source). `rule` names the rule (seed and row,
  or the model's rule) and `basis` the concrete comparison/evidence; `source` is the
  feed and record that produced it ('<feed>:<source_file>#<row>').

  A view: every row is a projection of enterprise_pool, enterprise_credit_grades or
  int_enterprise__category_evidence, so storing 72.6M rows (10M enterprises) again
  only copied them. Publishing reads the view range by range, as fast as the stored
  table (the same bytes), and readers of the warehouse query it like a table.
-#}

{{ config(materialized='view') }}

with

pool as (
    select *, 'registration:' || source_file || '#' || source_row as source
    from {{ ref('enterprise_pool') }}
),

single_valued as (
    select enterprise_id, 'sector' as tag, sector as value, 'sector_divisions' as rule, sector_basis as basis, source
    from pool where sector is not null
    union all
    select enterprise_id, 'scale', scale, 'scale_thresholds:' || coalesce(industry_group, 'none'), scale_basis, source
    from pool
    union all
    select enterprise_id, 'carrier', carrier, 'scope_keywords:carrier + online_shop + address', carrier_basis, source
    from pool
    union all
    select enterprise_id, 'entity_kind', entity_kind, 'entity_kinds', entity_kind_basis, source
    from pool
    union all
    select enterprise_id, 'is_active', cast(is_active as varchar), 'status_words', is_active_basis, source
    from pool
    union all
    select enterprise_id, 'key_supervision', cast(key_supervision as varchar), 'key_supervision_categories',
        key_supervision_basis, source
    from pool
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
