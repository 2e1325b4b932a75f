{#-
  执法检查人员: the current version of every inspector, one row per (agency, cert_no).

  Key: the 执法证号 together with its issuer — the agency whose roster (folder, or
  configured SQL source) delivered it. 执法证号 formats differ by issuer (docs/domain.md:
  "store as an opaque string with the issuer"), so two issuers' identical numbers
  stay two inspectors. With one roster per justice bureau this is the contract's
  key cert_no.

  Latest version wins (docs/contract.md §2): updated_at (newest first, undated last), then
  the later file (file_mtime), then source_file, then source_row — a total order.
-#}

with

ranked as (
    {{ ranked_versions(ref('stg_inspectors'), ['agency', 'cert_no'], 'updated_at') }}
)

select
    agency || ':' || cert_no as inspector_id,
    agency as issuer_agency,
    cert_no,
    name,
    id_no_masked,
    agency_name,
    unit,
    region_code,
    coalesce(qualifications_raw, {{ empty_text_list() }}) as qualifications_raw,
    coalesce(specialties_raw, {{ empty_text_list() }}) as specialties_raw,
    cert_valid_to,
    status,
    updated_at,
    version_count,
    {{ version_lineage() }}
from ranked
where version_rank = 1
