{#- keyword_exclusions: every context contains its keyword, and every keyword is one the
    category rules look for (a scope_keywords category keyword or a licence_categories
    licence_type pattern) — an exclusion of anything else would cancel nothing. -#}

with

keywords as (
    select keyword from {{ ref('scope_keywords') }} where tag = 'category'
    union
    select pattern from {{ ref('licence_categories') }} where field = 'licence_type'
)

select exclusions.keyword, exclusions.context
from {{ ref('keyword_exclusions') }} as exclusions
where not contains(exclusions.context, exclusions.keyword)
    or exclusions.keyword not in (select keyword from keywords)
