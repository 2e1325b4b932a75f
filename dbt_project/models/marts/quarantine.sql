{#- Every rejected row of every feed (CONTRACT §3): the reasons and the original
    values, with any valid 身份证号 in them masked (an agency may put one in any
    column, e.g. a legal representative's number as an extra column).

    Incremental by feed (delete+insert): a build that restaged only some feeds
    (restage_feeds in the build state, e.g. a draws build) recomputes only their
    rows. A feed's quarantine can only shrink when its staging was rebuilt under
    new rules or inputs, and such a build is a --full-refresh. -#}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='feed',
          on_schema_change='fail') }}
{%- set feeds = ['registration', 'approval', 'credit_risk', 'inspectors', 'draw_list'] -%}
{%- if is_incremental() and execute -%}
    {%- set restaged = run_query("select " ~ build_state_value('restage_feeds')).columns[0].values()[0] -%}
    {%- if restaged -%}
        {%- set feeds = restaged.split(',') -%}
    {%- endif -%}
{%- endif %}

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
