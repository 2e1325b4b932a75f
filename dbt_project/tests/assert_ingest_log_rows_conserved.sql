-- Nothing is lost silently (docs/contract.md §1): for every ingested file,
-- rows read = rows accepted + rows quarantined. Returns the files that do not add up.
select path, feed, sha256, rows_read, rows_accepted, rows_quarantined
from {{ ref('ingest_log') }}
where status = 'ingested'
  and rows_read <> rows_accepted + rows_quarantined
