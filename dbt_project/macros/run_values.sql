{#- The run's "today": the date every date rule is judged on (licence validity,
    certificate expiry). A DuckDB variable set on every connection from SSJ_AS_OF
    (pipelines/udfs.py), read at run time, so one parse of the project serves every
    date and warehouse; on Spark a session setting (pipelines/engine.py; macros/engines.sql). -#}
{% macro as_of() -%}
    {{ adapter.dispatch('as_of')() }}
{%- endmacro %}
