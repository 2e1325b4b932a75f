{#
  The incremental draw chain (docs/architecture.md, "Full and incremental builds").

  A draws build redoes the draw TASKS with rows staged since the last successful
  build, and the plans drawn since (draw_tasks_to_redo): int_draw__current, int_draw__resolved and
  int_draw__entries replace those tasks' rows (delete+insert on agency, task_id).
  Grouping is per ENTERPRISE (or per drawn USCC of unresolved entries: draw_group_key):
  int_draw__groups, draw_entries and
  joint_inspections replace the rows of every enterprise a redone task touches —
  as the model held it before (an enterprise a redraw dropped must be regrouped
  too) and as int_draw__entries holds it now (enterprises_to_regroup) — with the
  custom strategy `regroup` below. Each model computes that set from its OWN
  previous rows, so a build that failed half-way is redone right by the next one.
#}

{#- The draw tasks (agency, task_id) an incremental draw model must redo: those
    with rows staged after the last successful build of the draw chain
    (draws_through in the build state), and the plans `ssj draw` stored after the
    last build that entered drawn plans (plans_drawn_through: the draw store's last
    draw_no then); all tasks when there is none. Redoing a task is idempotent, so a
    failed build is simply redone by the next one. The draw store is read by its
    name: dbt does not build it (macros/draw_store.sql creates it before every
    command). -#}
{% macro draw_tasks_to_redo() -%}
select distinct agency, task_id
    from {{ ref('stg_draw_list') }}
    where task_id is not null
      and staged_at > coalesce({{ build_state_value('draws_through') }}::timestamp, '-infinity'::timestamp)
    union
    select agency, task_id
    from draws.draw_records
    where coalesce(draw_no, 0) > coalesce({{ build_state_value('plans_drawn_through') }}::bigint, -1)
{%- endmacro %}

{#- Whether the row `alias` belongs to a draw task this build redoes. -#}
{% macro is_task_to_redo(alias) -%}
exists (select 1 from ({{ draw_tasks_to_redo() }}) as redo
               where redo.agency = {{ alias }}.agency and redo.task_id = {{ alias }}.task_id)
{%- endmacro %}

{#- What grouping keys an entry by (docs/contract.md §3 and §9): its enterprise_id;
    for an unresolved entry, the USCC it was drawn with (staging accepts only a valid
    one), so unresolved entries naming one USCC group with each other. A resolved
    enterprise's enterprise_id is its USCC when it has one, so no USCC can stand for
    two keys: the pool never holds a USCC an unresolved entry carries. NULL (never
    grouped): unresolved without a USCC. Every model of the grouping (int_draw__groups,
    draw_entries, joint_inspections) has the two columns, so this expression is the
    group key everywhere, the incremental deletes included. -#}
{% macro draw_group_key(alias) -%}
coalesce({{ alias }}.enterprise_id, {{ alias }}.uscc)
{%- endmacro %}

{#- Group keys (draw_group_key: enterprises, or the USCCs of unresolved entries) whose
    groups a draws build recomputes: those of the redone tasks in `old` (the model's
    rows before this build: with agency/task_id columns, or a task_keys list) and in
    int_draw__entries now. -#}
{% macro enterprises_to_regroup(old) -%}
select {{ draw_group_key('new_entries') }} from {{ ref('int_draw__entries') }} as new_entries
    where {{ draw_group_key('new_entries') }} is not null and {{ is_task_to_redo('new_entries') }}
    union
    {%- set old_columns = adapter.get_columns_in_relation(old) | map(attribute='name') | list if execute else [] %}
    {%- if 'task_keys' in old_columns %}
    select {{ draw_group_key('old_rows') }} from {{ old }} as old_rows
    where list_has_any(old_rows.task_keys,
                       (select list(agency || ':' || task_id) from ({{ draw_tasks_to_redo() }})))
    {%- else %}
    select {{ draw_group_key('old_rows') }} from {{ old }} as old_rows
    where {{ draw_group_key('old_rows') }} is not null and {{ is_task_to_redo('old_rows') }}
    {%- endif %}
{%- endmacro %}

{#- Incremental strategy `regroup`: delete the rows of the enterprises to regroup
    (and, with config regroup_tasks: true, every row of a redone task — for the
    unresolved entries, which have no enterprise), then insert the batch. The
    delete reads the target before it changes, as the batch did. -#}
{% macro get_incremental_regroup_sql(arg_dict) -%}
{%- set target = arg_dict['target_relation'] -%}
{%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
delete from {{ target }}
where {{ draw_group_key(target) }} in ({{ enterprises_to_regroup(target) }})
{%- if config.get('regroup_tasks') %}
   or exists (select 1 from ({{ draw_tasks_to_redo() }}) as redo
              where redo.agency = {{ target }}.agency and redo.task_id = {{ target }}.task_id)
{%- endif %};
insert into {{ target }} ({{ columns }})
select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
