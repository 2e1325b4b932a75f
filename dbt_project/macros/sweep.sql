{#
  The joint-inspection grouping sweep (docs/contract.md §3), set-based in DuckDB.

  Plain Jinja only (no ref/var/adapter): tests/unit/test_sweep.py renders this
  file with jinja2 and checks the SQL against the readable reference
  pipelines/sweep.py with hypothesis.

  sweep_groups(relation) returns a complete query (use it as a whole model or in
  parentheses as a subquery). `relation` is any SQL relation with at least
    enterprise_id, agency, task_id, window_start (DATE), window_end (DATE),
  unique on (enterprise_id, agency, task_id); `enterprise_id` is whatever the entries
  group by (int_draw__groups passes draw_group_key: the enterprise, else the drawn USCC
  of an unresolved entry). Output: one row per input entry,
    enterprise_id, agency, task_id, window_start, window_end,
    sweep_rank   1-based position in the enterprise's sweep order,
    group_no     1-based group number within the enterprise, in sweep order,
    group_size   entries in the group (1 = not merged),
    group_window_start / group_window_end   the group's common window
                                            (max start, min end).

  Formulation: entries are numbered per enterprise in sweep order
  (window_start, window_end, agency, task_id). A recursive CTE carries, for each
  enterprise, the state after entry k — (group_no, common-window end so far) —
  and each iteration advances EVERY enterprise by one entry (join on rn = k + 1),
  so the number of iterations is the largest entry count of any one enterprise,
  not the number of rows. Entry k+1 joins the open group iff its start <= the
  running minimum end (its start is the group's maximum start because of the
  order), else it opens group_no + 1 with its own end. This is exactly the
  sequential sweep of pipelines/sweep.py, one step per enterprise per iteration.
  Enterprises with a single entry skip the recursion.
#}
{% macro sweep_groups(relation) -%}
with recursive

sweep_input as (
    select
        enterprise_id,
        agency,
        task_id,
        window_start,
        window_end,
        row_number() over (
            partition by enterprise_id
            order by window_start, window_end, agency, task_id
        ) as sweep_rank,
        count(*) over (partition by enterprise_id) as enterprise_entries
    from {{ relation }}
    where enterprise_id is not null
),

sweep_multi as (
    select * from sweep_input where enterprise_entries > 1
),

sweep_state as (
    select
        enterprise_id,
        sweep_rank,
        1::bigint as group_no,
        window_end as running_end
    from sweep_multi
    where sweep_rank = 1

    union all

    select
        nxt.enterprise_id,
        nxt.sweep_rank,
        case when nxt.window_start <= prev.running_end then prev.group_no else prev.group_no + 1 end as group_no,
        case when nxt.window_start <= prev.running_end then least(prev.running_end, nxt.window_end)
             else nxt.window_end end as running_end
    from sweep_state as prev
    inner join sweep_multi as nxt
        on nxt.enterprise_id = prev.enterprise_id
        and nxt.sweep_rank = prev.sweep_rank + 1
),

sweep_assigned as (
    select
        sweep_input.*,
        coalesce(sweep_state.group_no, 1) as group_no
    from sweep_input
    left join sweep_state
        on sweep_state.enterprise_id = sweep_input.enterprise_id
        and sweep_state.sweep_rank = sweep_input.sweep_rank
)

select
    enterprise_id,
    agency,
    task_id,
    window_start,
    window_end,
    sweep_rank,
    group_no,
    count(*) over (partition by enterprise_id, group_no) as group_size,
    max(window_start) over (partition by enterprise_id, group_no) as group_window_start,
    min(window_end) over (partition by enterprise_id, group_no) as group_window_end
from sweep_assigned
{%- endmacro %}
