{#-
  抽查事项清单: the current version of every item, one row per (agency, item_code).

  An item list is the folder agency's own. Items carry no date of their own: the
  latest version is the later file's, then the later row's (ranked_versions,
  docs/contract.md §2).
-#}

with

ranked as (
    {{ ranked_versions(ref('stg_items'), ['agency', 'item_code'], 'null::date') }}
)

select
    agency,
    item_code,
    item_name,
    category,
    key_item,
    basis,
    method,
    sectors,
    categories,
    entity_kinds,
    carrier,
    coalesce(key_supervision_only, false) as key_supervision_only,
    version_count,
    {{ version_lineage() }}
from ranked
where version_rank = 1
