{#- The ingestion ledger as this build sees it: one row per landing file decided
    (ingested / duplicate / rejected). A snapshot taken once per build — every
    stg_<feed> reads only raw files ingested in it, and ingest_log counts from it —
    so files ingested while a build runs (the landing sensor does not wait for
    builds) are left whole for the next build instead of being half-counted. -#}

with

ledger as (
    select * from {{ source('raw', 'ledger') }}
),

final as (
    select
        path,
        agency,
        feed,
        sha256,
        bytes,
        mtime_ns,
        mtime,
        status,
        rows_read,
        error_code,
        error,
        duplicate_of,
        format,
        encoding,
        headers,
        first_seen_at,
        processed_at
    from ledger
    where status is distinct from 'placeholder' and path is not null
)

select * from final
