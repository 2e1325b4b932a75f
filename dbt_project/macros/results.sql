{#- The results feed's columns as staging reads them (connectors/feeds.yaml): what `raw`
    shows of a rejected result, in stg_results and in int_results__resolved alike. -#}
{% macro results_columns() -%}
{{ return(['task_id', 'uscc', 'name', 'inspected_on', 'entered_on', 'result', 'follow_up', 'follow_up_done_on',
           'follow_up_entered_on', 'penalty_publicity_until', 'rectified_on', 'inspectors']) }}
{%- endmacro %}

{#- Each distinct value of `source.<column>`, cleaned once and looked up in `words` (a relation
    with the vocabulary's `word` as `vocabulary_word` compares it): `raw_value`, `text` (the
    cleaned value) and the word's `columns`, for the rows to join back on `raw_value`. -#}
{% macro vocabulary_per_value(column, words, columns) -%}
    select raw_values.raw_value, raw_values.text{% for c in columns %}, {{ words }}.{{ c }}{% endfor %}
    from (
        select raw_value, {{ clean_text('raw_value') }} as text
        from (select distinct source.{{ column }} as raw_value from source)
    ) as raw_values
    left join {{ words }} on {{ words }}.word = {{ vocabulary_word('raw_values.text') }}
{%- endmacro %}
