{#- categories per enterprise (sorted, distinct) with their basis, from int_enterprise__category_evidence.
    Plain list aggregates, sorted and de-duplicated afterwards per enterprise: DuckDB's
    DISTINCT and ORDER BY aggregates sort every group's input on their own (10M
    enterprises: 14.9 s → 9.8 s, the same rows). list_sort on the struct orders by its
    fields in turn — category, source, evidence — and array_to_string skips NULLs as
    string_agg did. -#}

select
    enterprise_id,
    list_sort(list_distinct(list(category))) as categories,
    array_to_string(
        list_transform(list_sort(list({'category': category, 'source': source, 'evidence': evidence})),
            lambda _e: _e.category || ' ← ' || _e.evidence),
        '; ') as category_basis,
    list_sort(list_distinct(list(source))) as category_sources,
    coalesce(list_unique(list(record_key) filter (where source = 'approval')), 0)::bigint as category_licence_count
from {{ ref('int_enterprise__category_evidence') }}
group by enterprise_id
