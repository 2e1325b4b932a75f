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
        {{ staging_lineage() }},
        {{ clean_key('source.task_id') }} as task_id,
        {{ clean_text('source.task_name') }} as task_name,
        {{ clean_text('source.agency') }} as agency_declared,
        {{ clean_code('source.uscc') }} as uscc,
        {{ clean_text('source.name') }} as name,
        {{ clean_text('source.address') }} as address,
        {{ split_list('source.items') }} as items,
        {{ clean_text('source.window_start') }} as window_start_text,
        {{ clean_text('source.window_end') }} as window_end_text,
        {{ extra_json('draw_list') }} as extra
    from source
),

typed as (
    select
        cleaned.*,
        {{ parse_date('window_start_text', cleaned=true) }} as window_start,
        {{ parse_date('window_end_text', cleaned=true) }} as window_end,
        agencies.name as folder_agency_name,
        -- the declared agency must be the folder's: its code (any case) or its registry name
        agency_declared is not null
            and lower(agency_declared) is distinct from cleaned.agency
            and agency_declared is distinct from {{ clean_text('agencies.name') }} as agency_mismatch
    from cleaned
    left join agencies on agencies.code = cleaned.agency
),

{#- every text is screened for a personal ID number and a control character; every
    code, and the columns outside the contract, for a control character -#}
screened as (
    select
        typed.*,
        {{ screen_texts(['task_name', ('agency', 'agency_declared'), 'name', 'address',
                         ('items', "array_to_string(items, chr(10))"), ('window_start', 'window_start_text'),
                         ('window_end', 'window_end_text'), 'task_id'],
                        codes=['uscc'], json='_source._extra') }} as screening
    from typed
),

checked as (
    select
        screened.*,
        {{ collect_issues([
            issue_malformed('parse_error'),
            issue_control_character('screening.control'),
            issue_personal_id('screening.personal_id'),
            issue_required('task_id', 'task_id'),
            issue_required('window_start_text', 'window_start'),
            issue_required('window_end_text', 'window_end'),
            issue('uscc is null and name is null', 'missing_required',
                  "'uscc, name: a 统一社会信用代码 or an enterprise name is required, both are missing'"),
            issue_uscc('uscc'),
            issue_date('window_start_text', 'window_start', 'window_start'),
            issue_date('window_end_text', 'window_end', 'window_end'),
            issue('window_end < window_start', 'window_end_before_start',
                  "'window_end: ' || " ~ quoted('window_end') ~ " || ' is before window_start ' || " ~ quoted('window_start') ~ " || ' (a window is inclusive: end on or after start)'"),
            issue('agency_mismatch', 'agency_mismatch',
                  "'agency: ' || " ~ quoted('agency_declared') ~ " || ' is not the agency whose folder the file came from (expected ' || agency || coalesce(' or ' || folder_agency_name, '') || ')'"),
        ]) }} as outcome
    from screened
),

final as (
    select
        {{ staged_text('task_id') }} as task_id,
        {{ staged_text('task_name') }} as task_name,
        {{ staged_text('agency_declared') }} as agency_declared,
        {{ staged_text('uscc') }} as uscc,
        {{ staged_text('name') }} as name,
        {{ staged_text('address') }} as address,
        {{ staged_text('items', list=true) }} as items,
        window_start,
        window_end,
        {{ staging_columns(raw_json(columns, 'draw_list', relation='checked._source')) }},
        {{ staged_at() }} as staged_at
    from checked
)

select * from final
