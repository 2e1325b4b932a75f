{# Everything lives in DuckDB's `main` schema: downstream readers find
   enterprise_pool as main.enterprise_pool, not main_marts.enterprise_pool. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name or target.schema }}
{%- endmacro %}
