{#- Rows must be unique on a combination of columns (no dbt_utils dependency). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- No valid 身份证号 in full anywhere in the column (personal data): the
    column must read the same after mask_id_numbers_in_text. -#}
{% test no_full_id_number(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ mask_id_numbers_in_text('cast(' ~ column_name ~ ' as varchar)') }} <> cast({{ column_name }} as varchar)
{% endtest %}
