{#- Deadlines in working days (docs/contract.md §7), over stg_calendar: the official
    calendar's days, each with `working_no`, the number of working days from the
    calendar's first day up to it. The starting day is not counted
    (期间开始之日不计算在内): the n-th working day after `start` is the working day
    whose number is start's + n, whether `start` itself is a working day or not.
    NULL when `start` or the deadline lies outside the calendar's years — never
    guessed (pipelines/defs/ingest/calendar.py). -#}
{% macro working_day_after(start, days) -%}
(select _wd_due.day from {{ ref('stg_calendar') }} as _wd_due
     where _wd_due.is_working_day
       and _wd_due.working_no = (select _wd_start.working_no from {{ ref('stg_calendar') }} as _wd_start
                                 where _wd_start.day = {{ start }}) + {{ days }})
{%- endmacro %}

{#- An agency's deadline in working days (the registry's entry_working_days or
    follow_up_working_days, `column`), the policy's 20 for an agency no longer in the
    registry whose files stay in the raw store (the registry itself defaults to 20 too:
    pipelines/defs/ingest/registry.py). -#}
{% macro deadline_working_days(column) -%}
coalesce({{ column }}, 20)
{%- endmacro %}
