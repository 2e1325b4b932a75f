{#- The JSON columns of staging (macros/staging_helpers.sql: raw_json, extra_json) on
    Spark: Arrow UDFs that run the DuckDB macros themselves on each batch
    (pipelines/spark_json.py), so both engines write the same JSON text. -#}
{% macro spark__raw_json(columns, feed, relation='source') -%}
ssj_raw_json(named_struct(
    {%- for c in columns %}'{{ c }}', {{ relation }}.{{ c }}{{ ", " if not loop.last }}{% endfor -%}
), {{ relation }}._extra, '{{ feed }}')
{%- endmacro %}

{% macro spark__extra_json(feed, relation='source') -%}
ssj_extra_json({{ relation }}._extra, '{{ feed }}')
{%- endmacro %}
