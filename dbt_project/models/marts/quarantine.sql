{#- Every rejected row of every feed (CONTRACT §3): the reasons and the original
    values, with any valid 身份证号 in them masked (an agency may put one in any
    column, e.g. a legal representative's number as an extra column). -#}
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
        {{ mask_id_numbers_in_text('raw::varchar') }}::json as raw
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
