{#
  The steps every stg_<feed> model takes, each written once; a staging model
  names its feed's columns and rules and calls these in order:

    source    ingested_rows(feed)
    *_values  values_per_value(feed, specs): columns of few distinct values,
              cleaned (and parsed) once per value, joined back with
              per_value_joins(specs)
    cleaned   cleaned_columns(feed, columns): the lineage, each column through
              its cleaner, the columns outside the contract
    screened, checked
              screened_and_checked(relation, texts, codes, issues): the
              screening for personal ID numbers and control characters, and the
              verdict of the rules every feed shares and of the feed's own
    final     staged_texts(names) for the texts (masked on a rejected row), the
              typed columns as they are, then staging_columns(feed, columns)

  Unlike staging_helpers.sql and value_rules.sql, this file is rendered by dbt
  only (it uses `do` and `return`).
#}

{#- The CTEs `<column>_values` of a model's columns of few distinct values, one
    parsed_per_value each, separated by commas (the caller writes the comma after
    the last). `specs`: one list a column of parsed_per_value's arguments after
    `feed` (column, text_as[, parsed, parsed_as]), optionally ending with a
    mapping of its keyword arguments ({'also': …, 'cleaner': …}). -#}
{% macro values_per_value(feed, specs) -%}
{%- for spec in specs %}
{%- set kwargs = spec[-1] if spec[-1] is mapping else {} %}
{%- set args = spec[:-1] if spec[-1] is mapping else spec %}
{{ args[0] }}_values as (
    {{ parsed_per_value(feed, *args, **kwargs) }}
){{ "," if not loop.last }}
{% endfor -%}
{%- endmacro %}

{#- The joins of the values_per_value lookups back onto `source`, on the raw value, in
    the order of `specs`. -#}
{% macro per_value_joins(specs) -%}
{%- for spec in specs %}
    left join {{ spec[0] }}_values on {{ spec[0] }}_values.raw_value = source.{{ spec[0] }}
{%- endfor %}
{%- endmacro %}

{#- The select list of a staging model's cleaned rows: the lineage columns
    (staging_lineage), each of `columns` in order, then `extra` (the columns outside
    the contract, extra_json). An entry of `columns` is (column, cleaner) — the raw
    column `source.<column>` through the cleaner: text (clean_text), code
    (clean_code), key (clean_key), list (split_list) or keys (split_keys) — or
    (column, cleaner, alias) to name it otherwise, or an SQL expression (a text)
    kept as it is (a column of a values_per_value lookup). -#}
{% macro cleaned_columns(feed, columns) -%}
{%- set cleaners = {'text': clean_text, 'code': clean_code, 'key': clean_key, 'list': split_list,
                    'keys': split_keys} -%}
        {{ staging_lineage() }},
{%- for c in columns %}
{%- if c is string %}
        {{ c }},
{%- elif c[1] not in cleaners %}
    {{ exceptions.raise_compiler_error("cleaned_columns: " ~ c[0] ~ ": no cleaner " ~ c[1] ~ " (expected one of " ~ cleaners.keys() | sort | join(', ') ~ ")") }}
{%- else %}
        {{ cleaners[c[1]]('source.' ~ c[0]) }} as {{ c[2] if c | length > 2 else c[0] }},
{%- endif %}
{%- endfor %}
        {{ extra_json(feed) }} as extra
{%- endmacro %}

{#- The CTEs `screened` and `checked` over `relation` (the typed rows):

    screened  every text is screened for a personal ID number and a control
              character; every code, and the columns outside the contract, for a
              control character (screen_texts: `texts` and `codes` as it takes them).
    checked   `outcome`, the verdict (collect_issues) of the rules every feed shares
              — a row that could not be read (malformed_row), a control character,
              a personal ID number — then of the feed's own `issues`. -#}
{% macro screened_and_checked(relation, texts, codes=[], issues=[]) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('screened_and_checked')(relation, texts, codes=codes, issues=issues)) }}{% endif -%}
{{ screened_cte(relation, texts, codes) }},

checked as (
    select
        screened.*,
        {{ collect_issues(shared_issues() + issues) }} as outcome
    from screened
)
{%- endmacro %}

{#- The CTE `screened` of screened_and_checked, on every engine. -#}
{% macro screened_cte(relation, texts, codes=[]) -%}
screened as (
    select
        {{ relation }}.*,
        {{ screen_texts(texts, codes=codes, json='_source._extra') }} as screening
    from {{ relation }}
)
{%- endmacro %}

{#- The findings of the rules every feed shares, first in every row's verdict: a row that
    could not be read, a control character, a personal ID number. -#}
{% macro shared_issues() -%}
{{ return([issue_malformed('parse_error'), issue_control_character('screening.control'),
           issue_personal_id('screening.personal_id')]) }}
{%- endmacro %}

{#- `<name> as <name>` through staged_text (as typed on an accepted row, digit runs
    masked on a rejected one) for each text column of `names`, separated by commas;
    `list=true`: list columns. -#}
{% macro staged_texts(names, list=false) -%}
{%- for name in names %}
        {{ staged_text(name, list=list) }} as {{ name }}{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}

{#- The division → sector map of the seed sector_divisions (2-digit 大类 → 门类 letter),
    as one row `division_map`: what normalize_industry_code reads. -#}
{% macro sector_division_map() -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('sector_division_map')()) }}{% endif -%}
select map(list(division order by division), list(sector order by division)) as division_map
    from {{ ref('sector_divisions') }}
{%- endmacro %}

{#- A lookup from `key` to `value` over the rows of an aggregate (a seed's words →
    its values), as one map: what `<map>[<key>]` reads; `where`: of the rows it holds
    only (an empty map when none does). -#}
{% macro lookup_map(key, value, where=none) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('lookup_map')(key, value, where=where)) }}{% endif -%}
{%- if where is none -%}
map(list({{ key }}), list({{ value }}))
{%- else -%}
map(coalesce(list({{ key }} order by {{ key }}) filter (where {{ where }}), []::varchar[]),
            coalesce(list({{ value }} order by {{ key }}) filter (where {{ where }}), []::varchar[]))
{%- endif -%}
{%- endmacro %}

{#- The distinct values of an aggregate's rows where `where` holds, sorted, as one text
    joined by `separator`; NULL when there are none. -#}
{% macro distinct_text_agg(value, separator, where) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('distinct_text_agg')(value, separator, where)) }}{% endif -%}
string_agg(distinct {{ value }}, '{{ separator }}' order by {{ value }}) filter (where {{ where }})
{%- endmacro %}

{#- The distinct values of an aggregate's rows, as a list (in no particular order). -#}
{% macro distinct_list(value) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('distinct_list')(value)) }}{% endif -%}
list(distinct {{ value }})
{%- endmacro %}

