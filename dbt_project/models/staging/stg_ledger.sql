{#- The ingestion ledger as this build sees it: one row per landing file decided
    (ingested / duplicate / rejected). A snapshot taken once per build — every
    stg_<feed> reads only raw files ingested in it, and ingest_log counts from it —
    so files ingested while a build runs (the landing sensor does not wait for
    builds) are left whole for the next build instead of being half-counted.

    A build that restages only some feeds (a draws build, see
    pipelines/defs/dbt/build_state.py) names them in the build state
    (`restage_feeds`, comma-separated; empty = all): for the other feeds the
    snapshot keeps the ingested files the previous build staged, so the snapshot
    always says what the staging tables hold.

    Paths, errors and headers are shown with their digit runs masked
    (mask_personal, as everything leaving staging): a file may be named after a
    person, and a header-less file's first row may be taken for its headers. -#}

{%- set previous = previous_snapshot() if execute else none -%}

with

ledger as (
    select * from {{ source('raw', 'ledger') }}
),

final as (
    select
        mask_personal(path) as path,
        mask_personal(agency) as agency,  -- a rejected file's folder names, as found
        mask_personal(feed) as feed,
        sha256,
        bytes,
        mtime_ns,
        mtime,
        status,
        rows_read,
        error_code,
        mask_personal(error) as error,
        mask_personal(duplicate_of) as duplicate_of,
        format,
        encoding,
        {{ masked_json('headers') }} as headers,
        first_seen_at,
        processed_at
    from ledger
    where status is distinct from 'placeholder' and path is not null
)

{%- if previous is none %}

select * from final
{%- else %},

restaged as (
    select feed
    from (select {{ split_rows(build_state_value('restage_feeds'), ',') }} as feed)
    where feed <> ''
)

select * from final
where status is distinct from 'ingested'
   or not exists (select 1 from restaged)
   or feed in (select feed from restaged)
union all
select * from {{ previous }}
where status = 'ingested'
  and exists (select 1 from restaged)
  and feed not in (select feed from restaged)
{%- endif %}
