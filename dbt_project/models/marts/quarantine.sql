{#- Every rejected row of every feed (docs/contract.md §3): the reasons and the original
    values, as staging leaves them: personal data masked (an agency may put an ID
    number in any column, e.g. a legal representative's number as an extra column)
    and no raw control character (staging_helpers.sql: raw_json; value_rules.sql:
    collect_issues).

    Incremental by feed (delete+insert): a build that restaged only some feeds
    (restage_feeds in the build state, e.g. a draws build) recomputes only their
    rows, and those of the feeds whose verdicts follow the draw entries (results). A
    feed's quarantine can only shrink when its staging was rebuilt under
    new rules or inputs, and such a build is a --full-refresh. -#}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='feed',
          on_schema_change='fail') }}
{%- set feeds = feed_names() -%}
{%- if is_incremental() and execute -%}
    {%- set restaged = run_query("select " ~ build_state_value('restage_feeds')).columns[0].values()[0] -%}
    {%- if restaged -%}
        {%- set feeds = restaged.split(',') + (feeds_following_draws() | reject('in', restaged.split(',')) | list) -%}
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
        raw
    from {{ feed_verdicts(feed) }}
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
