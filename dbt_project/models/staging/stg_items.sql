{#- 抽查事项清单: every raw row, typed, with the row rules' verdict.

    The scope columns are kept as item_scope matches them against the enterprise
    pool: sectors as GB/T 4754 codes written the pool's way (normalize_industry_code:
    'F', 'F52', 'F5211'), categories, entity_kinds and carrier as the pool's codes
    (seed item_vocab: a code as written or its Chinese name). A value outside them
    quarantines the item (invalid_scope): an item matching nobody by a typo would
    otherwise pass unnoticed. Blank = any. -#}
{%- set columns = ['item_code', 'item_name', 'category', 'basis', 'method', 'sectors', 'categories',
                   'entity_kinds', 'carrier', 'key_supervision_only'] -%}
{%- set vocab_columns = ['category', 'categories', 'entity_kinds', 'carrier'] -%}

with

source as (
    {{ ingested_rows('items') }}
),

sector_divisions as (
    {{ sector_division_map() }}
),

{#- seed item_vocab, one lookup per column: a word or a value itself (lower-cased) → the value;
    and the values, for the reasons to list -#}
vocab_entries as (
    select feed_column, lower(word) as lookup, value from {{ ref('item_vocab') }}
    union
    select feed_column, lower(value) as lookup, value from {{ ref('item_vocab') }}
),

vocab as (
    select
        {%- for c in vocab_columns %}
        {{ lookup_map('lookup', 'value', where="feed_column = '" ~ c ~ "'") }} as {{ c }}_map,
        {{ distinct_text_agg('value', ', ', "feed_column = '" ~ c ~ "'") }} as {{ c }}_values
        {{- "," if not loop.last }}
        {%- endfor %}
    from vocab_entries
),

cleaned as (
    select
        {{ cleaned_columns('items', [
            ('item_code', 'key'), ('item_name', 'text'), ('category', 'text'), ('basis', 'text'), ('method', 'text'),
            ('sectors', 'list', 'sectors_raw'), ('categories', 'list', 'categories_raw'),
            ('entity_kinds', 'list', 'entity_kinds_raw'), ('carrier', 'text', 'carrier_raw'),
            ('key_supervision_only', 'text', 'key_supervision_only_text'),
        ]) }}
    from source
),

typed as (
    select
        cleaned.*,
        vocab.category_map[lower(category)] as category_value,
        {{ industry_codes('sectors_raw', 'sector_divisions.division_map') }}
            as sectors_mapped,
        {{ looked_up('categories_raw', 'vocab.categories_map', '_c') }} as categories_mapped,
        {{ looked_up('entity_kinds_raw', 'vocab.entity_kinds_map', '_k') }} as entity_kinds_mapped,
        vocab.carrier_map[lower(carrier_raw)] as carrier,
        {{ parse_bool('key_supervision_only_text', cleaned=true) }} as key_supervision_only,
        vocab.categories_values,
        vocab.entity_kinds_values,
        vocab.carrier_values
    from cleaned
    cross join vocab
    cross join sector_divisions
),

{#- each scope list as item_scope reads it (distinct, sorted), and the values no rule recognised -#}
scoped as (
    select
        typed.*,
        {%- for c in ['sectors', 'categories', 'entity_kinds'] %}
        {{ sorted_set(c ~ '_mapped') }} as {{ c }},
        {{ unmapped(c ~ '_raw', c ~ '_mapped') }} as {{ c }}_unknown
        {{- "," if not loop.last }}
        {%- endfor %}
    from typed
),

{{ screened_and_checked('scoped',
    texts=['item_name', 'category', 'basis', 'method',
           ('sectors', "array_to_string(sectors_raw, chr(10))"),
           ('categories', "array_to_string(categories_raw, chr(10))"),
           ('entity_kinds', "array_to_string(entity_kinds_raw, chr(10))"),
           ('carrier', 'carrier_raw'), ('key_supervision_only', 'key_supervision_only_text'),
           'item_code'],
    issues=[
        issue_required('item_code', 'item_code'),
        issue_required('item_name', 'item_name'),
        issue('category is not null and category_value is null', 'invalid_item_category',
              "'category: ' || " ~ quoted('category') ~ " || ' is not an item category (expected 一般检查事项 or 重点检查事项; see seed item_vocab)'"),
        issue(list_size('sectors_unknown') ~ ' > 0', 'invalid_scope',
              "'sectors: ' || " ~ quoted("array_to_string(sectors_unknown, ', ')") ~ " || ' not a GB/T 4754 section letter or division code (expected e.g. F, 52 or F52)'"),
        issue(list_size('categories_unknown') ~ ' > 0', 'invalid_scope',
              "'categories: ' || " ~ quoted("array_to_string(categories_unknown, ', ')") ~ " || ' not a category of the enterprise pool (expected ' || categories_values || ' or a Chinese name of seed item_vocab)'"),
        issue(list_size('entity_kinds_unknown') ~ ' > 0', 'invalid_scope',
              "'entity_kinds: ' || " ~ quoted("array_to_string(entity_kinds_unknown, ', ')") ~ " || ' not an entity kind of the enterprise pool (expected ' || entity_kinds_values || ' or a Chinese name of seed item_vocab)'"),
        issue('carrier_raw is not null and carrier is null', 'invalid_scope',
              "'carrier: ' || " ~ quoted('carrier_raw') ~ " || ' is not a carrier (expected ' || carrier_values || ' or 线上, 线下, 线上线下)'"),
        issue_bool('key_supervision_only_text', 'key_supervision_only', 'key_supervision_only'),
    ]) }},

final as (
    select
        {{ staged_texts(['item_code', 'item_name', 'category']) }},
        category_value = 'key' as key_item,
        {{ staged_texts(['basis', 'method']) }},
        sectors,
        categories,
        entity_kinds,
        carrier,
        key_supervision_only,
        {{ staging_columns('items', columns) }}
    from checked
)

select * from final
