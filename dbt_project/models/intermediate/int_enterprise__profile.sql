{#-
  Registration-derived tags, each with its basis:
    sector       门类 letter of the normalized industry code (staging builds it from
                 seed sector_divisions), named from the same seed
    entity_kind  first matching rule of seed entity_kinds (by rule_order):
                 uscc_prefix (USCC digits 1-2), name_suffix (the registered name ends
                 with it), entity_type_contains; rules with applies_to 'no_uscc' only
                 for enterprises without a USCC; no rule → other
    carrier      sells online = online_shop flag true OR a seed scope_keywords
                 keyword with tag 'carrier' in the business scope (negated clauses
                 removed); online + a registered address → online_offline,
                 online without an address → online, else offline
    is_active    status_class is not 'inactive' (unknown status counts as active)

  A view: every column of int_registration__current with these tags added, read by
  int_enterprise__scale, which adds the scale — the pool is one pass over the
  registration rows, not three 10M-row tables joined on enterprise_id.
-#}

{{ config(materialized='view') }}

with

reg as (
    select * from {{ ref('int_registration__current') }}
),

sectors as (
    select distinct sector, sector_name from {{ ref('sector_divisions') }}
),

kind_rules as (
    select {{ ordered_structs([('rule_order', 'rule_order'), ('field', 'field'), ('pattern', 'pattern'),
                               ('applies_to', 'applies_to'), ('entity_kind', 'entity_kind')], ['rule_order']) }} as rules
    from {{ ref('entity_kinds') }}
),

online_keywords as (
    select coalesce({{ ordered_list('keyword', ['keyword']) }}, {{ empty_text_list() }}) as keywords
    from {{ ref('scope_keywords') }}
    where tag = 'carrier' and value = 'online'
),

evaluated as (
    select
        reg.*,
        {%- set kind_matches %}
            (r.applies_to = 'any' or (r.applies_to = 'no_uscc' and reg.uscc is null))
            and case r.field
                when 'uscc_prefix' then {{ text_starts_with('reg.uscc', 'r.pattern') }}
                when 'name_suffix' then {{ text_ends_with('reg.name', 'r.pattern') }}
                when 'entity_type_contains' then contains(reg.entity_type, r.pattern)
                else false
            end
        {% endset %}
        {{ first_of(list_where('kind_rules.rules', 'r', kind_matches)) }} as kind_rule,
        {{ list_where('online_keywords.keywords', 'k', 'contains(reg.scope_for_rules, k)') }} as online_hits
    from reg
    cross join kind_rules
    cross join online_keywords
)

select
    evaluated.* {{ star_except() }} (kind_rule, online_hits),
    sectors.sector,
    sectors.sector_name,
    case
        when evaluated.industry_code is null and evaluated.industry_code_raw is null then 'no industry code'
        when evaluated.industry_code is null then 'industry code ' || evaluated.industry_code_raw || ' not recognised'
        else 'industry_code ' || evaluated.industry_code
            || case when evaluated.industry_code_raw <> evaluated.industry_code then ' (raw ' || evaluated.industry_code_raw || ')' else '' end
            || ' → ' || sectors.sector || ' ' || sectors.sector_name
    end as sector_basis,
    coalesce(evaluated.kind_rule.entity_kind, 'other') as entity_kind,
    case
        when evaluated.kind_rule is null then 'no entity_kinds rule matched → other'
        else 'entity_kinds ' || evaluated.kind_rule.rule_order || ': ' || evaluated.kind_rule.field || ' '
            || evaluated.kind_rule.pattern || ' → ' || evaluated.kind_rule.entity_kind
    end as entity_kind_basis,
    coalesce(evaluated.online_shop, false) or {{ list_size('evaluated.online_hits') }} > 0 as sells_online,
    case
        when (coalesce(evaluated.online_shop, false) or {{ list_size('evaluated.online_hits') }} > 0) and evaluated.address is not null
            then 'online_offline'
        when coalesce(evaluated.online_shop, false) or {{ list_size('evaluated.online_hits') }} > 0 then 'online'
        else 'offline'
    end as carrier,
    concat_ws('; ',
        case when evaluated.online_shop then 'online_shop = true' end,
        case when {{ list_size('evaluated.online_hits') }} > 0
            then 'business_scope contains ' || {{ joined_text('evaluated.online_hits', ', ') }} end,
        case
            when not (coalesce(evaluated.online_shop, false) or {{ list_size('evaluated.online_hits') }} > 0)
                then 'no online-shop flag, no online keyword in scope → offline'
            when evaluated.address is not null then 'registered premises present → online_offline'
            else 'no registered premises → online'
        end
    ) as carrier_basis,
    coalesce(evaluated.status_class, '') <> 'inactive' as is_active,
    case
        when evaluated.status_class is null and evaluated.status is null then 'no status → active'
        when evaluated.status_class is null then 'status ' || evaluated.status || ' not classified → active'
        else 'status ' || evaluated.status || ' → ' || evaluated.status_class
    end as is_active_basis
from evaluated
left join sectors on sectors.sector = left(evaluated.industry_code, 1)
