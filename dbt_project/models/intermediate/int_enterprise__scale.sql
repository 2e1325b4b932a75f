{#-
  scale — 统计上大中小微型企业划分办法（2017）.

  1. industry_group from the normalized industry code (seed scale_industry_groups):
     the most specific rule wins — 中类 (group, 3 digits) over 大类 (division,
     2 digits) over 门类 (sector letter); no rule → 'other' (其他未列明行业).
     'undetermined' (e.g. F without 51/52, 70 without 701/702) and 'finance'
     (J, separate standard) have no thresholds → unknown.
  2. thresholds (seed scale_thresholds): per group, band and indicator
     (X employees, Y revenue 万元, Z total assets 万元), inclusive lower bounds.
  3. unknown when any indicator the group uses is missing; else the first of
     large, medium, small whose EVERY bound is met; else micro.
  scale_basis shows the comparisons against the bounds of the band given
  (of 'small' for micro), e.g. 'retail: X=12≥10, Y=150≥100 → small'.

  A view over int_enterprise__profile: its every column with the scale added (see there).
-#}

{{ config(materialized='view') }}

{%- set fmt = "case when {v} = floor({v}) and abs({v}) < 1e15 then cast(cast({v} as bigint) as varchar) else cast({v} as varchar) end" -%}

with

ent as (
    select * from {{ ref('int_enterprise__profile') }}
),

groups as (
    select level, code, industry_group from {{ ref('scale_industry_groups') }}
),

grouped as (
    -- three equality look-ups in the seed, the most specific hit wins
    select
        ent.*,
        case
            when ent.industry_code is null then null
            else coalesce(g.industry_group, d.industry_group, s.industry_group, 'other')
        end as industry_group,
        case
            when ent.industry_code is null then null
            when g.code is not null then 'group ' || g.code
            when d.code is not null then 'division ' || d.code
            when s.code is not null then 'sector ' || s.code
            else 'no rule: other'
        end as group_rule
    from ent
    left join groups s on s.level = 'sector' and s.code = left(ent.industry_code, 1)
    left join groups d on d.level = 'division' and length(ent.industry_code) >= 3
        and d.code = substr(ent.industry_code, 2, 2)
    left join groups g on g.level = 'group' and length(ent.industry_code) >= 4
        and g.code = substr(ent.industry_code, 2, 3)
),

thresholds as (
    -- one row per industry group: its bands in order, each with its (indicator, bound) checks
    select
        industry_group,
        list_sort(list_distinct(flatten(list(band_indicators)))) as indicators,
        list({'band_rank': band_rank, 'band': band, 'checks': checks} order by band_rank) as bands
    from (
        select
            industry_group,
            band,
            case band when 'large' then 1 when 'medium' then 2 when 'small' then 3 end as band_rank,
            list({'indicator': indicator, 'bound': cast(lower_bound as double)} order by indicator) as checks,
            list(indicator) as band_indicators
        from {{ ref('scale_thresholds') }}
        group by industry_group, band
    ) as per_band
    group by industry_group
),

-- per enterprise, without exploding rows: list lambdas over the group's bands
evaluated as (
    select
        grouped.*,
        thresholds.bands,
        list_filter(thresholds.indicators, lambda i:
            case i when 'X' then grouped.employees::double when 'Y' then grouped.revenue when 'Z' then grouped.total_assets end
            is null) as missing,
        list_filter(thresholds.bands, lambda b:
            list_bool_and(list_transform(b.checks, lambda c:
                case c.indicator
                    when 'X' then grouped.employees::double when 'Y' then grouped.revenue when 'Z' then grouped.total_assets
                end >= c.bound)))[1] as met_band
    from grouped
    left join thresholds using (industry_group)
),

decided as (
    select
        evaluated.*,
        case
            when industry_group is null or bands is null or len(missing) > 0 then 'unknown'
            when met_band is null then 'micro'
            else met_band.band
        end as scale,
        -- the band whose bounds the basis shows: the one given, or small for micro
        coalesce(met_band, list_filter(bands, lambda b: b.band = 'small')[1]) as shown_band
    from evaluated
)

select
    decided.* exclude (bands, missing, met_band, shown_band, group_rule),
    case
        when industry_code is null then 'no industry code → unknown'
        when bands is null then industry_group || ' (' || group_rule || '): no thresholds for this industry → unknown'
        when len(missing) > 0 then industry_group || ': missing ' || array_to_string(missing, ', ') || ' → unknown'
        else industry_group || ': ' || array_to_string(list_transform(shown_band.checks, lambda c:
            list_transform([case c.indicator
                when 'X' then employees::double when 'Y' then revenue when 'Z' then total_assets end], lambda v:
                c.indicator || '=' || {{ fmt.format(v='v') }} || case when v >= c.bound then '≥' else '<' end
                || {{ fmt.format(v='c.bound') }})[1]), ', ')
            || ' → ' || scale
    end as scale_basis,
    group_rule as industry_group_rule
from decided
