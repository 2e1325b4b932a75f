{#- 人工确认 (links): every raw row of a data steward's decisions, typed, with the row
    rules' verdict. A link names the rows of one agency's draw list (task_id) or licence
    (licence_no) that carry its name (and its USCC, when both carry one) and decides
    their enterprise (docs/contract.md §9, docs/matching.md).

    The file's `agency` column is the agency whose rows are decided (`target_agency`:
    its registry code, written as the code in any case or as the registry name); the
    lineage `agency` is the steward's folder, as for every feed.

    `raw` is kept on every row: int_links__checked may still reject an accepted one
    (a link to an enterprise_id the pool does not hold, enterprise_not_in_pool). -#}
{%- set columns = ['target_feed', 'agency', 'source_key', 'name', 'uscc', 'enterprise_id', 'decided_by',
                   'decided_on', 'note'] -%}

with

source as (
    {{ ingested_rows('links') }}
),

agencies as (
    select code, {{ clean_text('name') }} as name from {{ source('raw', 'agencies') }}
),

cleaned as (
    select
        {{ cleaned_columns('links', [
            ('target_feed', 'text', 'target_feed_text'), ('agency', 'text', 'target_agency_text'),
            ('source_key', 'key'), ('name', 'text'), ('uscc', 'code'), ('enterprise_id', 'code'),
            ('decided_by', 'text'), ('decided_on', 'text', 'decided_on_text'), ('note', 'text'),
        ]) }}
    from source
),

typed as (
    select
        cleaned.*,
        case
            when lower(target_feed_text) in ('draw_list', '抽取名单', '抽查名单', '名单') then 'draw_list'
            when lower(target_feed_text) in ('approval', '行政许可', '许可', '行政审批', '审批', '许可证') then 'approval'
        end as target_feed,
        coalesce(by_code.code, by_name.code) as target_agency,
        {{ parse_date('decided_on_text', cleaned=true) }} as decided_on
    from cleaned
    left join agencies as by_code on by_code.code = lower(cleaned.target_agency_text)
    left join agencies as by_name on by_name.name = cleaned.target_agency_text
),

{{ screened_and_checked('typed',
    texts=[('target_feed', 'target_feed_text'), ('agency', 'target_agency_text'), 'source_key', 'name',
           'decided_by', ('decided_on', 'decided_on_text'), 'note'],
    codes=['uscc', 'enterprise_id'],
    issues=[
        issue_required('target_feed_text', 'target_feed'),
        issue_required('target_agency_text', 'agency'),
        issue_required('source_key', 'source_key'),
        issue_required('enterprise_id', 'enterprise_id'),
        issue('uscc is null and name is null', 'missing_required',
              "'uscc, name: the name or the 统一社会信用代码 of the rows decided is required, both are missing'"),
        issue('target_feed_text is not null and target_feed is null', 'invalid_target_feed',
              "'target_feed: ' || " ~ quoted('target_feed_text') ~ " || ' is not a feed a link decides (expected draw_list / 抽取名单 or approval / 行政许可)'"),
        issue('target_agency_text is not null and target_agency is null', 'unknown_agency',
              "'agency: ' || " ~ quoted('target_agency_text') ~ " || ' is not an agency of the registry (expected its code or its name)'"),
        issue_uscc('uscc'),
        issue('enterprise_id is not null and not (' ~ uscc_is_valid('enterprise_id') ~ " or (enterprise_id like 'R%' and "
              ~ reg_no_is_valid('substr(enterprise_id, 2)') ~ '))', 'invalid_enterprise_id',
              "'enterprise_id: ' || " ~ quoted('enterprise_id') ~ " || ' is no enterprise_id of the pool (expected a 统一社会信用代码, or R and a 注册号)'"),
        issue_date('decided_on_text', 'decided_on', 'decided_on'),
        issue('decided_on > ' ~ as_of(), 'future_date',
              "'decided_on: ' || " ~ quoted('decided_on') ~ " || ' is after the run''s date ' || " ~ as_of() ~ " || ' (a decision is dated the day it was made; the latest decision wins, so a future date would pin it)'"),
    ]) }},

final as (
    select
        target_feed,
        {{ staged_text('target_agency_text') }} as agency_declared,
        target_agency,
        {{ staged_texts(['source_key', 'name']) }},
        {{ normalize_name(staged_text('name')) }} as name_normalized,
        {{ staged_texts(['uscc', 'enterprise_id', 'decided_by']) }},
        decided_on,
        {{ staged_texts(['note']) }},
        {{ staging_columns('links', columns, keep_raw=true) }}
    from checked
)

select * from final
