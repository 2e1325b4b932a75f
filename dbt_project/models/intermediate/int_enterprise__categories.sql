{#- categories per enterprise (sorted, distinct) with their basis, from int_enterprise__category_evidence. -#}

select
    enterprise_id,
    list_sort(list(distinct category)) as categories,
    string_agg(category || ' ← ' || evidence, '; ' order by category, source, evidence) as category_basis,
    list_sort(list(distinct source)) as category_sources,
    count(distinct case when source = 'approval' then record_key end) as category_licence_count
from {{ ref('int_enterprise__category_evidence') }}
group by enterprise_id
