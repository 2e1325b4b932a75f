{#- Every rejected row of every feed (CONTRACT §3): the reasons and the original
    values (personal ID numbers masked in staging already). -#}
{%- set feeds = ['registration', 'approval', 'credit_risk', 'inspectors', 'draw_list'] -%}

with

{% for feed in feeds %}
{{ feed }} as (
    select
        '{{ feed }}' as feed,
        agency,
        source_file,
        file_sha256,
        source_row,
        reason_codes,
        reason,
        raw
    from {{ ref('stg_' ~ feed) }}
    where len(reason_codes) > 0
),
{% endfor %}

final as (
    {% for feed in feeds %}
    select * from {{ feed }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from final
order by feed, source_file, source_row
