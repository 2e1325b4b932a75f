{#-
  The item → object index (docs/contract.md §6): for every current item of an
  agency, every ACTIVE enterprise of the pool in the agency's region (the
  registry's region_code, without its trailing 00 pairs — macros/regions.sql
  region_prefix — as a prefix of the enterprise's) that matches every
  non-blank scope column of the item. Blank = any; an item with no scope column
  takes its whole region; an agency without a region_code reaches nobody.

  Set-based, as a relational division: an item's scope lists are unnested into
  terms (dimension, term), one per listed value; the pool's enterprises into the
  terms they answer to:
    sector           their 门类 letter and each longer prefix of their industry code
                     (F, F52, F521, F5211): an item's 'F' or 'F52' (stg_items writes
                     its codes the pool's way) meets the enterprises under it
    category         each of their categories
    entity_kind      their entity_kind
    carrier          their carrier; an item's carrier stands for the pool carriers
                     seed item_carrier_matches says it reaches
    key_supervision  'yes' when the pool marks them key supervision; an item's
                     key_supervision_only is that term
  An enterprise is in an item's scope when it answers a term of every dimension
  the item lists. The region is part of the join key: each enterprise carries
  the prefix of its region code as long as an agency's region_code.
-#}

with

items as (
    select agency, item_code, sectors, categories, entity_kinds, carrier, key_supervision_only
    from {{ ref('int_items__current') }}
),

agency_regions as (
    select code as agency, {{ region_prefix('region_code') }} as region_prefix
    from {{ source('raw', 'agencies') }}
    where region_code is not null and region_code <> ''
),

item_terms as (
    select agency, item_code, 'sector' as dimension, unnest(sectors) as term from items
    union all
    select agency, item_code, 'category' as dimension, unnest(categories) as term from items
    union all
    select agency, item_code, 'entity_kind' as dimension, unnest(entity_kinds) as term from items
    union all
    select items.agency, items.item_code, 'carrier' as dimension, matches.pool_carrier as term
    from items
    inner join {{ ref('item_carrier_matches') }} as matches on matches.item_carrier = items.carrier
    union all
    select agency, item_code, 'key_supervision' as dimension, 'yes' as term from items where key_supervision_only
),

{#- each item with its region and the number of dimensions it lists (0: any enterprise of the region) -#}
item_dimensions as (
    select
        items.agency,
        items.item_code,
        agency_regions.region_prefix,
        count(distinct item_terms.dimension) as dimensions
    from items
    inner join agency_regions on agency_regions.agency = items.agency
    left join item_terms on item_terms.agency = items.agency and item_terms.item_code = items.item_code
    group by items.agency, items.item_code, agency_regions.region_prefix
),

{#- every active enterprise once per region-prefix length in use, keyed by that prefix of its region -#}
regional_pool as (
    select
        pool.enterprise_id,
        left(pool.region_code, lengths.prefix_length) as region_prefix,
        pool.sector,
        pool.industry_code,
        pool.categories,
        pool.entity_kind,
        pool.carrier,
        pool.key_supervision
    from {{ ref('enterprise_pool') }} as pool
    cross join (select distinct length(region_prefix) as prefix_length from item_dimensions) as lengths
    where pool.is_active and length(pool.region_code) >= lengths.prefix_length
),

enterprise_terms as (
    select enterprise_id, region_prefix, 'sector' as dimension,
        unnest(list_distinct([sector, left(industry_code, 3), left(industry_code, 4), left(industry_code, 5)])) as term
    from regional_pool
    union all
    select enterprise_id, region_prefix, 'category' as dimension, unnest(categories) as term from regional_pool
    union all
    select enterprise_id, region_prefix, 'entity_kind' as dimension, entity_kind as term from regional_pool
    union all
    select enterprise_id, region_prefix, 'carrier' as dimension, carrier as term from regional_pool
    union all
    select enterprise_id, region_prefix, 'key_supervision' as dimension, 'yes' as term from regional_pool where key_supervision
),

matched as (
    select item_dimensions.agency, item_dimensions.item_code, enterprise_terms.enterprise_id
    from item_dimensions
    inner join item_terms
        on item_terms.agency = item_dimensions.agency and item_terms.item_code = item_dimensions.item_code
    inner join enterprise_terms
        on enterprise_terms.region_prefix = item_dimensions.region_prefix
        and enterprise_terms.dimension = item_terms.dimension
        and enterprise_terms.term = item_terms.term
    group by item_dimensions.agency, item_dimensions.item_code, enterprise_terms.enterprise_id, item_dimensions.dimensions
    having count(distinct item_terms.dimension) = item_dimensions.dimensions
),

whole_region as (
    select item_dimensions.agency, item_dimensions.item_code, regional_pool.enterprise_id
    from item_dimensions
    inner join regional_pool on regional_pool.region_prefix = item_dimensions.region_prefix
    where item_dimensions.dimensions = 0
)

select agency, item_code, enterprise_id from matched
union all
select agency, item_code, enterprise_id from whole_region
