{#-
  行政审批/许可: the current version of every licence (key licence_no).
  Latest by updated_at (undated last), then the later file, source_file, source_row.
  is_valid_on_as_of: status 有效 or blank AND valid_from ≤ as_of ≤ valid_to
  (a missing bound is open; 长期 was already mapped to 9999-12-31 in staging).
  address: approval has no address column in the contract; an extra column headed
  地址 / 住所 / 经营场所 / 生产地址 / address is used for name + address linking.
-#}
{%- set address_text = "coalesce(" ~ json_member_text('extra', 'address') ~ ", " ~ json_member_text('extra', '地址') ~ ", "
    ~ json_member_text('extra', '住所') ~ ", " ~ json_member_text('extra', '经营场所') ~ ", "
    ~ json_member_text('extra', '生产地址') ~ ")" -%}

with

ranked as (
    {{ ranked_versions(ref('stg_approval'), ['licence_no'], 'updated_at') }}
)

select
    licence_no,
    licence_type,
    uscc,
    name,
    {{ normalize_name('name') }} as name_normalized,
    {{ clean_text(address_text) }} as address,
    {{ normalize_address(address_text) }} as address_normalized,
    valid_from,
    valid_to,
    issuer,
    scope,
    status,
    updated_at,
    (status is null or status = '有效')
        and (valid_from is null or valid_from <= {{ as_of() }})
        and (valid_to is null or valid_to >= {{ as_of() }}) as is_valid_on_as_of,
    case
        when status is not null and status <> '有效' then 'status ' || status
        when valid_from > {{ as_of() }} then 'not yet valid (from ' || valid_from || ')'
        when valid_to < {{ as_of() }} then 'expired (to ' || valid_to || ')'
    end as invalid_reason,
    version_count,
    agency,
    {{ version_lineage() }}
from ranked
where version_rank = 1
