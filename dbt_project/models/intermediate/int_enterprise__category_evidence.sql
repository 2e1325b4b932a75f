{#-
  categories — evidence, one row per (enterprise, category, piece of evidence).

  From licences (source 'approval'): every current licence linked to an enterprise
  and valid on as_of (status 有效 or blank, valid_from ≤ as_of ≤ valid_to),
  mapped by seed licence_categories: field 'licence_type' → the type CONTAINS the
  pattern; field 'licence_no' → the number matches the pattern (regex).
  From the business scope (source 'registration'): seed scope_keywords rows with
  tag 'category' whose keyword occurs in the scope once negated clauses
  (不含…, …除外, 除…以外) are removed.
  A keyword (a scope keyword or a licence_type pattern) counts only where it occurs
  outside the contexts seed keyword_exclusions lists for it (macros/keyword_rules.sql):
  宠物食品 is no 食品, 非药品类易制毒化学品 no 药品.
-#}

with

licences as (
    select *
    from {{ ref('int_licence__linked') }}
    where enterprise_id is not null and is_valid_on_as_of
),

exclusions as (
    {{ keyword_exclusion_lists() }}
),

licence_rules as (
    select rules.rule_id, rules.field, rules.pattern, rules.category, exclusions.contexts
    from {{ ref('licence_categories') }} as rules
    left join exclusions on rules.field = 'licence_type' and exclusions.keyword = rules.pattern
),

scope_rules as (
    select rules.keyword, rules.value as category, exclusions.contexts
    from {{ ref('scope_keywords') }} as rules
    left join exclusions using (keyword)
    where rules.tag = 'category'
),

reg as (
    select enterprise_id, scope_for_rules, source_file, source_row
    from {{ ref('int_registration__current') }}
    where scope_for_rules is not null
),

from_licences as (
    {% call first_rows(['licences.enterprise_id', 'licence_rules.category', 'licences.licence_no'],
                       ['licences.enterprise_id', 'licence_rules.category', 'licences.licence_no', 'licence_rules.rule_id']) %}
        licences.enterprise_id,
        licence_rules.category,
        'approval' as source,
        'licence_categories ' || licence_rules.rule_id || ': ' || licence_rules.field
            || case licence_rules.field when 'licence_type' then ' contains ' else ' matches ' end
            || licence_rules.pattern as rule,
        'licence ' || licences.licence_no || ' (' || licences.licence_type || ', valid '
            || coalesce(cast(licences.valid_from as {{ text_type() }}), 'open') || ' to '
            || coalesce(cast(licences.valid_to as {{ text_type() }}), 'open') || ')' as evidence,
        licences.licence_no as record_key,
        licences.source_file,
        licences.source_row
    from licences
    join licence_rules
        on (licence_rules.field = 'licence_type'
            and {{ contains_keyword('licences.licence_type', 'licence_rules.pattern', 'licence_rules.contexts') }})
        -- matches_pattern = regexp_matches, each seed pattern compiled once (pipelines/udfs.py)
        or (licence_rules.field = 'licence_no' and matches_pattern(licences.licence_no, licence_rules.pattern))
    {%- endcall %}
),

from_scope as (
    -- per (enterprise, category) its first matching keyword; a registration row is one
    -- enterprise, so its file and row are any of the group's (min + any_value instead of
    -- DISTINCT ON … ORDER BY, which kept and ordered whole rows: 10M, 15.3 s → 6.9 s)
    select
        enterprise_id,
        category,
        'registration' as source,
        'scope_keywords: business_scope contains ' || keyword as rule,
        'business_scope contains ' || keyword as evidence,
        null::{{ text_type() }} as record_key,
        source_file,
        source_row
    from (
        select
            reg.enterprise_id,
            scope_rules.category,
            min(scope_rules.keyword) as keyword,
            any_value(reg.source_file) as source_file,
            any_value(reg.source_row) as source_row
        from reg
        join scope_rules
            on {{ contains_keyword('reg.scope_for_rules', 'scope_rules.keyword', 'scope_rules.contexts') }}
        group by reg.enterprise_id, scope_rules.category
    ) as first_keywords
)

select * from from_licences
union all
select * from from_scope
