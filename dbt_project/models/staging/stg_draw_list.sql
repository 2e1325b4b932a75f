{#- 抽取名单: every raw row, typed, with the row rules' verdict.

    Incremental (append): a build stages only the draw-list files not staged
    before; `staged_at` (the dbt invocation's start) tells the batches apart, so
    the draw chain downstream (int_draw__current …) redoes only the tasks of the
    newest batches and the GX suite validates only the newest batch. A change of
    rules rebuilds it in full (--full-refresh, pipelines/defs/dbt/build_state.py). -#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
{%- set columns = ['task_id', 'task_name', 'agency', 'uscc', 'name', 'address', 'items', 'window_start',
                   'window_end'] -%}

with

source as (
    {{ ingested_rows('draw_list', new_files_only=is_incremental()) }}
),

agencies as (
    select code, name from {{ source('raw', 'agencies') }}
),

cleaned as (
    select
        {{ cleaned_columns('draw_list', [
            ('task_id', 'key'), ('task_name', 'text'), ('agency', 'text', 'agency_declared'), ('uscc', 'code'),
            ('name', 'text'), ('address', 'text'), ('items', 'list'),
            ('window_start', 'text', 'window_start_text'), ('window_end', 'text', 'window_end_text'),
        ]) }}
    from source
),

typed as (
    select
        cleaned.*,
        {{ window_dates() }},
        agencies.name as folder_agency_name,
        -- the declared agency must be the folder's: its code (any case) or its registry name
        agency_declared is not null
            and lower(agency_declared) is distinct from cleaned.agency
            and agency_declared is distinct from {{ clean_text('agencies.name') }} as agency_mismatch
    from cleaned
    left join agencies on agencies.code = cleaned.agency
),

{{ screened_and_checked('typed',
    texts=['task_name', ('agency', 'agency_declared'), 'name', 'address',
           ('items', "array_to_string(items, chr(10))"), ('window_start', 'window_start_text'),
           ('window_end', 'window_end_text'), 'task_id'],
    codes=['uscc'],
    issues=[
        issue_required('task_id', 'task_id'),
    ] + window_required() + [
        issue_uscc_or_name(),
        issue_uscc('uscc'),
    ] + window_rules() + [
        issue('agency_mismatch', 'agency_mismatch',
              "'agency: ' || " ~ quoted('agency_declared') ~ " || ' is not the agency whose folder the file came from (expected ' || agency || coalesce(' or ' || folder_agency_name, '') || ')'"),
    ]) }},

final as (
    select
        {{ staged_texts(['task_id', 'task_name', 'agency_declared', 'uscc', 'name', 'address']) }},
        {{ staged_texts(['items'], list=true) }},
        window_start,
        window_end,
        {{ staging_columns('draw_list', columns) }},
        {{ staged_at() }} as staged_at
    from checked
)

select * from final
