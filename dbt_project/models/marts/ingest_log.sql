{#- One row per landing file seen (docs/contract.md §3), from the ingestion ledger, with
    the row outcome counted from staging for ingested files. -#}
{%- set feeds = feed_names() -%}

with

ledger as (
    select * from {{ ref('stg_ledger') }}
),

staged_rows as (
    {% for feed in feeds %}
    select file_sha256, is_accepted from {{ feed_verdicts(feed) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

row_outcomes as (
    select
        file_sha256,
        count(*) filter (where is_accepted) as rows_accepted,
        count(*) filter (where not is_accepted) as rows_quarantined
    from staged_rows
    group by file_sha256
),

final as (
    select
        ledger.path,
        ledger.agency,
        ledger.feed,
        ledger.sha256,
        ledger.bytes,
        ledger.status,
        coalesce(ledger.rows_read, 0) as rows_read,
        case when ledger.status = 'ingested' then coalesce(row_outcomes.rows_accepted, 0) else 0 end as rows_accepted,
        case when ledger.status = 'ingested' then coalesce(row_outcomes.rows_quarantined, 0) else 0 end as rows_quarantined,
        ledger.error,
        ledger.error_code,
        ledger.duplicate_of,
        ledger.format,
        ledger.encoding,
        ledger.mtime as file_mtime,
        ledger.first_seen_at,
        ledger.processed_at
    from ledger
    left join row_outcomes on row_outcomes.file_sha256 = ledger.sha256
)

select * from final
order by first_seen_at, path
