{#- The official working-day calendar (source raw.calendar, written by ingestion from
    the chinesecalendar package): one row per day of the years it covers, with
    `working_no`, the working days from its first day up to and including this one —
    what macros/working_days.sql counts deadlines with. -#}
select
    day,
    is_working_day,
    sum(case when is_working_day then 1 else 0 end) over (order by day) as working_no
from {{ source('raw', 'calendar') }}
