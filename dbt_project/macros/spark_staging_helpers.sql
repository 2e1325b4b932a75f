{#- The JSON columns of staging (macros/staging_helpers.sql: raw_json, extra_json) on
    Spark: Arrow UDFs that run the DuckDB macros themselves on each batch
    (pipelines/spark_json.py), so both engines write the same JSON text. -#}
{% macro spark__raw_json(columns, feed, relation='source') -%}
ssj_raw_json(named_struct(
    {%- for c in columns %}'{{ c }}', {{ relation }}.{{ c }}{{ ", " if not loop.last }}{% endfor -%}
), {{ relation }}._extra, '{{ feed }}')
{%- endmacro %}

{% macro spark__extra_json(feed, relation='source') -%}
ssj_extra_json({{ relation }}._extra, '{{ feed }}')
{%- endmacro %}

{#- staging_lineage: the raw row kept whole as a struct (DuckDB names the row by its
    alias, Spark builds it: struct(source.*)). -#}
{% macro spark__staging_lineage() -%}
        struct(source.*) as _source,
        _agency as agency,
        mask_personal(_source_file) as source_file,
        _file_sha256 as file_sha256,
        _source_row as source_row,
        _file_mtime as file_mtime,
        _ingested_at as ingested_at,
        _parse_error as parse_error
{%- endmacro %}

{#- staged_text: a list is masked as the one text its elements make (joined by line
    breaks), then split again, as on DuckDB. -#}
{% macro spark__staged_text(col, list=false, relation='checked') -%}
case when {{ relation }}.outcome.is_accepted then {{ col }}
    else {% if list %}case when size({{ col }}) > 0 then split(mask_personal(array_join({{ col }}, chr(10))), chr(10), -1) else {{ col }} end{% else %}mask_personal({{ col }}){% endif %} end
{%- endmacro %}

{#- ingested_rows: an incremental model's batch (new_files_only) is the rows of the
    ingested files not yet in it (`this`), as on DuckDB — here the feed's raw table
    filtered on those files' sha256 (Spark has no list of files to read by name), so
    Spark lists the folder; the rows are the same. -#}
{% macro spark__ingested_rows(feed, new_files_only=false) -%}
{%- if new_files_only -%}
{%- set shas = [] -%}
{%- if execute -%}
    {%- set found = run_query(
        "select sha256 from " ~ ref('stg_ledger') ~ " where status = 'ingested' and feed = '" ~ feed ~ "'"
        ~ " except select distinct file_sha256 from " ~ this ~ " order by 1") -%}
    {%- set shas = found.columns[0].values() -%}
    {%- for sha in shas if not modules.re.fullmatch('[0-9a-f]{64}', sha | string) -%}
    {{ exceptions.raise_compiler_error("ingested_rows: the ledger's sha256 " ~ (sha | string)[:80] ~ " is not a SHA-256") }}
    {%- endfor -%}
{%- endif -%}
select raw_rows.*
    from {{ source('raw', feed) }} as raw_rows
    where {% if shas %}raw_rows._file_sha256 in ({% for sha in shas %}'{{ sha }}'{{ ", " if not loop.last }}{% endfor %}){% else %}false{% endif %}
{%- else -%}
select raw_rows.*
    from {{ source('raw', feed) }} as raw_rows
    where raw_rows._file_sha256 in (
        select sha256 from {{ ref('stg_ledger') }} where status = 'ingested'
    )
{%- endif -%}
{%- endmacro %}

{#- build_state_value: the same scalar, Spark's type names. -#}
{% macro spark__build_state_value(key) -%}
{%- set state = adapter.get_relation(this.database, this.schema, '_ssj_build_state') if execute else none -%}
{%- if state is not none -%}
(select max(value) from {{ state }} where key = '{{ key }}')
{%- else -%}
cast(null as string)
{%- endif -%}
{%- endmacro %}

{#- previous_snapshot: Spark replaces a Parquet table by dropping it before the model's
    query runs, so the previous rows are copied first, to the table of the same name in
    the database prior_build, and read from there. A build that fails between the drop
    and the new table leaves no previous snapshot: the next build starts as a first one. -#}
{% macro spark__previous_snapshot() -%}
{%- set current = adapter.get_relation(this.database, this.schema, this.identifier) -%}
{%- if current is none -%}{{ return(none) }}{%- endif -%}
{%- set copy = api.Relation.create(schema='prior_build', identifier=this.identifier, type='table') -%}
{%- set _ = run_query('create database if not exists prior_build') -%}
{%- set _ = run_query('drop table if exists ' ~ copy) -%}
{%- set _ = run_query('create table ' ~ copy ~ ' using parquet as select * from ' ~ current) -%}
{{ return(copy) }}
{%- endmacro %}

{#- masked_json: Spark has no JSON type, and reads a JSON value into a string as it is
    written: the text in DuckDB's form of it (ssj_json_text, pipelines/spark_json.py), masked. -#}
{% macro spark__masked_json(col) -%}
mask_personal(ssj_json_text(cast({{ col }} as string)))
{%- endmacro %}

{#- split_rows: Spark's split takes a Java pattern: the separator is quoted. -#}
{% macro spark__split_rows(text, separator) -%}
explode(split({{ text }}, r'{{ modules.re.escape(separator) }}', -1))
{%- endmacro %}

{#- sector_division_map and lookup_map: a map from the rows' (key, value) entries (Spark's
    aggregates promise no order, and a map needs none). -#}
{% macro spark__sector_division_map() -%}
select map_from_entries(collect_list(struct(division, sector))) as division_map
    from {{ ref('sector_divisions') }}
{%- endmacro %}

{% macro spark__lookup_map(key, value, where=none) -%}
map_from_entries(collect_list(struct({{ key }}, {{ value }})){% if where is not none %} filter (where {{ where }}){% endif %})
{%- endmacro %}

{#- distinct_text_agg: collect_set, sorted (both engines order texts by their bytes);
    NULL, as string_agg, when no row has a value. -#}
{% macro spark__distinct_text_agg(value, separator, where) -%}
case when count({{ value }}) filter (where {{ where }}) > 0
    then array_join(array_sort(collect_set({{ value }}) filter (where {{ where }})), '{{ separator }}') end
{%- endmacro %}

{% macro spark__distinct_list(value) -%}
collect_set({{ value }})
{%- endmacro %}

{% macro spark__list_size(list) -%}
size({{ list }})
{%- endmacro %}

{#- full_match: rlike finds; anchored at both ends (\z: Java's $ also matches before a
    final line break). -#}
{% macro spark__full_match(text, pattern) -%}
{{ text }} rlike r'^(?:{{ pattern }})\z'
{%- endmacro %}

{% macro spark__list_outside(list, allowed) -%}
filter({{ list }}, _i -> not coalesce(array_contains({{ allowed }}, _i), false))
{%- endmacro %}

{% macro spark__looked_up(list, map, var) -%}
transform({{ list }}, {{ var }} -> {{ map }}[lower({{ var }})])
{%- endmacro %}

{#- industry_codes: Spark calls no Python function inside a lambda, so the elements are
    not NFKC'd again (pieces of a clean_text'd value: already NFKC, as split_keys says). -#}
{% macro spark__industry_codes(list, division_map) -%}
transform({{ list }}, _s -> {{ spark__normalize_industry_code('_s', division_map, normalized=true) }})
{%- endmacro %}

{#- sorted_set: DuckDB's list_distinct leaves NULLs out, Spark's array_distinct keeps one. -#}
{% macro spark__sorted_set(list) -%}
array_sort(array_distinct(filter({{ list }}, _e -> _e is not null)))
{%- endmacro %}

{#- unmapped: Spark's lambda index counts from 0, and get() is NULL past the end. -#}
{% macro spark__unmapped(raw, mapped) -%}
filter({{ raw }}, (_v, _i) -> get({{ mapped }}, _i) is null)
{%- endmacro %}

{% macro spark__values_as_rows(values, prefix='') -%}
explode(array({% for v in values %}{{ prefix }}{{ v }}{{ ', ' if not loop.last }}{% endfor %}))
{%- endmacro %}

{#- cte_materialized: Spark has no such hint (it plans a CTE read twice on its own). -#}
{% macro spark__cte_materialized() -%}
{{ return('') }}
{%- endmacro %}

{#- working_day_after: the same lookups by position — Spark's datediff(end, start), the
    calendar's lists sorted by day (collect_list promises no order), get() counting from
    0 and NULL outside the list. -#}
{% macro spark__working_day_after(start, days) -%}
{%- set calendar = ref('stg_calendar') -%}
{%- set place = "datediff(" ~ start ~ ", (select min(_wd.day) from " ~ calendar ~ " as _wd)) + 1" -%}
{%- set number = "case when " ~ place ~ " >= 1 and get((select array_sort(collect_list(_wd.day)) from " ~ calendar ~ " as _wd), cast(" ~ place ~ " - 1 as int)) = " ~ start
    ~ " then get((select transform(array_sort(collect_list(named_struct('day', _wd.day, 'working_no', cast(_wd.working_no as bigint)))), _wn -> _wn.working_no) from " ~ calendar ~ " as _wd), cast(" ~ place ~ " - 1 as int)) + " ~ days ~ " end" -%}
case when {{ number }} >= 1
    then get((select array_sort(collect_list(_wd.day) filter (where _wd.is_working_day)) from {{ calendar }} as _wd),
             cast({{ number }} - 1 as int)) end
{%- endmacro %}

{#- ordered_structs: collect_list promises no order, so each struct is collected with its
    sort keys in front (each after a flag that puts NULLs last, as DuckDB's ascending
    order does), sorted, and the keys taken off. -#}
{% macro spark__ordered_structs(fields, order_by) -%}
transform(array_sort(collect_list(named_struct(
    {%- for o in order_by %}'_n{{ loop.index }}', ({{ o }}) is null, '_k{{ loop.index }}', {{ o }}, {% endfor -%}
    '_v', named_struct({%- for f in fields %}'{{ f[0] }}', {{ f[1] }}{{ ", " if not loop.last }}{% endfor %})))), _os -> _os._v)
{%- endmacro %}

{#- first_word_class: get() is NULL past the end of the list (Spark's [i] fails there). -#}
{% macro spark__first_word_class(text, words) -%}
get(filter({{ words }}, _w -> contains({{ text }}, _w.word)), 0).status_class
{%- endmacro %}

{#- screened_and_checked: the row's findings are gathered into a column (`_issues`, the
    non-NULL ones) before the verdict is made of them (spark_outcome): Spark allows no
    subquery inside a higher-order function, and a finding's message may hold one (the
    calendar's years in stg_results'). -#}
{% macro spark__screened_and_checked(relation, texts, codes=[], issues=[]) -%}
{{ screened_cte(relation, texts, codes) }},

found as (
    select
        screened.*,
        array_compact(array(
            {%- for i in shared_issues() + issues %}
            {{ i }}{{ "," if not loop.last }}
            {%- endfor %}
        )) as _issues
    from screened
),

checked as (
    select
        found.*,
        {{ spark_outcome('found._issues') }} as outcome
    from found
)
{%- endmacro %}

{% macro spark__empty_text_list() -%}
cast(array() as array<string>)
{%- endmacro %}

{#- json_member_text: Spark keeps JSON as text; its JSONPath names the member in brackets. -#}
{% macro spark__json_member_text(json, key) -%}
get_json_object({{ json }}, '$[\'{{ key }}\']')
{%- endmacro %}

{#- staged_row_id: Spark tables have no row id; the key it stands for, (file_sha256,
    source_row), as one struct (a staging row's own: one raw row of one file). -#}
{% macro spark__staged_row_id(alias) -%}
{%- if flags.EMPTY -%} cast(null as struct<file_sha256: string, source_row: bigint>) {%- else -%}
named_struct('file_sha256', {{ alias }}.file_sha256, 'source_row', {{ alias }}.source_row)
{%- endif -%}
{%- endmacro %}

{#- latest_version: a missing date or time is never compared — its flag field, which
    precedes it, is false — so the fill value is only of its type. -#}
{% macro spark__latest_version(dated_by) -%}
named_struct(
    'dated', {{ dated_by }} is not null,
    'dated_by', coalesce({{ dated_by }}, date '0001-01-01'),
    'has_mtime', file_mtime is not null,
    'file_mtime', coalesce(file_mtime, timestamp_ntz '0001-01-01 00:00:00'),
    'source_file', source_file,
    'source_row', source_row
)
{%- endmacro %}

{% macro spark__value_at_max(value, key) -%}
max_by({{ value }}, {{ key }})
{%- endmacro %}

{% macro spark__struct_of(fields) -%}
named_struct({%- for f in fields %}'{{ f[0] }}', {{ f[1] }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{#- without_negated_clauses: Spark replaces every match; Java's $1 for RE2's \1 (an
    unmatched group adds nothing in both). -#}
{% macro spark__without_negated_clauses(col) -%}
regexp_replace(
        regexp_replace({{ col }}, r'[(][^()]*(?:不含|不包括|除|不得|禁止)[^()]*[)]', ''),
        r'(?:不含|不包括|不得)[^,;。:()]*|[^,;。:()]*除外|(^|[^拆清消排解去扫剔删驱破免切])除[^,;。:()]*?外',
        '$1')
{%- endmacro %}

{#- The list and text expressions of the intermediate models and marts
    (macros/staging_model.sql): Spark's higher-order functions, get() counting from 0
    (NULL past the end), Spark's names. -#}
{% macro spark__list_where(list, var, condition) -%}
filter({{ list }}, {{ var }} -> {{ condition }})
{%- endmacro %}

{% macro spark__list_map(list, var, expression) -%}
transform({{ list }}, {{ var }} -> {{ expression }})
{%- endmacro %}

{% macro spark__first_of(list) -%}
get({{ list }}, 0)
{%- endmacro %}

{% macro spark__list_sorted(list) -%}
array_sort({{ list }})
{%- endmacro %}

{% macro spark__list_has(list, value) -%}
array_contains({{ list }}, {{ value }})
{%- endmacro %}

{% macro spark__list_appended(list, value) -%}
array_append({{ list }}, {{ value }})
{%- endmacro %}

{#- sorted_present: array_compact and sort_array, no lambda (Spark allows no subquery
    inside a higher-order function — array_sort is one — and an item may hold one:
    int_licence__linked's name_mismatch). -#}
{% macro spark__sorted_present(items, var) -%}
sort_array(array_compact(array({{ items }})))
{%- endmacro %}

{#- joined_text: array_join, a built-in (a view may call no session function). -#}
{% macro spark__joined_text(list, separator) -%}
array_join({{ list }}, '{{ separator }}')
{%- endmacro %}

{#- distinct_count: DuckDB's list_unique counts no NULL; Spark's array_distinct keeps one. -#}
{% macro spark__distinct_count(list) -%}
size(array_distinct(filter({{ list }}, _u -> _u is not null)))
{%- endmacro %}

{% macro spark__text_type(list=false) -%}
{{ 'array<string>' if list else 'string' }}
{%- endmacro %}

{% macro spark__star_except() -%}
except
{%- endmacro %}

{% macro spark__text_starts_with(text, prefix) -%}
startswith({{ text }}, {{ prefix }})
{%- endmacro %}

{% macro spark__text_ends_with(text, suffix) -%}
endswith({{ text }}, {{ suffix }})
{%- endmacro %}

{#- sorted_list: collect_list of no row is an empty list where DuckDB's list is NULL, so
    a filtered one is NULL when no row passes. -#}
{% macro spark__sorted_list(value, where=none, distinct=false) -%}
{%- set collected = ('collect_set(' if distinct else 'collect_list(') ~ value ~ ')'
    ~ (' filter (where ' ~ where ~ ')' if where is not none else '') -%}
{%- if where is none -%}
array_sort({{ collected }})
{%- else -%}
case when count(*) filter (where {{ where }}) > 0 then array_sort({{ collected }}) end
{%- endif -%}
{%- endmacro %}

{#- ordered_list: each value collected with its sort keys (ordered_structs' way), so a
    NULL value keeps its place as in DuckDB's list. -#}
{% macro spark__ordered_list(value, order_by) -%}
transform(array_sort(collect_list(named_struct(
    {%- for o in order_by %}'_n{{ loop.index }}', ({{ o }}) is null, '_k{{ loop.index }}', {{ o }}, {% endfor -%}
    '_v', {{ value }}))), _ol -> _ol._v)
{%- endmacro %}

{#- sorted_structs: Spark sorts a NULL field of a struct first, DuckDB last: the structs
    are ordered_structs by their own fields. -#}
{% macro spark__sorted_structs(fields) -%}
{%- set keys = [] -%}{%- for f in fields %}{%- set _ = keys.append(f[1]) -%}{%- endfor -%}
{{ spark__ordered_structs(fields, keys) }}
{%- endmacro %}

{#- first_rows: Spark has no DISTINCT ON: each row numbered within its keys. -#}
{% macro spark__first_rows(keys, order_by, body) -%}
select * except (_first_row) from (
    select row_number() over (partition by {{ keys | join(', ') }} order by {{ order_by | join(', ') }}) as _first_row,{{ body }}
) where _first_row = 1
{%- endmacro %}

{#- contains_keyword (macros/keyword_rules.sql): the contexts blanked out by aggregate,
    Spark's fold, starting from the text. -#}
{% macro spark__contains_keyword(text, keyword, contexts) -%}
(contains({{ text }}, {{ keyword }})
    and ({{ contexts }} is null
         or contains(aggregate({{ contexts }}, {{ text }}, (_text, _context) -> replace(_text, _context, '|')),
                     {{ keyword }})))
{%- endmacro %}

{#- keyword_exclusion_lists: the contexts longest first, then by their text (collect_list
    promises no order: each collected with its sort keys, the length negated). -#}
{% macro spark__keyword_exclusion_lists() -%}
select keyword, transform(array_sort(collect_list(named_struct('_n', -length(context), '_c', context))), _x -> _x._c) as contexts
from {{ ref('keyword_exclusions') }}
group by keyword
{%- endmacro %}

{#- region_is_under (macros/regions.sql): startswith; the trailing zero pairs at the very
    end of the code (\z: Java's $ also matches before a final line break). -#}
{% macro spark__region_is_under(region, area) -%}
startswith(nullif(trim({{ region }}), ''), nullif(regexp_replace(trim({{ area }}), r'(00)+\z', ''), ''))
{%- endmacro %}
