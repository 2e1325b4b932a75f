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
