{#- The results feed's columns as staging reads them (connectors/feeds.yaml): what `raw`
    shows of a rejected result, in stg_results and in int_results__resolved alike. -#}
{% macro results_columns() -%}
{{ return(['task_id', 'uscc', 'name', 'inspected_on', 'entered_on', 'result', 'follow_up', 'follow_up_done_on',
           'follow_up_entered_on', 'penalty_publicity_until', 'rectified_on', 'inspectors']) }}
{%- endmacro %}
