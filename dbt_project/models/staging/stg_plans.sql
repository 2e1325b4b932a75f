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
    select agency, list(distinct item_code) as item_codes
    from {{ ref('stg_items') }}
    where is_accepted and item_code is not null
    group by agency
),

cleaned as (
    select
        {{ staging_lineage() }},
        {{ clean_key('source.task_id') }} as task_id,
        {{ clean_text('source.task_name') }} as task_name,
        {{ split_keys('source.items') }} as items,
        {{ clean_text('source.window_start') }} as window_start_text,
        {{ clean_text('source.window_end') }} as window_end_text,
        {%- for r in ratios %}
        {{ clean_text('source.' ~ r) }} as {{ r }}_text,
        {%- endfor %}
        {{ clean_text('source.coordination') }} as coordination,
        {{ clean_code('source.seed_sha256') }} as seed_sha256_code,
        {{ extra_json('plans') }} as extra
    from source
),

typed as (
    select
        cleaned.*,
        {{ parse_date('window_start_text', cleaned=true) }} as window_start,
        {{ parse_date('window_end_text', cleaned=true) }} as window_end,
        {%- for r in ratios %}
        {{ parse_ratio(r ~ '_text', cleaned=true) }} as {{ r }}_given,
        {%- endfor %}
        list_filter(items, lambda _i: not coalesce(list_contains(agency_items.item_codes, _i), false)) as unknown_items
    from cleaned
    left join agency_items on agency_items.agency = cleaned.agency
),

{#- every text is screened for a personal ID number and a control character; the seed
    commitment (hex, where long digit runs are chance) and the columns outside the
    contract for a control character -#}
screened as (
    select
        typed.*,
        {%- set texts = ['task_name', ('items', "array_to_string(items, chr(10))"),
                         ('window_start', 'window_start_text'), ('window_end', 'window_end_text'), 'coordination', 'task_id'] %}
        {%- for r in ratios %}{% do texts.append((r, r ~ '_text')) %}{% endfor %}
        {{ screen_texts(texts, codes=[('seed_sha256', 'seed_sha256_code')], json='_source._extra') }} as screening
    from typed
),

checked as (
    select
        screened.*,
        {%- set ratio_issues = [] %}
        {%- for r in ratios %}
            {%- do ratio_issues.append(issue_unparsed(r ~ '_text', r ~ '_given', r, 'invalid_number',
                                                      'is not a ratio (expected ' ~ ratio_expectation ~ ')')) %}
            {%- do ratio_issues.append(issue(r ~ '_given not between 0 and 1', 'ratio_out_of_range',
                "'" ~ r ~ ": ' || " ~ quoted(r ~ '_text') ~ " || ' is outside [0, 1] (expected the share of the stratum to draw: 0 to 1, or 0% to 100%)'")) %}
        {%- endfor %}
        {{ collect_issues([
            issue_malformed('parse_error'),
            issue_control_character('screening.control'),
            issue_personal_id('screening.personal_id'),
            issue_required('task_id', 'task_id'),
            issue_required('items', 'items'),
            issue_required('window_start_text', 'window_start'),
            issue_required('window_end_text', 'window_end'),
            issue_required('ratio_a_text', 'ratio_a'),
            issue('ratio_b_text is null', 'missing_required',
                  "'ratio_b: required value is missing (stratum B has no other ratio, and a blank ratio takes ratio_b''s value)'"),
            issue_date('window_start_text', 'window_start', 'window_start'),
            issue_date('window_end_text', 'window_end', 'window_end'),
            issue('window_end < window_start', 'window_end_before_start',
                  "'window_end: ' || " ~ quoted('window_end') ~ " || ' is before window_start ' || " ~ quoted('window_start') ~ " || ' (a window is inclusive: end on or after start)'"),
            issue('len(unknown_items) > 0', 'unknown_item',
                  "'items: ' || " ~ quoted("array_to_string(unknown_items, ', ')") ~ " || ' not in the item list of ' || agency || ' (expected item codes of its own items feed, 抽查事项清单)'"),
            issue("seed_sha256_code is not null and not regexp_full_match(seed_sha256_code, '[0-9A-F]{64}')", 'invalid_seed_sha256',
                  "'seed_sha256: ' || " ~ quoted('lower(seed_sha256_code)') ~ " || ' is not a SHA-256 (expected 64 hexadecimal characters: the hex digest of the draw''s seed)'"),
        ] + ratio_issues) }} as outcome
    from screened
),

final as (
    select
        {{ staged_text('task_id') }} as task_id,
        {{ staged_text('task_name') }} as task_name,
        {{ staged_text('items', list=true) }} as items,
        window_start,
        window_end,
        ratio_a_given as ratio_a,
        ratio_b_given as ratio_b,
        {%- for r in ['ratio_c', 'ratio_d', 'ratio_none'] %}
        case when {{ r }}_text is null then ratio_b_given else {{ r }}_given end as {{ r }},
        {%- endfor %}
        {{ staged_text('coordination') }} as coordination,
        {{ staged_text('lower(seed_sha256_code)') }} as seed_sha256,
        {{ staging_columns(raw_json(columns, 'plans', relation='checked._source')) }}
    from checked
)

select * from final
