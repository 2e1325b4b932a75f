{#
  Helpers shared by the stg_<feed> models (not value rules: those live in
  value_rules.sql). They may use dbt context; value_rules.sql may not.
#}

{#- The contract's feeds, one stg_<feed> model each: the marts that read every
    staging model (quarantine, ingest_log) loop over this list. The same list as
    connectors/feeds.py FEED_NAMES. -#}
{% macro feed_names() -%}
{{ return(['registration', 'approval', 'credit_risk', 'inspectors', 'draw_list', 'items', 'plans', 'results', 'links']) }}
{%- endmacro %}

{#- Where a feed's rows get their final verdict (reason_codes, reason, is_accepted, raw):
    its staging model, except for a feed whose accepted rows matching may still reject
    (results: not_drawn, int_results__resolved; links: enterprise_not_in_pool,
    int_links__checked). What quarantine and ingest_log read. -#}
{% macro feed_verdicts(feed) -%}
{%- if feed == 'results' -%}
{{ return(ref('int_results__resolved')) }}
{%- elif feed == 'links' -%}
{{ return(ref('int_links__checked')) }}
{%- else -%}
{{ return(ref('stg_' ~ feed)) }}
{%- endif -%}
{%- endmacro %}

{#- The feeds whose verdicts follow the draw entries as well as their own files: redone
    by every build, a draws build too (a result rejected not_drawn is accepted once
    its task's draw list arrives). -#}
{% macro feeds_following_draws() -%}
{{ return(['results']) }}
{%- endmacro %}

{#- The lineage columns every staging model carries, renamed from the raw store's,
    and the raw row itself (`_source`, a struct: staging_columns builds `raw` from it
    for the rejected rows only). A file's path is shown with its digit runs masked
    (mask_personal): agencies name files after people too. -#}
{% macro staging_lineage() -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('staging_lineage')()) }}{% endif -%}
        source as _source,
        _agency as agency,
        mask_personal(_source_file) as source_file,
        _file_sha256 as file_sha256,
        _source_row as source_row,
        _file_mtime as file_mtime,
        _ingested_at as ingested_at,
        _parse_error as parse_error
{%- endmacro %}

{#- `raw`: JSON of the original values (as read, untrimmed) keyed by canonical
    column name, then the columns outside the contract (from _extra), with the
    personal data masked (mask_personal_json): the feed's `personal: true` columns
    (feeds.yaml, through ssj_personal_columns) and the extra columns under a header
    naming an identity document masked whole, digit runs elsewhere masked, control
    characters shown as U+FFFD. Built for rejected rows only (staging_columns). -#}
{% macro raw_json(columns, feed, relation='source') -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('raw_json')(columns, feed, relation=relation)) }}{% endif -%}
{{ mask_personal_json("json_merge_patch(
            to_json({" ~ raw_struct_fields(columns, relation) ~ "}),
            coalesce(try_cast(" ~ relation ~ "._extra as json), '{}'::json))",
        "ssj_personal_columns('" ~ feed ~ "')") }}::json
{%- endmacro %}

{#- The fields of raw_json's struct: each column, as read. -#}
{%- macro raw_struct_fields(columns, relation) -%}
{%- for c in columns %}
                '{{ c }}': {{ relation }}.{{ c }}{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}

{#- `extra`: the columns outside the contract (JSON), personal data masked as in
    `raw`; a row pays one RE2 scan, the masking only when it holds a digit run or a
    personal header. -#}
{% macro extra_json(feed, relation='source') -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('extra_json')(feed, relation=relation)) }}{% endif -%}
try_cast({{ mask_personal_json_guarded(relation ~ '._extra', "ssj_personal_columns('" ~ feed ~ "')") }} as json)
{%- endmacro %}

{#- A text column (a list column: `list=true`) as staging keeps it: as typed on an
    accepted row (the row rules let no personal ID number through a checked
    column), with every digit run masked (mask_personal) on a rejected one. A list
    is masked as the one text its elements make, then split again: a number cut
    across two elements (the screening reads them joined by line breaks) is one
    run there. -#}
{% macro staged_text(col, list=false, relation='checked') -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('staged_text')(col, list=list, relation=relation)) }}{% endif -%}
case when {{ relation }}.outcome.is_accepted then {{ col }}
    else {% if list %}case when len({{ col }}) > 0 then string_split(mask_personal(array_to_string({{ col }}, chr(10))), chr(10)) else {{ col }} end{% else %}mask_personal({{ col }}){% endif %} end
{%- endmacro %}

{#- The columns every staging model ends with, in this order: lineage, the
    extra columns, the row rules' verdict, the original values. `raw` is the JSON of
    the feed's original values (raw_json of `columns` over `<relation>._source`); it is
    kept for rejected rows only — the quarantine shows it, and building it for the
    accepted ones cost a third of staging's time — unless `keep_raw`, for a small feed
    whose accepted rows a later model may still reject (links: enterprise_not_in_pool). -#}
{% macro staging_columns(feed, columns, relation='checked', keep_raw=false) -%}
{%- set raw = raw_json(columns, feed, relation=relation ~ '._source') -%}
agency,
        source_file,
        file_sha256,
        source_row,
        file_mtime,
        ingested_at,
        extra,
        {{ staging_outcome(relation) }},
        {% if keep_raw %}{{ raw }}{% else %}case when not {{ relation }}.outcome.is_accepted then {{ raw }} end{% endif %} as raw
{%- endmacro %}

{#- The outcome columns (part of staging_columns). -#}
{% macro staging_outcome(relation='checked') -%}
        {{ relation }}.outcome.reason_codes as reason_codes,
        {{ relation }}.outcome.reason as reason,
        {{ relation }}.outcome.is_accepted as is_accepted
{%- endmacro %}

{#- The raw rows of one feed whose file is ingested in this build's ledger
    snapshot (stg_ledger). Ingestion writes a raw file before its ledger entry; a
    crash between the two leaves a file no ledger entry vouches for, and its rows
    must not be seen (the next run re-ingests the drop and rewrites the same
    file); a file ingested during the build waits for the next one. -#}
{% macro ingested_rows(feed, new_files_only=false) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('ingested_rows')(feed, new_files_only=new_files_only)) }}{% endif -%}
{%- if new_files_only -%}
{#- An incremental model's batch: only the ingested files not yet in it
    (`this`), read by name, so the files staged before are not even opened. -#}
{%- set shas = [] -%}
{%- if execute -%}
    {%- set found = run_query(
        "select sha256 from " ~ ref('stg_ledger') ~ " where status = 'ingested' and feed = '" ~ feed ~ "'"
        ~ " except select distinct file_sha256 from " ~ this ~ " order by 1") -%}
    {%- set shas = found.columns[0].values() -%}
{%- endif -%}
{%- set folder = "getvariable('ssj_raw_dir') || '/" ~ feed ~ "/" -%}
select raw_rows.*
    from read_parquet([
        {{ folder }}_empty.parquet'
        {%- for sha in shas %}, {{ folder ~ sha }}.parquet'{% endfor -%}
    ], union_by_name = true) as raw_rows
{%- else -%}
select raw_rows.*
    from {{ source('raw', feed) }} as raw_rows
    where raw_rows._file_sha256 in (
        select sha256 from {{ ref('stg_ledger') }} where status = 'ingested'
    )
{%- endif -%}
{%- endmacro %}

{#- "The latest version of a key wins" (docs/contract.md §2): by the row's own date when
    it has one (undated last), else the later file (mtime, then file name), then the
    later row in that file. The rule lives here, in two forms that
    tests/unit/test_latest_version.py holds equal: an ORDER BY for a window
    (`row_number() over (partition by key order by latest_first('updated_at'))`) and
    a value whose maximum is the latest version, for an aggregate
    (`arg_max(x, latest_version('updated_at'))`, the latest version's x). -#}
{% macro latest_first(dated_by) -%}
{{ dated_by }} desc nulls last, file_mtime desc nulls last, source_file desc, source_row desc
{%- endmacro %}

{#- The accepted rows of a staging model with a non-null key, each with how many
    versions its key has (`version_count`) and its place among them, latest first
    (`version_rank`; 1 = the current version): what every int_*__current model
    keeps `where version_rank = 1`. -#}
{% macro ranked_versions(relation, key, dated_by) -%}
select
        accepted.*,
        count(*) over (partition by {{ key | join(', ') }}) as version_count,
        row_number() over (
            partition by {{ key | join(', ') }}
            order by {{ latest_first(dated_by) }}
        ) as version_rank
    from {{ relation }} as accepted
    where accepted.is_accepted and accepted.{{ key[-1] }} is not null
{%- endmacro %}

{#- Where a current version (version_rank = 1) comes from: its file and row, the
    columns every int_*__current model ends with (a `relation.` prefix to qualify them). -#}
{% macro version_lineage(prefix='') -%}
{{ prefix }}source_file,
    {{ prefix }}file_sha256,
    {{ prefix }}source_row,
    {{ prefix }}file_mtime
{%- endmacro %}

{#- A staging row's own id, to read a whole row back after picking it on narrow
    columns: the rowid of the staging table, 8 bytes against (file_sha256,
    source_row)'s 64-character text (carried through 10M registrations' aggregate:
    7.1 s of CPU against 17.9 s). Under `dbt build --empty` a ref is an empty subquery
    without a rowid: NULL then, with no rows to tell apart. A unit test's given rows
    have none either: a model using it has no dbt unit test. -#}
{% macro staged_row_id(alias) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('staged_row_id')(alias)) }}{% endif -%}
{%- if flags.EMPTY -%} null::bigint {%- else -%} {{ alias }}.rowid {%- endif -%}
{%- endmacro %}

{#- NULLs are never compared: a flag says whether the value is there, the value
    itself is then -infinity. -#}
{% macro latest_version(dated_by) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('latest_version')(dated_by)) }}{% endif -%}
{
    'dated': {{ dated_by }} is not null,
    'dated_by': coalesce({{ dated_by }}, '-infinity'),
    'has_mtime': file_mtime is not null,
    'file_mtime': coalesce(file_mtime, '-infinity'),
    'source_file': source_file,
    'source_row': source_row
}
{%- endmacro %}

{#- When an incremental model's batch was staged: the start of this dbt
    invocation, one value for all its rows. -#}
{% macro staged_at() -%}
'{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}'::timestamp
{%- endmacro %}

{#- A value the pipeline keeps in the warehouse table _ssj_build_state
    (pipelines/defs/dbt/build_state.py), as a SQL scalar; NULL when there is no
    such table (a build run by hand). Read when the model runs, not passed as a
    dbt var: a var that changes every build would cost dbt a full re-parse. -#}
{% macro build_state_value(key) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('build_state_value')(key)) }}{% endif -%}
{%- set state = adapter.get_relation(this.database, this.schema, '_ssj_build_state') if execute else none -%}
{%- if state is not none -%}
(select max(value) from {{ state }} where key = '{{ key }}')
{%- else -%}
null::varchar
{%- endif -%}
{%- endmacro %}

{#- A raw column cleaned and parsed once per distinct value, to be left-joined back
    on the raw value: rows of (raw_value, `text_as`, `parsed_as`). Such columns hold
    few distinct values (10M registrations: 270 industry codes, 58k dates, 305
    capitals; and by their nature entity types, registration authorities, region
    codes, licence types, credit grades), and cleaning and parsing every row's copy
    was most of staging's typing time. `parsed` is an SQL expression over `text_as`
    (the cleaned value), none for a column that is only cleaned; `cleaner` the
    cleaning macro (clean_text, or clean_code for codes); `also` is added after the
    FROM (a cross join to a lookup the expression reads).
    The values come from the same ingested rows as the model's: DuckDB then
    estimates both join sides alike and hashes the narrow lookup, not the wide rows
    (from all raw files, it hashed the rows and ran out of memory at 10M; see
    test_values_parsed_once_are_joined_as_the_build_side). -#}
{% macro parsed_per_value(feed, column, text_as, parsed=none, parsed_as=none, also='', cleaner='clean_text') -%}
{%- if cleaner not in ('clean_text', 'clean_code') -%}
    {{ exceptions.raise_compiler_error("parsed_per_value: cleaner must be clean_text or clean_code, not " ~ cleaner) }}
{%- endif -%}
select raw_value, {{ text_as }}{% if parsed is not none %}, {{ parsed }} as {{ parsed_as }}{% endif %}
    from (
        select raw_value, {{ clean_code('raw_value') if cleaner == 'clean_code' else clean_text('raw_value') }} as {{ text_as }}
        from (select distinct {{ adapter.quote(column) }} as raw_value from ({{ ingested_rows(feed) }}))
    ) {{ also }}
{%- endmacro %}

{#- The table a model builds, as the previous build left it (none before its first build):
    what a snapshot that keeps part of its rows reads back (stg_ledger). -#}
{% macro previous_snapshot() -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('previous_snapshot')()) }}{% endif -%}
{{ return(adapter.get_relation(this.database, this.schema, this.identifier)) }}
{%- endmacro %}

{#- A JSON value with every digit run of its text masked (mask_personal), kept as JSON. -#}
{% macro masked_json(col) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('masked_json')(col)) }}{% endif -%}
mask_personal({{ col }}::varchar)::json
{%- endmacro %}

{#- One row per piece of `text` cut at `separator` (a plain text, not a pattern), as a
    set-returning expression of a select list. -#}
{% macro split_rows(text, separator) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('split_rows')(text, separator)) }}{% endif -%}
unnest(string_split({{ text }}, '{{ separator }}'))
{%- endmacro %}

{#- An empty list of texts (a list column's value where there is none). -#}
{% macro empty_text_list() -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('empty_text_list')()) }}{% endif -%}
[]::varchar[]
{%- endmacro %}

{#- The text of a JSON object's member `key` (a JSON text of it when it is no string);
    NULL when there is none. -#}
{% macro json_member_text(json, key) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('json_member_text')(json, key)) }}{% endif -%}
{{ json }}->>'{{ key }}'
{%- endmacro %}

{#- The `value` of the row whose `key` is the greatest (arg_max: with latest_version as
    the key, the latest version's). -#}
{% macro value_at_max(value, key) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('value_at_max')(value, key)) }}{% endif -%}
arg_max({{ value }}, {{ key }})
{%- endmacro %}

{#- A struct of `fields` ((name, expression) pairs). -#}
{% macro struct_of(fields) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('struct_of')(fields)) }}{% endif -%}
{ {%- for f in fields %}'{{ f[0] }}': {{ f[1] }}{{ ", " if not loop.last }}{% endfor %}}
{%- endmacro %}
