{#- Deadlines in working days (docs/contract.md §7), over stg_calendar: the official
    calendar's days, each with `working_no`, the number of working days from the
    calendar's first day up to it. The starting day is not counted
    (期间开始之日不计算在内): the n-th working day after `start` is the working day
    whose number is start's + n, whether `start` itself is a working day or not.
    NULL when `start` or the deadline lies outside the calendar's years — never
    guessed (pipelines/defs/ingest/calendar.py).

    An expression, looked up by position, not by a join per row: the calendar read once
    as lists in day order (its days, their working_no, its working days, so that the
    working day numbered n is the n-th of that list), `start`'s place found from its
    distance to the first day (and checked to be that day: a calendar with a gap
    finds no place). A correlated lookup made DuckDB copy every row of the model
    through two joins per deadline (1M results: a third of stg_results' time). -#}
{% macro working_day_after(start, days) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('working_day_after')(start, days)) }}{% endif -%}
{%- set calendar = ref('stg_calendar') -%}
{%- set place = "datediff('day', (select min(_wd.day) from " ~ calendar ~ " as _wd), " ~ start ~ ") + 1" -%}
{%- set number = "case when " ~ place ~ " >= 1 and list_extract((select list(_wd.day order by _wd.day) from " ~ calendar ~ " as _wd), " ~ place ~ ") = " ~ start
    ~ " then list_extract((select list(_wd.working_no::bigint order by _wd.day) from " ~ calendar ~ " as _wd), " ~ place ~ ") + " ~ days ~ " end" -%}
case when {{ number }} >= 1
    then list_extract((select list(_wd.day order by _wd.day) filter (where _wd.is_working_day) from {{ calendar }} as _wd),
                      {{ number }}) end
{%- endmacro %}

{#- An agency's deadline in working days (the registry's entry_working_days or
    follow_up_working_days, `column`), the policy's 20 for an agency no longer in the
    registry whose files stay in the raw store (the registry itself defaults to 20 too:
    pipelines/defs/ingest/registry.py). -#}
{% macro deadline_working_days(column) -%}
coalesce({{ column }}, 20)
{%- endmacro %}
