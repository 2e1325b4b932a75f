{#- Rows must be unique on a combination of columns (no dbt_utils dependency). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- No 18-character 身份证号-shaped run of digits in the column (personal data). -#}
{% test no_full_id_number(model, column_name) %}
select {{ column_name }}
from {{ model }}
where regexp_matches(cast({{ column_name }} as varchar), '\d{17}[0-9Xx]')
{% endtest %}