{#- How many elements a list holds. -#}
{% macro list_size(list) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('list_size')(list)) }}{% endif -%}
len({{ list }})
{%- endmacro %}

{#- Whether the whole of `text` matches `pattern` (one both engines' regular expressions
    read alike: no \s, no $). -#}
{% macro full_match(text, pattern) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('full_match')(text, pattern)) }}{% endif -%}
regexp_full_match({{ text }}, '{{ pattern }}')
{%- endmacro %}

{#- The elements of `list` that `allowed` (a list) does not hold; all of them when
    `allowed` is NULL. -#}
{% macro list_outside(list, allowed) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('list_outside')(list, allowed)) }}{% endif -%}
list_filter({{ list }}, lambda _i: not coalesce(list_contains({{ allowed }}, _i), false))
{%- endmacro %}

{#- Each element of `list` looked up, lower-cased, in `map` (`var` names the element). -#}
{% macro looked_up(list, map, var) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('looked_up')(list, map, var)) }}{% endif -%}
list_transform({{ list }}, lambda {{ var }}: {{ map }}[lower({{ var }})])
{%- endmacro %}

{#- Each element of `list` (pieces of a cleaned text) through normalize_industry_code. -#}
{% macro industry_codes(list, division_map) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('industry_codes')(list, division_map)) }}{% endif -%}
list_transform({{ list }}, lambda _s: {{ normalize_industry_code('_s', division_map) }})
{%- endmacro %}

