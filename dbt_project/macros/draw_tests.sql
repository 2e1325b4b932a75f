{#- Every joint group's common window is at least one day (inclusive dates: start <= end). -#}
{% test common_window_at_least_one_day(model) %}
select * from {{ model }} where window_start > window_end
{% endtest %}
