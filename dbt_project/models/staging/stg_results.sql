{#- 抽查检查结果: every raw row, typed, with the row rules' verdict (docs/contract.md §7).

    `result` is one of the policy's ten categories, as written there or as offices
    abbreviate it (seeds result_vocab → result_categories, compared without punctuation
    and white space); `follow_up` is free text, its code looked up in follow_up_vocab
    when it is a known word. The deadlines are counted here, in the working days of
    the official calendar (macros/working_days.sql) and the agency's registry
    (entry_working_days, follow_up_working_days): entry_due_on from inspected_on,
    follow_up_due_on from follow_up_done_on. A deadline the calendar cannot count
    (a year the installed calendar has no notice for) quarantines the row
    (outside_calendar): it is never guessed.

    Whether the task drew the enterprise is decided after matching
    (int_results__resolved, not_drawn): that verdict needs draw_entries. -#}
{%- set columns = results_columns() -%}
{%- set dates = ['inspected_on', 'entered_on', 'follow_up_done_on', 'follow_up_entered_on',
                 'penalty_publicity_until', 'rectified_on'] -%}

with

source as (
    {{ ingested_rows('results') }}
),

{#- the dates, the result and the follow-up hold few distinct values (1M enterprises:
    ~300 dates a column, 23 results, 3 follow-ups): each is cleaned, parsed and looked
    up once per value, then joined back on the raw value (as parsed_per_value does) -#}
date_values as (
    select raw_value, text, {{ parse_date('text', cleaned=true) }} as parsed
    from (
        select raw_value, {{ clean_text('raw_value') }} as text
        from (select distinct {{ values_as_rows(dates, prefix='source.') }} as raw_value
              from source)
    )
),

result_words as (
    select {{ vocabulary_word('vocab.word') }} as word, categories.code, categories.name, categories.problem_found,
           categories.repair
    from {{ ref('result_vocab') }} as vocab
    inner join {{ ref('result_categories') }} as categories on categories.code = vocab.code
),

result_values as (
    {{ vocabulary_per_value('result', 'result_words', ['code', 'name', 'problem_found', 'repair']) }}
),

follow_up_words as (
    select {{ vocabulary_word('word') }} as word, code, repair from {{ ref('follow_up_vocab') }}
),

follow_up_values as (
    {{ vocabulary_per_value('follow_up', 'follow_up_words', ['code', 'repair']) }}
),

{%- set cleaned = [('task_id', 'key'), ('uscc', 'code'), ('name', 'text')] %}
{%- for d in dates %}{% do cleaned.append(d ~ '_value.text as ' ~ d ~ '_text') %}{% endfor %}
typed as (
    select
        {{ cleaned_columns('results', cleaned + ['result_value.text as result_text', 'follow_up_value.text as follow_up',
                                                 ('inspectors', 'keys')]) }},
        {%- for d in dates %}
        {{ d }}_value.parsed as {{ d }},
        {%- endfor %}
        result_value.code as result_code,
        result_value.name as result_name,
        result_value.problem_found,
        follow_up_value.code as follow_up_code,
        coalesce(result_value.repair, follow_up_value.repair) as repair,
        {{ deadline_working_days('agencies.entry_working_days') }} as entry_working_days,
        {{ deadline_working_days('agencies.follow_up_working_days') }} as follow_up_working_days
    from source
    {%- for d in dates %}
    left join date_values as {{ d }}_value on {{ d }}_value.raw_value = source.{{ d }}
    {%- endfor %}
    left join result_values as result_value on result_value.raw_value = source.result
    left join follow_up_values as follow_up_value on follow_up_value.raw_value = source.follow_up
    left join {{ source('raw', 'agencies') }} as agencies on agencies.code = source._agency
),

{#- materialized: every later step reads these columns many times (the row rules, the
    reasons, the masks of a rejected row), and DuckDB otherwise inlines their expressions
    there and computes them again (1M results: a third of this model's time) -#}
deadlines as {{ cte_materialized() }}(
    select
        typed.*,
        {{ working_day_after('typed.inspected_on', 'typed.entry_working_days') }} as entry_due_on,
        {{ working_day_after('typed.follow_up_done_on', 'typed.follow_up_working_days') }} as follow_up_due_on
    from typed
),

{#- the inspectors column is screened for a personal ID number too: an office may write
    an inspector's 身份证号 where the 执法证号 belongs -#}
{%- set texts = ['task_id', 'name', ('result', 'result_text'), 'follow_up',
                 ('inspectors', "array_to_string(inspectors, chr(10))")] %}
{%- set date_issues = [] %}
{%- for d in dates %}
    {%- do texts.append((d, d ~ '_text')) %}
    {%- do date_issues.append(issue_date(d ~ '_text', d, d)) %}
{%- endfor %}
{%- set outside_calendar = "' working days later lies outside the working-day calendar of this installation (' || (select min(year(day)) || '–' || max(year(day)) from " ~ ref('stg_calendar') ~ ") || '), so the deadline cannot be counted; a newer chinesecalendar package brings the next year'" %}
{{ screened_and_checked('deadlines',
    texts=texts,
    codes=['uscc'],
    issues=[
        issue_required('task_id', 'task_id'),
        issue_required('inspected_on_text', 'inspected_on'),
        issue_required('entered_on_text', 'entered_on'),
        issue_required('result_text', 'result'),
        issue_uscc_or_name(),
        issue_uscc('uscc'),
    ] + date_issues + [
        issue('result_text is not null and result_code is null', 'unknown_result',
              "'result: ' || " ~ quoted('result_text') ~ " || ' is not a result category (expected one of the ten of the policy, e.g. 未发现问题, 未按规定公示应当公示的信息, 通过登记的住所（经营场所）无法联系, 发现问题，依法责令立即改正或者限期改正, 其他情况, or an abbreviation such as 责令改正)'"),
        issue('entered_on < inspected_on', 'entered_before_inspected',
              "'entered_on: ' || " ~ quoted('entered_on') ~ " || ' is before inspected_on ' || " ~ quoted('inspected_on') ~ " || ' (a result is entered after the inspection ends)'"),
        issue('follow_up_entered_on < follow_up_done_on', 'entered_before_follow_up',
              "'follow_up_entered_on: ' || " ~ quoted('follow_up_entered_on') ~ " || ' is before follow_up_done_on ' || " ~ quoted('follow_up_done_on') ~ " || ' (a follow-up is entered after it ends)'"),
        issue('rectified_on < inspected_on', 'rectified_before_inspected',
              "'rectified_on: ' || " ~ quoted('rectified_on') ~ " || ' is before inspected_on ' || " ~ quoted('inspected_on') ~ " || ' (rectification follows the inspection)'"),
        issue('inspected_on is not null and entry_due_on is null', 'outside_calendar',
              "'inspected_on: ' || " ~ quoted('inspected_on') ~ " || ': ' || entry_working_days || " ~ outside_calendar),
        issue('follow_up_done_on is not null and follow_up_due_on is null', 'outside_calendar',
              "'follow_up_done_on: ' || " ~ quoted('follow_up_done_on') ~ " || ': ' || follow_up_working_days || " ~ outside_calendar),
    ]) }},

final as (
    select
        {{ staged_texts(['task_id', 'uscc', 'name']) }},
        {%- for d in dates %}
        {{ d }},
        {%- endfor %}
        {{ staged_texts(['result_text']) }},
        result_code,
        result_name,
        problem_found,
        {{ staged_texts(['follow_up']) }},
        follow_up_code,
        repair,
        {{ staged_texts(['inspectors'], list=true) }},
        entry_working_days,
        entry_due_on,
        follow_up_due_on,
        {{ staging_columns('results', columns) }}
    from checked
)

select * from final