{#- The distinct non-NULL elements of a list, sorted. -#}
{% macro sorted_set(list) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('sorted_set')(list)) }}{% endif -%}
list_sort(list_distinct({{ list }}))
{%- endmacro %}

{#- The elements of `raw` whose counterpart (same position) in `mapped` is NULL: the
    values no rule recognised. -#}
{% macro unmapped(raw, mapped) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('unmapped')(raw, mapped)) }}{% endif -%}
list_filter({{ raw }}, lambda _v, _i: {{ mapped }}[_i] is null)
{%- endmacro %}

{#- One row per value of `values` (expressions of one row, each after `prefix`), as a
    set-returning expression of a select list. -#}
{% macro values_as_rows(values, prefix='') -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('values_as_rows')(values, prefix=prefix)) }}{% endif -%}
unnest([{% for v in values %}{{ prefix }}{{ v }}{{ ', ' if not loop.last }}{% endfor %}])
{%- endmacro %}

{#- `materialized ` (with its space) before a CTE's body where the engine computes a CTE
    once when asked to (DuckDB); nothing where it has no such hint. -#}
{% macro cte_materialized() -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('cte_materialized')()) }}{% endif -%}
materialized {# #}
{%- endmacro %}

{#- The list of an aggregate's rows as structs of `fields` ((name, expression) pairs), in
    the order of `order_by` (expressions, ascending). -#}
{% macro ordered_structs(fields, order_by) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('ordered_structs')(fields, order_by)) }}{% endif -%}
list({ {%- for f in fields %}'{{ f[0] }}': {{ f[1] }}{{ ", " if not loop.last }}{% endfor %}} order by {{ order_by | join(', ') }})
{%- endmacro %}

{#- The class (status_class) of the first of `words` (ordered_structs of word and
    status_class, by priority) that `text` contains; NULL when it contains none. -#}
{% macro first_word_class(text, words) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('first_word_class')(text, words)) }}{% endif -%}
list_transform(
            [list_filter({{ words }}, lambda _w: contains({{ text }}, _w.word))],
            lambda _m: case when len(_m) > 0 then _m[1].status_class end
        )[1]
{%- endmacro %}

{#- A window (a draw list's, a plan's): window_start and window_end parsed from their
    cleaned texts (window_start_text, window_end_text). -#}
{% macro window_dates() -%}
{{ parse_date('window_start_text', cleaned=true) }} as window_start,
        {{ parse_date('window_end_text', cleaned=true) }} as window_end
{%- endmacro %}

{#- A window's rules, in two parts (each feed lists them among its own, in the order its
    reasons give them): both dates are required (window_required); each must be a
    date, and the window is inclusive, its end on or after its start (window_rules). -#}
{% macro window_required() -%}
{{ return([issue_required('window_start_text', 'window_start'), issue_required('window_end_text', 'window_end')]) }}
{%- endmacro %}

{% macro window_rules() -%}
{{ return([
    issue_date('window_start_text', 'window_start', 'window_start'),
    issue_date('window_end_text', 'window_end', 'window_end'),
    issue('window_end < window_start', 'window_end_before_start',
          "'window_end: ' || " ~ quoted('window_end') ~ " || ' is before window_start ' || " ~ quoted('window_start') ~ " || ' (a window is inclusive: end on or after start)'"),
]) }}
{%- endmacro %}

{#- The list and text expressions of the intermediate models and marts, each a DuckDB
    form here and a Spark twin (macros/spark_staging_helpers.sql). -#}

{#- The elements of `list` for which `condition` (over the element `var`) holds. -#}
{% macro list_where(list, var, condition) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('list_where')(list, var, condition)) }}{% endif -%}
list_filter({{ list }}, lambda {{ var }}: {{ condition }})
{%- endmacro %}

{#- Each element of `list` (named `var`) as `expression`. -#}
{% macro list_map(list, var, expression) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('list_map')(list, var, expression)) }}{% endif -%}
list_transform({{ list }}, lambda {{ var }}: {{ expression }})
{%- endmacro %}

