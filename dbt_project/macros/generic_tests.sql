{#- Rows must be unique on a combination of columns (no dbt_utils dependency).
    Exact, in two passes: rows are grouped on one 64-bit hash of the columns, and
    only the rows whose hash repeats are grouped on the columns themselves (a hash
    collision is a candidate, never a failure). Grouping 72.6M rows on four text
    columns at once took 14.5 s at 10M enterprises (enterprise_tags); this 8.7 s. -#}
{% test unique_combination(model, columns) %}
{%- set key = columns | join(', ') %}
with repeated_hashes as (
    select hash({{ key }}) as h
    from {{ model }}
    group by 1
    having count(*) > 1
)
select {{ key }}, count(*) as n
from {{ model }}
semi join repeated_hashes on hash({{ key }}) = repeated_hashes.h
group by {{ key }}
having count(*) > 1
{% endtest %}

{#- No personal ID number (connectors/personal.py's has_id_number, registered by
    pipelines/udfs.py) in the column: a guard, which the staging models' masking and
    row rules keep from ever failing on data. `json=true`: the column holds JSON
    objects, whose valid enterprise codes (统一社会信用代码, 注册号) are not personal,
    and in which an ID number may also be split across values (json_holds_id_number:
    the rule mask_personal_json masks by, so what it leaves never trips this test).
    Guarded by one RE2 scan per value. -#}
{% test no_full_id_number(model, column_name, json=false) %}
select {{ column_name }}
from {{ model }}
where regexp_matches(cast({{ column_name }} as varchar), {{ 'ssj_split_id_pattern()' if json else 'ssj_id_run_pattern()' }})
  and {% if json -%}
    {{ json_holds_id_number('cast(' ~ column_name ~ ' as varchar)') }}
  {%- else -%}
    has_id_number(cast({{ column_name }} as varchar))
  {%- endif %}
{% endtest %}

{#- No NULL in any of `columns`, in one scan of the model: a failing row names a
    column and how many NULLs it holds. One test per model instead of a not_null
    test per column — each of those was its own query and its own dbt node (at 10M
    enterprises the per-column tests were most of the data tests' time). -#}
{% test not_null_columns(model, columns) %}
with null_counts as (
    select
    {%- for c in columns %}
        count(*) - count({{ adapter.quote(c) }}) as {{ adapter.quote(c) }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
select column_name, null_rows
from (unpivot null_counts on {% for c in columns %}{{ adapter.quote(c) }}{{ ", " if not loop.last }}{% endfor %}
      into name column_name value null_rows)
where null_rows > 0
{% endtest %}

{#- Every element of a list column is one of `values` (e.g. the draw flags of
    docs/matching.md): an unknown flag is a rule added without its documentation. -#}
{% test flags_in_vocabulary(model, column_name, values) %}
select flag, count(*) as n
from (select unnest({{ adapter.quote(column_name) }}) as flag from {{ model }})
where flag not in ({% for v in values %}'{{ v }}'{{ ", " if not loop.last }}{% endfor %})
group by flag
{% endtest %}

{#- A table's column rules, one dbt node: `not_null` (columns: one scan for all, as
    not_null_columns), `unique` (a column, NULLs ignored as in dbt's own test; or a list
    of columns unique together, exact in two passes as unique_combination) and
    `accepted_values` (column: its values; NULL passes, as in dbt's own test). A failing
    row names the rule, the column(s) and how many rows break it. Each data test is a
    dbt node of ~0.1 s of dbt's own work however small the table: the seeds' ~70 column
    tests were 68 nodes. On another engine, its own formulation (spark__column_rules_sql,
    macros/engines.sql), through adapter.dispatch: plain Jinja (no `target`) passes over it. -#}
{% test column_rules(model, not_null=[], unique=[], accepted_values={}) %}{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('column_rules_sql')(model, not_null, unique, accepted_values)) }}{% endif %}
select rule, column_name, failing_rows
from (
    select null::varchar as rule, null::varchar as column_name, 0::bigint as failing_rows where false
{%- if not_null %}
    union all
    select 'not_null', column_name, failing_rows
    from (unpivot (select
        {%- for c in not_null %} count(*) - count({{ adapter.quote(c) }}) as {{ adapter.quote(c) }}{{ "," if not loop.last }}{% endfor %}
        from {{ model }})
        on {% for c in not_null %}{{ adapter.quote(c) }}{{ ", " if not loop.last }}{% endfor %}
        into name column_name value failing_rows)
{%- endif %}
{%- for key in unique %}
    {%- set cols = [key] if key is string else key %}
    {%- set quoted = [] %}{% for c in cols %}{% set _ = quoted.append(adapter.quote(c)) %}{% endfor %}
    union all
    select 'unique', '{{ cols | join(", ") }}', coalesce(sum(n), 0)
    {%- if cols | length == 1 %}
    from (select count(*) as n from {{ model }} where {{ quoted[0] }} is not null
          group by {{ quoted[0] }} having count(*) > 1)
    {%- else %}
    from (select count(*) as n from {{ model }}
          semi join (select hash({{ quoted | join(", ") }}) as h from {{ model }} group by 1 having count(*) > 1) as repeated
              on hash({{ quoted | join(", ") }}) = repeated.h
          group by {{ quoted | join(", ") }} having count(*) > 1)
    {%- endif %}
{%- endfor %}
{%- for c, values in (accepted_values or {}).items() %}
    union all
    select 'accepted_values', '{{ c }}', count(*) from {{ model }}
    where {{ adapter.quote(c) }} not in ({% for v in values %}'{{ (v | string).replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor %})
{%- endfor %}
)
where failing_rows > 0
{% endtest %}
