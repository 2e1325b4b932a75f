{#-
  publicity (docs/contract.md §7): the 公示 export — one row per current result, as an
  office uploads it to the 国家企业信用信息公示系统: who was inspected, by which
  agency, for which task and items, what was found (the category in the policy's
  Chinese), when, and until when it stays published (publish_until, the repair rule of
  inspection_results; NULL = no end yet). Nothing internal: no credit grade, match
  method, inspector or file lineage.

  A view: a projection of inspection_results (the agency's name included), read when it
  is published. It reads that table alone, never the raw store, so a reader of the
  warehouse needs none of the run's DuckDB variables.
-#}

{{ config(materialized='view') }}

select
    results.enterprise_id,
    results.uscc,
    results.name,
    results.agency,
    results.agency_name,
    results.task_id,
    results.task_name,
    results.items,
    results.result,
    results.inspected_on,
    results.rectified_on,
    results.publish_until
from {{ ref('inspection_results') }} as results
