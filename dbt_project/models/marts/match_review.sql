{#-
  match_review — a data steward's work queue (docs/contract.md §9, docs/matching.md "The
  steward's loop"): one row per draw-list or licence row that needs a person, and one per
  link that no longer names any row.

  Rows, keyed like a links row (feed, agency, source_key, name) and the USCC as written:
    * draw_list — the current draw-list rows (int_draw__resolved) with a review flag:
      not_in_pool, ambiguous_name, name_mismatch, address_mismatch, out_of_region. The
      rows of one task that carry the same normalized name and USCC are one row (a
      link decides them together); `name` is the first as written.
    * approval — the current licences (int_licence__linked) left unlinked (link_method
      none → not_in_pool, ambiguous → ambiguous_name) or linked with a review flag.
    * a row a steward's link decided (match_method steward) is not in the queue: the
      decision is on record (flag steward_link), out_of_region or not.
    * stale_link — a link in force (int_links__current) that names no current row
      (macros/links.sql): the task's or licence's latest version no longer carries that
      name (and USCC), or the row's USCC contradicts the decision. It decides nothing until
      a row fits it again; the steward withdraws or rewrites it.

  reasons: the sorted review flags. candidates: the enterprises a steward chooses from
  (sorted by enterprise_id, at most 20), each {enterprise_id, name, address, why}:
    'resolved by <method>'              the enterprise the row resolved to;
    'carries the name'                  the pool's current name is the row's (normalized);
    'carries the name and the address'  … and its address is the row's (normalized);
    'carried the name'                  an earlier registration version carried it;
    'decided by the link'               a stale link's enterprise.
  An enterprise that is several of these shows the first. Name candidates are listed
  whatever their USCC (matching leaves out those whose USCC differs from the row's: a
  name_mismatch row shows the enterprise its name belongs to).
-#}

{%- set review_flags = ['not_in_pool', 'ambiguous_name', 'name_mismatch', 'address_mismatch', 'out_of_region'] %}

with

draw_rows as (
    select
        'draw_list' as feed,
        agency,
        task_id as source_key,
        name,
        name_normalized,
        uscc,
        address,
        address_normalized,
        enterprise_id,
        match_method,
        list_filter(flags, lambda f: f in ({{ "'" ~ review_flags | join("', '") ~ "'" }})) as reasons,
        source_file,
        source_row
    from {{ ref('int_draw__resolved') }}
    where match_method <> 'steward'
      and len(list_filter(flags, lambda f: f in ({{ "'" ~ review_flags | join("', '") ~ "'" }}))) > 0
),

licence_rows as (
    select
        'approval' as feed,
        agency,
        licence_no as source_key,
        name,
        name_normalized,
        uscc,
        address,
        address_normalized,
        enterprise_id,
        link_method as match_method,
        list_sort(list_filter(
            list_concat(
                [case link_method when 'none' then 'not_in_pool' when 'ambiguous' then 'ambiguous_name' end],
                link_flags),
            lambda f: f in ({{ "'" ~ review_flags | join("', '") ~ "'" }}))) as reasons,
        source_file,
        source_row
    from {{ ref('int_licence__linked') }}
    where link_method <> 'steward'
      and (link_method in ('none', 'ambiguous')
           or len(list_filter(link_flags, lambda f: f in ({{ "'" ~ review_flags | join("', '") ~ "'" }}))) > 0)
),

stale_links as (
    select
        links.target_feed as feed,
        links.agency,
        links.source_key,
        links.name,
        links.name_normalized,
        links.uscc,
        null::varchar as address,
        null::varchar as address_normalized,
        links.enterprise_id,
        'steward' as match_method,
        ['stale_link'] as reasons,
        links.source_file,
        links.source_row
    from {{ ref('int_links__current') }} as links
    where not exists (
            select 1 from {{ ref('int_draw__current') }} as draws
            where links.target_feed = 'draw_list' and {{ link_names_row('links', 'draws', 'task_id') }})
      and not exists (
            select 1 from {{ ref('int_licence__current') }} as lic
            where links.target_feed = 'approval' and {{ link_names_row('links', 'lic', 'licence_no') }})
),

review as (
    select * from draw_rows
    union all
    select * from licence_rows
    union all
    select * from stale_links
),

-- the candidates, with the order of their `why` (the first one an enterprise is shown with)
candidate_ids as (
    select review.feed, review.agency, review.source_key, review.name_normalized, review.uscc,
           review.enterprise_id,
           case when review.match_method = 'steward' then 'decided by the link'
                else 'resolved by ' || review.match_method end as why,
           1 as rank
    from review
    where review.enterprise_id is not null

    union all

    select review.feed, review.agency, review.source_key, review.name_normalized, review.uscc,
           pool.enterprise_id,
           case when review.address_normalized is not null
                     and {{ normalize_address('pool.address') }} = review.address_normalized
                then 'carries the name and the address' else 'carries the name' end as why,
           2 as rank
    from review
    inner join {{ ref('enterprise_pool') }} as pool on pool.name_normalized = review.name_normalized
    where review.name_normalized is not null and not list_contains(review.reasons, 'stale_link')

    union all

    select review.feed, review.agency, review.source_key, review.name_normalized, review.uscc,
           former.enterprise_id, 'carried the name' as why, 3 as rank
    from review
    inner join {{ ref('int_registration__former_names') }} as former
        on former.name_normalized = review.name_normalized
    where review.name_normalized is not null and not list_contains(review.reasons, 'stale_link')
),

candidates as (
    select
        ids.feed, ids.agency, ids.source_key, ids.name_normalized, ids.uscc,
        list({'enterprise_id': ids.enterprise_id, 'name': pool.name, 'address': pool.address, 'why': ids.why}
             order by ids.enterprise_id)[1:20] as candidates
    from (
        select feed, agency, source_key, name_normalized, uscc, enterprise_id, arg_min(why, rank) as why
        from candidate_ids
        group by all
    ) as ids
    left join {{ ref('enterprise_pool') }} as pool on pool.enterprise_id = ids.enterprise_id
    group by all
),

grouped as (
    select
        feed,
        agency,
        source_key,
        arg_min(name, source_row) as name,
        name_normalized,
        uscc,
        list_sort(list_distinct(flatten(list(reasons)))) as reasons,
        arg_min(address, source_row) as address,
        -- what matching made of the rows (one row each, but for duplicate rows of a task)
        arg_min(enterprise_id, source_row) as enterprise_id,
        arg_min(match_method, source_row) as match_method,
        count(*) as row_count,
        any_value(source_file) as source_file,
        min(source_row) as source_row
    from review
    group by feed, agency, source_key, name_normalized, uscc
)

select
    grouped.feed,
    grouped.agency,
    grouped.source_key,
    grouped.name,
    grouped.uscc,
    grouped.reasons,
    coalesce(candidates.candidates, []) as candidates,
    grouped.address,
    grouped.enterprise_id,
    grouped.match_method,
    grouped.row_count,
    grouped.source_file,
    grouped.source_row
from grouped
left join candidates
    on candidates.feed = grouped.feed
    and candidates.agency = grouped.agency
    and candidates.source_key = grouped.source_key
    and candidates.name_normalized is not distinct from grouped.name_normalized
    and candidates.uscc is not distinct from grouped.uscc

