{#
  The tags enterprise_pool decides, as rows of enterprise_tags: one row per enterprise
  and tag (sector only where known), `source` its registration row.

  One definition, two users, like value_rules.sql (plain Jinja only: no ref/var):
    * models/marts/enterprise_tags.sql, over ref('enterprise_pool');
    * publishing (pipelines/defs/publish/parquet.py, IN_ORDER_FROM), over the pool's
      published file, whose rows are in enterprise_id order: these tags, one row per
      enterprise each, are written in their published order as they are read, not
      sorted again (10M enterprises: six sorts of 9.8M rows).
  `pool` is the relation (an SQL expression) to read the pool's rows from.
#}
{% macro pool_tag_rows(pool) -%}
{#- a text's type: Spark's name on Spark (plain Jinja has no `target`) -#}
{%- set text = 'string' if target is defined and target.type != 'duckdb' else 'varchar' -%}
select enterprise_id, 'sector' as tag, sector as value, 'sector_divisions' as rule, sector_basis as basis,
    'registration:' || source_file || '#' || source_row as source
from {{ pool }} where sector is not null
union all
select enterprise_id, 'scale', scale, 'scale_thresholds:' || coalesce(industry_group, 'none'), scale_basis,
    'registration:' || source_file || '#' || source_row
from {{ pool }}
union all
select enterprise_id, 'carrier', carrier, 'scope_keywords:carrier + online_shop + address', carrier_basis,
    'registration:' || source_file || '#' || source_row
from {{ pool }}
union all
select enterprise_id, 'entity_kind', entity_kind, 'entity_kinds', entity_kind_basis,
    'registration:' || source_file || '#' || source_row
from {{ pool }}
union all
select enterprise_id, 'is_active', cast(is_active as {{ text }}), 'status_words', is_active_basis,
    'registration:' || source_file || '#' || source_row
from {{ pool }}
union all
select enterprise_id, 'key_supervision', cast(key_supervision as {{ text }}), 'key_supervision_categories',
    key_supervision_basis, 'registration:' || source_file || '#' || source_row
from {{ pool }}
{%- endmacro %}
