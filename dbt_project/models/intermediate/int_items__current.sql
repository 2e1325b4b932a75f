{#-
  抽查事项清单: the current version of every item, one row per (agency, item_code).

  The agency is the folder's (an agency drops only its own items). Latest version
  wins (docs/contract.md §2): items carry no date of their own, so the later file
  (file_mtime), then source_file, then source_row.
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
    source_file,
    file_sha256,
    source_row,
    file_mtime
from ranked
where version_rank = 1
