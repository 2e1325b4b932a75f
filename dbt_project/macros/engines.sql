{#-
  What differs between the engines (docs/engines.md): each macro here is called
  through adapter.dispatch, with a duckdb__ and a spark__ implementation. The
  DuckDB ones render exactly the SQL the project ran before there was a second
  engine; the Spark ones the same meaning in Spark SQL.
-#}

{#- Before every dbt command (on-run-start): the draw store (macros/draw_store.sql).
    Spark runs one statement per call: each runs here, and the hook itself is empty.
    The raw store's tables (the source `raw`) are made by pipelines/engine.py before
    dbt starts, as DuckDB's come from its variables. -#}
{% macro ssj_run_start() -%}
{{ return(adapter.dispatch('ssj_run_start')()) }}
{%- endmacro %}

{% macro duckdb__ssj_run_start() -%}
{{ draw_store_ddl() }}
{%- endmacro %}

{% macro spark__ssj_run_start() -%}
{%- if execute -%}
{%- for sql in spark_draw_store_ddl() -%}
{%- do run_query(sql) -%}
{%- endfor -%}
{%- endif -%}
{%- endmacro %}

{#- The draw store on Spark: draw_store_ddl's tables, their columns as they are now
    (no store older than the Spark engine needs its columns added). -#}
{% macro spark_draw_store_ddl() -%}
{{ return([
    "create database if not exists draws",
    "create table if not exists draws.plan_draws (
        agency string not null, task_id string not null, enterprise_id string not null, uscc string,
        stratum string not null, u double not null, rank bigint not null) using parquet",
    "create table if not exists draws.draw_records (
        agency string not null, task_id string not null, coordination string, items array<string> not null,
        seed string not null, seed_sha256 string not null, pool_snapshot_id string not null,
        scope_size bigint not null,
        strata array<struct<stratum: string, population: bigint, ratio: double, sample_size: bigint>> not null,
        algorithm string not null, task_name string, window_start date, window_end date, draw_no bigint)
        using parquet",
]) }}
{%- endmacro %}

{#- The run's "today" (macros/run_values.sql): DuckDB's variable ssj_as_of; on Spark
    the session setting ssj.as_of, substituted by Spark when the statement runs. -#}
{% macro duckdb__as_of() -%}
    getvariable('ssj_as_of')
{%- endmacro %}

{% macro spark__as_of() -%}
    date '${ssj.as_of}'
{%- endmacro %}

{#- A column type as the project writes it (DuckDB's names: varchar, integer …) in
    Spark SQL: Spark's VARCHAR needs a length, and the project's texts have none. -#}
{% macro spark_type(type) -%}
{%- set t = type | trim | lower -%}
{%- set names = {'varchar': 'string', 'text': 'string', 'integer': 'int', 'int4': 'int', 'int8': 'bigint',
                 'float8': 'double', 'float4': 'float', 'bool': 'boolean', 'varchar[]': 'array<string>'} -%}
{{ return(names.get(t, t)) }}
{%- endmacro %}

{#- A value of a seed's CSV as a Spark SQL literal: NULL, or the text quoted with
    Spark's escapes (dbt-spark's session method pastes a value between quotes as it
    is: a quote or backslash in a CSV would end or change it, an empty cell would
    become 'None'). -#}
{% macro spark_seed_literal(value) -%}
{%- if value is none -%}
null
{%- else -%}
'{{ (value | string) | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endif -%}
{%- endmacro %}

{#- dbt-spark's seed table and rows, with the project's column types in Spark's names
    and the values as literals (spark_seed_literal). -#}
{% macro spark__create_csv_table(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
  {% set sql %}
    create table {{ this.render() }} (
        {%- for col_name in agate_table.column_names -%}
            {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
            {%- set type = spark_type(column_override.get(col_name, inferred_type)) -%}
            {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }} {{ type }} {%- if not loop.last -%}, {%- endif -%}
        {%- endfor -%}
    )
    {{ file_format_clause() }}
    {{ location_clause() }}
    {{ comment_clause() }}
  {% endset %}
  {% call statement('_') -%}
    {{ sql }}
  {%- endcall %}
  {{ return(sql) }}
{% endmacro %}

{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
    {%- set sql -%}
      insert into {{ this.render() }} values
      {% for row in chunk -%}
        ({%- for col_name in agate_table.column_names -%}
          {%- set type = spark_type(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
          cast({{ spark_seed_literal(row[loop.index0]) }} as {{ type }}){{ "," if not loop.last }}
        {%- endfor -%}){{ "," if not loop.last }}
      {% endfor -%}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(statements[0] if statements else '') }}
{% endmacro %}

{#- column_rules (macros/generic_tests.sql) in Spark SQL: the same rules and failing rows;
    UNPIVOT's own syntax, LEFT SEMI JOIN, Spark's string escapes. -#}
{% macro spark__column_rules_sql(model, not_null, unique, accepted_values) %}
select rule, column_name, failing_rows
from (
    select cast(null as string) as rule, cast(null as string) as column_name, cast(0 as bigint) as failing_rows where false
{%- if not_null %}
    union all
    select 'not_null', column_name, failing_rows
    from (select
        {%- for c in not_null %} count(*) - count({{ adapter.quote(c) }}) as {{ adapter.quote(c) }}{{ "," if not loop.last }}{% endfor %}
        from {{ model }})
        unpivot (failing_rows for column_name in ({% for c in not_null %}{{ adapter.quote(c) }}{{ ", " if not loop.last }}{% endfor %}))
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
    from (select count(*) as n from {{ model }} as rows
          left semi join (select hash({{ quoted | join(", ") }}) as h from {{ model }} group by 1 having count(*) > 1) as repeated
              on hash({{ quoted | join(", ") }}) = repeated.h
          group by {{ quoted | join(", ") }} having count(*) > 1)
    {%- endif %}
{%- endfor %}
{%- for c, values in (accepted_values or {}).items() %}
    union all
    select 'accepted_values', '{{ c }}', count(*) from {{ model }}
    where {{ adapter.quote(c) }} not in ({% for v in values %}{{ spark_seed_literal(v) }}{{ ", " if not loop.last }}{% endfor %})
{%- endfor %}
)
where failing_rows > 0
{% endmacro %}

{#- The value rules' dispatch (macros/value_rules.sql) on an engine with no twin of a
    rule in macros/spark_value_rules.sql: an error naming the rule, never DuckDB's SQL
    run on another engine. (dbt resolves every adapter.dispatch when it parses, for
    DuckDB too: these are what it finds there.) -#}
{% macro no_engine_twin(rule) -%}
{{ exceptions.raise_compiler_error(rule ~ ": no formulation for the " ~ target.type ~ " engine yet (docs/engines.md)") }}
{%- endmacro %}
{% macro default__clean_text(col) %}{{ no_engine_twin('clean_text') }}{% endmacro %}
{% macro default__clean_code(col) %}{{ no_engine_twin('clean_code') }}{% endmacro %}
{% macro default__clean_key(col, folded=false) %}{{ no_engine_twin('clean_key') }}{% endmacro %}
{% macro default__parse_date(col, open_ended=false, cleaned=false) %}{{ no_engine_twin('parse_date') }}{% endmacro %}
{% macro default__parse_money(col, cleaned=false) %}{{ no_engine_twin('parse_money') }}{% endmacro %}
{% macro default__parse_int(col, cleaned=false) %}{{ no_engine_twin('parse_int') }}{% endmacro %}
{% macro default__parse_number(col, cleaned=false) %}{{ no_engine_twin('parse_number') }}{% endmacro %}
{% macro default__parse_ratio(col, cleaned=false) %}{{ no_engine_twin('parse_ratio') }}{% endmacro %}
{% macro default__parse_bool(col, cleaned=false) %}{{ no_engine_twin('parse_bool') }}{% endmacro %}
{% macro default__column_rules_sql(model, not_null, unique, accepted_values) %}{{ no_engine_twin('column_rules') }}{% endmacro %}
{% macro default__split_list(col) %}{{ no_engine_twin('split_list') }}{% endmacro %}
{% macro default__split_keys(col) %}{{ no_engine_twin('split_keys') }}{% endmacro %}
{% macro default__uscc_is_valid(col) %}{{ no_engine_twin('uscc_is_valid') }}{% endmacro %}
{% macro default__orgcode_is_valid(col) %}{{ no_engine_twin('orgcode_is_valid') }}{% endmacro %}
{% macro default__reg_no_is_valid(col) %}{{ no_engine_twin('reg_no_is_valid') }}{% endmacro %}
{% macro default__id_no_is_valid(col) %}{{ no_engine_twin('id_no_is_valid') }}{% endmacro %}
{% macro default__issue(condition, code, message) %}{{ no_engine_twin('issue') }}{% endmacro %}
{% macro default__quoted(value) %}{{ no_engine_twin('quoted') }}{% endmacro %}
{% macro default__publishable_text(text) %}{{ no_engine_twin('publishable_text') }}{% endmacro %}
{% macro default__without_controls(text) %}{{ no_engine_twin('without_controls') }}{% endmacro %}
{% macro default__collect_issues(issues) %}{{ no_engine_twin('collect_issues') }}{% endmacro %}
{% macro default__vocabulary_word(col) %}{{ no_engine_twin('vocabulary_word') }}{% endmacro %}
{% macro default__screen_texts(texts, codes=[], json=none, json_as='extra') %}{{ no_engine_twin('screen_texts') }}{% endmacro %}
{% macro default__raw_json(columns, feed, relation='source') %}{{ no_engine_twin('raw_json') }}{% endmacro %}
{% macro default__extra_json(feed, relation='source') %}{{ no_engine_twin('extra_json') }}{% endmacro %}
{% macro default__staging_lineage() %}{{ no_engine_twin('staging_lineage') }}{% endmacro %}
{% macro default__staged_text(col, list=false, relation='checked') %}{{ no_engine_twin('staged_text') }}{% endmacro %}
{% macro default__issue_personal_id(columns) %}{{ no_engine_twin('issue_personal_id') }}{% endmacro %}
{% macro default__issue_control_character(columns) %}{{ no_engine_twin('issue_control_character') }}{% endmacro %}
{% macro default__ingested_rows(feed, new_files_only=false) %}{{ no_engine_twin('ingested_rows') }}{% endmacro %}
{% macro default__build_state_value(key) %}{{ no_engine_twin('build_state_value') }}{% endmacro %}
{% macro default__previous_snapshot() %}{{ no_engine_twin('previous_snapshot') }}{% endmacro %}
{% macro default__masked_json(col) %}{{ no_engine_twin('masked_json') }}{% endmacro %}
{% macro default__split_rows(text, separator) %}{{ no_engine_twin('split_rows') }}{% endmacro %}
{% macro default__sector_division_map() %}{{ no_engine_twin('sector_division_map') }}{% endmacro %}
{% macro default__lookup_map(key, value, where=none) %}{{ no_engine_twin('lookup_map') }}{% endmacro %}
{% macro default__ordered_structs(fields, order_by) %}{{ no_engine_twin('ordered_structs') }}{% endmacro %}
{% macro default__first_word_class(text, words) %}{{ no_engine_twin('first_word_class') }}{% endmacro %}
{% macro default__normalize_industry_code(col, division_map) %}{{ no_engine_twin('normalize_industry_code') }}{% endmacro %}
{% macro default__normalize_name(col) %}{{ no_engine_twin('normalize_name') }}{% endmacro %}
{% macro default__distinct_text_agg(value, separator, where) %}{{ no_engine_twin('distinct_text_agg') }}{% endmacro %}
{% macro default__distinct_list(value) %}{{ no_engine_twin('distinct_list') }}{% endmacro %}
{% macro default__list_size(list) %}{{ no_engine_twin('list_size') }}{% endmacro %}
{% macro default__full_match(text, pattern) %}{{ no_engine_twin('full_match') }}{% endmacro %}
{% macro default__list_outside(list, allowed) %}{{ no_engine_twin('list_outside') }}{% endmacro %}
{% macro default__looked_up(list, map, var) %}{{ no_engine_twin('looked_up') }}{% endmacro %}
{% macro default__industry_codes(list, division_map) %}{{ no_engine_twin('industry_codes') }}{% endmacro %}
{% macro default__sorted_set(list) %}{{ no_engine_twin('sorted_set') }}{% endmacro %}
{% macro default__unmapped(raw, mapped) %}{{ no_engine_twin('unmapped') }}{% endmacro %}
{% macro default__values_as_rows(values, prefix='') %}{{ no_engine_twin('values_as_rows') }}{% endmacro %}
{% macro default__cte_materialized() %}{{ no_engine_twin('cte_materialized') }}{% endmacro %}
{% macro default__working_day_after(start, days) %}{{ no_engine_twin('working_day_after') }}{% endmacro %}
{% macro default__screened_and_checked(relation, texts, codes=[], issues=[]) %}{{ no_engine_twin('screened_and_checked') }}{% endmacro %}
{% macro default__empty_text_list() %}{{ no_engine_twin('empty_text_list') }}{% endmacro %}
{% macro default__normalize_address(col) %}{{ no_engine_twin('normalize_address') }}{% endmacro %}
{% macro default__json_member_text(json, key) %}{{ no_engine_twin('json_member_text') }}{% endmacro %}
{% macro default__staged_row_id(alias) %}{{ no_engine_twin('staged_row_id') }}{% endmacro %}
{% macro default__latest_version(dated_by) %}{{ no_engine_twin('latest_version') }}{% endmacro %}
{% macro default__value_at_max(value, key) %}{{ no_engine_twin('value_at_max') }}{% endmacro %}
{% macro default__struct_of(fields) %}{{ no_engine_twin('struct_of') }}{% endmacro %}
{% macro default__without_negated_clauses(col) %}{{ no_engine_twin('without_negated_clauses') }}{% endmacro %}
{% macro default__list_where(list, var, condition) %}{{ no_engine_twin('list_where') }}{% endmacro %}
{% macro default__list_map(list, var, expression) %}{{ no_engine_twin('list_map') }}{% endmacro %}
{% macro default__first_of(list) %}{{ no_engine_twin('first_of') }}{% endmacro %}
{% macro default__list_sorted(list) %}{{ no_engine_twin('list_sorted') }}{% endmacro %}
{% macro default__list_has(list, value) %}{{ no_engine_twin('list_has') }}{% endmacro %}
{% macro default__list_appended(list, value) %}{{ no_engine_twin('list_appended') }}{% endmacro %}
{% macro default__sorted_present(items, var) %}{{ no_engine_twin('sorted_present') }}{% endmacro %}
{% macro default__joined_text(list, separator) %}{{ no_engine_twin('joined_text') }}{% endmacro %}
{% macro default__distinct_count(list) %}{{ no_engine_twin('distinct_count') }}{% endmacro %}
{% macro default__text_type(list=false) %}{{ no_engine_twin('text_type') }}{% endmacro %}
{% macro default__star_except() %}{{ no_engine_twin('star_except') }}{% endmacro %}
{% macro default__text_starts_with(text, prefix) %}{{ no_engine_twin('text_starts_with') }}{% endmacro %}
{% macro default__text_ends_with(text, suffix) %}{{ no_engine_twin('text_ends_with') }}{% endmacro %}
{% macro default__sorted_list(value, where=none, distinct=false) %}{{ no_engine_twin('sorted_list') }}{% endmacro %}
{% macro default__ordered_list(value, order_by) %}{{ no_engine_twin('ordered_list') }}{% endmacro %}
{% macro default__sorted_structs(fields) %}{{ no_engine_twin('sorted_structs') }}{% endmacro %}
{% macro default__first_rows(keys, order_by, body) %}{{ no_engine_twin('first_rows') }}{% endmacro %}
{% macro default__contains_keyword(text, keyword, contexts) %}{{ no_engine_twin('contains_keyword') }}{% endmacro %}
{% macro default__keyword_exclusion_lists() %}{{ no_engine_twin('keyword_exclusion_lists') }}{% endmacro %}
{% macro default__region_is_under(region, area) %}{{ no_engine_twin('region_is_under') }}{% endmacro %}
