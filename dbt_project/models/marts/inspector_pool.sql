{#-
  执法检查人员名录库 (docs/contract.md §3), one row per inspector, eligibility as of the run's as_of date.

  inspector_id = '<issuer agency>:<cert_no>' (see int_inspector__current): stable
  across reruns and roster versions.

  qualifications / specialties: the raw values mapped to the controlled
  vocabulary of seed qualification_vocab (keyword → term; a raw value maps to
  every term whose keyword it contains, case-insensitive: '食品安全监管' → food,
  '食药监' → food + drug), sorted and distinct. Raw values matching no keyword
  are kept in *_raw and listed in *_unmapped — never dropped silently.

  is_eligible / ineligible_reason, checked in this precedence order:
    1. status        seed inspector_status (a status CONTAINING a word; ineligible
                     words first, so '不在岗' is not eligible): not eligible →
                     'status:<status>' (e.g. 'status:退休'); a status no word
                     matches → 'status:<status>' as well; no status → 'status:unknown'
                     (an officer whose duty status is not known is not dispatched);
    2. certificate   cert_valid_to < as_of → 'certificate_expired'
                     (no expiry date given → not expired; 长期 = 9999-12-31);
    3. qualification no qualification at all → 'no_qualification'; qualifications
                     given but none in the vocabulary → 'unmapped_qualification'.
  ineligible_reason joins every applicable reason with '; ' in that order
  (ineligible_reasons is the same as a list); NULL when eligible.
  id_no_masked only: the full 身份证号 never leaves staging's input.
-#}

with

inspectors as (
    select * from {{ ref('int_inspector__current') }}
),

vocab as (
    select list({'keyword': lower(keyword), 'term': term}) as entries
    from {{ ref('qualification_vocab') }}
),

status_words as (
    select list({'word': word, 'is_eligible': is_eligible, 'priority': priority} order by priority, word) as entries
    from {{ ref('inspector_status') }}
),

mapped as (
    select
        inspectors.*,
        list_sort(list_distinct(flatten(list_transform(inspectors.qualifications_raw, lambda q:
            list_transform(list_filter(vocab.entries, lambda v: contains(lower(q), v.keyword)), lambda v: v.term)))))
            as qualifications,
        list_filter(inspectors.qualifications_raw, lambda q:
            len(list_filter(vocab.entries, lambda v: contains(lower(q), v.keyword))) = 0) as qualifications_unmapped,
        list_sort(list_distinct(flatten(list_transform(inspectors.specialties_raw, lambda q:
            list_transform(list_filter(vocab.entries, lambda v: contains(lower(q), v.keyword)), lambda v: v.term)))))
            as specialties,
        list_filter(inspectors.specialties_raw, lambda q:
            len(list_filter(vocab.entries, lambda v: contains(lower(q), v.keyword))) = 0) as specialties_unmapped,
        list_filter(status_words.entries, lambda w: contains(inspectors.status, w.word))[1].is_eligible
            as status_is_eligible
    from inspectors
    cross join vocab
    cross join status_words
),

judged as (
    select
        mapped.*,
        list_filter([
            case
                when status is null then 'status:unknown'
                when status_is_eligible is distinct from true then 'status:' || status
            end,
            case when cert_valid_to < {{ as_of() }} then 'certificate_expired' end,
            case
                when len(qualifications_raw) = 0 then 'no_qualification'
                when len(qualifications) = 0 then 'unmapped_qualification'
            end
        ], lambda r: r is not null) as ineligible_reasons
    from mapped
)

select
    inspector_id,
    cert_no,
    issuer_agency,
    name,
    id_no_masked,
    agency_name,
    unit,
    region_code,
    qualifications,
    qualifications_raw,
    qualifications_unmapped,
    specialties,
    specialties_raw,
    specialties_unmapped,
    cert_valid_to,
    status,
    len(ineligible_reasons) = 0 as is_eligible,
    nullif(array_to_string(ineligible_reasons, '; '), '') as ineligible_reason,
    ineligible_reasons,
    updated_at,
    source_file,
    source_row
from judged
order by inspector_id
