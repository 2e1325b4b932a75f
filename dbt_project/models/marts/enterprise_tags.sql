{#-
  Long-form tags (the start of the precise index from inspection items to objects):
  one row per (enterprise, tag, value, source). `rule` names the rule (seed and row,
  or the model's rule) and `basis` the concrete comparison/evidence; `source` is the
  feed and record that produced it ('<feed>:<source_file>#<row>').

  A view: every row is a projection of enterprise_pool, enterprise_credit_grades or
  int_enterprise__category_evidence, so storing 72.6M rows (10M enterprises) again
  only copied them. Publishing reads the view range by range, as fast as the stored
  table (the same bytes), and its six pool tags from the pool's published file, already
  in their order (macros/pool_tag_rows.sql); readers of the warehouse query it like a table.
-#}

{{ config(materialized='view') }}

with

single_valued as (
    -- sector, scale, carrier, entity_kind, is_active, key_supervision (macros/pool_tag_rows.sql)
    {{ pool_tag_rows(ref('enterprise_pool')) }}
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