{#- The first element of a list; NULL when it is empty. -#}
{% macro first_of(list) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('first_of')(list)) }}{% endif -%}
{{ list }}[1]
{%- endmacro %}

{#- A list sorted ascending (NULLs last on both engines). -#}
{% macro list_sorted(list) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('list_sorted')(list)) }}{% endif -%}
list_sort({{ list }})
{%- endmacro %}

{#- Whether `list` holds `value`. -#}
{% macro list_has(list, value) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('list_has')(list, value)) }}{% endif -%}
list_contains({{ list }}, {{ value }})
{%- endmacro %}

{#- `list` with `value` added at its end. -#}
{% macro list_appended(list, value) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('list_appended')(list, value)) }}{% endif -%}
list_append({{ list }}, {{ value }})
{%- endmacro %}

{#- The non-NULL values of `items` (SQL: expressions separated by commas), sorted;
    `var` names an element in DuckDB's lambda. -#}
{% macro sorted_present(items, var) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('sorted_present')(items, var)) }}{% endif -%}
list_sort(list_filter([{{ items }}], lambda {{ var }}: {{ var }} is not null))
{%- endmacro %}

{#- A list's elements joined by `separator` into one text, NULLs left out. -#}
{% macro joined_text(list, separator) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('joined_text')(list, separator)) }}{% endif -%}
array_to_string({{ list }}, '{{ separator }}')
{%- endmacro %}

{#- How many distinct non-NULL values a list holds. -#}
{% macro distinct_count(list) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('distinct_count')(list)) }}{% endif -%}
list_unique({{ list }})
{%- endmacro %}

{#- The type of a text (`list`: of a list of texts), for a cast. -#}
{% macro text_type(list=false) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('text_type')(list=list)) }}{% endif -%}
varchar{{ '[]' if list }}
{%- endmacro %}

{#- The word after `relation.*` that leaves the columns listed after it out. -#}
{% macro star_except() -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('star_except')()) }}{% endif -%}
exclude
{%- endmacro %}

{#- Whether `text` starts with `prefix`; ends with `suffix`. -#}
{% macro text_starts_with(text, prefix) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('text_starts_with')(text, prefix)) }}{% endif -%}
starts_with({{ text }}, {{ prefix }})
{%- endmacro %}

{% macro text_ends_with(text, suffix) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('text_ends_with')(text, suffix)) }}{% endif -%}
ends_with({{ text }}, {{ suffix }})
{%- endmacro %}

{#- The sorted list of an aggregate's `value`s (never NULL here), of the rows where
    `where` holds (NULL when none does), or its distinct values (`distinct`). -#}
{% macro sorted_list(value, where=none, distinct=false) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('sorted_list')(value, where=where, distinct=distinct)) }}{% endif -%}
list_sort(list({{ 'distinct ' if distinct }}{{ value }}){% if where is not none %} filter (where {{ where }}){% endif %})
{%- endmacro %}

{#- The list of an aggregate's `value`s in the order of `order_by` (expressions, ascending). -#}
{% macro ordered_list(value, order_by) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('ordered_list')(value, order_by)) }}{% endif -%}
list({{ value }} order by {{ order_by | join(', ') }})
{%- endmacro %}

{#- The list of an aggregate's rows as structs of `fields` ((name, expression) pairs),
    sorted by their fields in turn (a NULL field after every value). -#}
{% macro sorted_structs(fields) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('sorted_structs')(fields)) }}{% endif -%}
list_sort(list({{ struct_of(fields) }}))
{%- endmacro %}

{#- The first row (by `order_by`) of each `keys` of the select whose body (its select
    list, FROM and the rest, without `select`) the call block holds. -#}
{% macro first_rows(keys, order_by) -%}
{%- set body = caller() -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('first_rows')(keys, order_by, body)) }}{% endif -%}
select distinct on ({{ keys | join(', ') }}){{ body }}
    order by {{ order_by | join(', ') }}
{%- endmacro %}
