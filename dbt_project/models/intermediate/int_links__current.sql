{#-
  The links in force: the current version of every link key (target_feed, agency,
  source_key, normalized name; docs/contract.md §9) among the accepted rows
  (int_links__checked: a link to an enterprise the pool does not hold never counts,
  and a later such row leaves the earlier decision in force). Latest by decided_on
  (undated last), then the later file and row (macros/staging_helpers.sql latest_first).

  `agency` here is the agency whose rows the link decides (the file's agency column);
  `steward_agency` the folder the steward dropped it in.

  Read by int_draw__resolved (target_feed draw_list: the rows of task source_key) and
  int_licence__linked (approval: licence source_key), which put the link before every
  automatic rule, and by match_review (a link that names no current row: stale_link).
-#}

with

ranked as (
    select
        *,
        count(*) over (partition by target_feed, target_agency, source_key, name_normalized) as version_count,
        row_number() over (
            partition by target_feed, target_agency, source_key, name_normalized
            order by {{ latest_first('decided_on') }}
        ) as version_rank
    from {{ ref('int_links__checked') }}
    where is_accepted
)

select
    target_feed,
    target_agency as agency,
    source_key,
    name,
    name_normalized,
    uscc,
    enterprise_id,
    decided_by,
    decided_on,
    note,
    version_count,
    agency as steward_agency,
    {{ version_lineage() }}
from ranked
where version_rank = 1
