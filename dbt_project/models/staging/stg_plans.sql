{#- 年度抽查工作计划: every raw row, typed, with the row rules' verdict — what a draw
    needs (docs/contract.md §6): the item codes, the window, one ratio per credit-grade
    stratum, the coordination group and the seed commitment.

    Ratios are fractions in [0, 1], written as 0.05 or 5% (parse_ratio). ratio_a and
    ratio_b are needed; a blank ratio_c, ratio_d or ratio_none takes ratio_b's value.
    A plan's items must be codes of its own agency's item list: the item codes of
    the agency's accepted items rows (every key with an accepted version is on the
    current list). seed_sha256 is kept as lower-case hex. -#}
{%- set columns = ['task_id', 'task_name', 'items', 'window_start', 'window_end', 'ratio_a', 'ratio_b', 'ratio_c',
                   'ratio_d', 'ratio_none', 'coordination', 'seed_sha256'] -%}
{%- set ratios = ['ratio_a', 'ratio_b', 'ratio_c', 'ratio_d', 'ratio_none'] -%}
{%- set ratio_expectation = "a fraction such as 0.05 or a percent such as 5%" -%}

with

source as (
    {{ ingested_rows('plans') }}
),

agency_items as (
    select agency, {{ distinct_list('item_code') }} as item_codes
    from {{ ref('stg_items') }}
    where is_accepted and item_code is not null
    group by agency
),

{%- set cleaned = [('task_id', 'key'), ('task_name', 'text'), ('items', 'keys'),
                   ('window_start', 'text', 'window_start_text'), ('window_end', 'text', 'window_end_text')] %}
{%- for r in ratios %}{% do cleaned.append((r, 'text', r ~ '_text')) %}{% endfor %}
cleaned as (
    select
        {{ cleaned_columns('plans', cleaned + [('coordination', 'text'), ('seed_sha256', 'code', 'seed_sha256_code')]) }}
    from source
),

typed as (
    select
        cleaned.*,
        {{ window_dates() }},
        {%- for r in ratios %}
        {{ parse_ratio(r ~ '_text', cleaned=true) }} as {{ r }}_given,
        {%- endfor %}
        {{ list_outside('items', 'agency_items.item_codes') }} as unknown_items
    from cleaned
    left join agency_items on agency_items.agency = cleaned.agency
),

{#- the seed commitment (hex, where long digit runs are chance) is screened as a code:
    for a control character only -#}
{%- set texts = ['task_name', ('items', "array_to_string(items, chr(10))"),
                 ('window_start', 'window_start_text'), ('window_end', 'window_end_text'), 'coordination', 'task_id'] %}
{%- set ratio_issues = [] %}
{%- for r in ratios %}
    {%- do texts.append((r, r ~ '_text')) %}
    {%- do ratio_issues.append(issue_unparsed(r ~ '_text', r ~ '_given', r, 'invalid_number',
                                              'is not a ratio (expected ' ~ ratio_expectation ~ ')')) %}
    {%- do ratio_issues.append(issue(r ~ '_given not between 0 and 1', 'ratio_out_of_range',
        "'" ~ r ~ ": ' || " ~ quoted(r ~ '_text') ~ " || ' is outside [0, 1] (expected the share of the stratum to draw: 0 to 1, or 0% to 100%)'")) %}
{%- endfor %}
{{ screened_and_checked('typed',
    texts=texts,
    codes=[('seed_sha256', 'seed_sha256_code')],
    issues=[
        issue_required('task_id', 'task_id'),
        issue_required('items', 'items'),
    ] + window_required() + [
        issue_required('ratio_a_text', 'ratio_a'),
        issue('ratio_b_text is null', 'missing_required',
              "'ratio_b: required value is missing (stratum B has no other ratio, and a blank ratio takes ratio_b''s value)'"),
    ] + window_rules() + [
        issue(list_size('unknown_items') ~ ' > 0', 'unknown_item',
              "'items: ' || " ~ quoted("array_to_string(unknown_items, ', ')") ~ " || ' not in the item list of ' || agency || ' (expected item codes of its own items feed, 抽查事项清单)'"),
        issue("seed_sha256_code is not null and not " ~ full_match('seed_sha256_code', '[0-9A-F]{64}'), 'invalid_seed_sha256',
              "'seed_sha256: ' || " ~ quoted('lower(seed_sha256_code)') ~ " || ' is not a SHA-256 (expected 64 hexadecimal characters: the hex digest of the draw''s seed)'"),
    ] + ratio_issues) }},

final as (
    select
        {{ staged_texts(['task_id', 'task_name']) }},
        {{ staged_texts(['items'], list=true) }},
        window_start,
        window_end,
        ratio_a_given as ratio_a,
        ratio_b_given as ratio_b,
        {%- for r in ['ratio_c', 'ratio_d', 'ratio_none'] %}
        case when {{ r }}_text is null then ratio_b_given else {{ r }}_given end as {{ r }},
        {%- endfor %}
        {{ staged_texts(['coordination']) }},
        {{ staged_text('lower(seed_sha256_code)') }} as seed_sha256,
        {{ staging_columns('plans', columns) }}
    from checked
)

select * from final
