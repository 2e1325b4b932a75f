{#
  The steps every stg_<feed> model takes, each written once; a staging model
  names its feed's columns and rules and calls these in order:

    source    ingested_rows(feed)
    *_values  values_per_value(feed, specs): columns of few distinct values,
              cleaned (and parsed) once per value, joined back with
              per_value_joins(specs)
    cleaned   cleaned_columns(feed, columns): the lineage, each column through
              its cleaner, the columns outside the contract
    screened, checked
              screened_and_checked(relation, texts, codes, issues): the
              screening for personal ID numbers and control characters, and the
              verdict of the rules every feed shares and of the feed's own
    final     staged_texts(names) for the texts (masked on a rejected row), the
              typed columns as they are, then staging_columns(feed, columns)

  Unlike staging_helpers.sql and value_rules.sql, this file is rendered by dbt
  only (it uses `do` and `return`).
#}

{#- The CTEs `<column>_values` of a model's columns of few distinct values, one
    parsed_per_value each, separated by commas (the caller writes the comma after
    the last). `specs`: one list a column of parsed_per_value's arguments after
    `feed` (column, text_as[, parsed, parsed_as]), optionally ending with a
    mapping of its keyword arguments ({'also': …, 'cleaner': …}). -#}
{% macro values_per_value(feed, specs) -%}
{%- for spec in specs %}
{%- set kwargs = spec[-1] if spec[-1] is mapping else {} %}
{%- set args = spec[:-1] if spec[-1] is mapping else spec %}
{{ args[0] }}_values as (
    {{ parsed_per_value(feed, *args, **kwargs) }}
){{ "," if not loop.last }}
{% endfor -%}
{%- endmacro %}

{#- The joins of the values_per_value lookups back onto `source`, on the raw value, in
    the order of `specs`. -#}
{% macro per_value_joins(specs) -%}
{%- for spec in specs %}
    left join {{ spec[0] }}_values on {{ spec[0] }}_values.raw_value = source.{{ spec[0] }}
{%- endfor %}
{%- endmacro %}

{#- The select list of a staging model's cleaned rows: the lineage columns
    (staging_lineage), each of `columns` in order, then `extra` (the columns outside
    the contract, extra_json). An entry of `columns` is (column, cleaner) — the raw
    column `source.<column>` through the cleaner: text (clean_text), code
    (clean_code), key (clean_key), list (split_list) or keys (split_keys) — or
    (column, cleaner, alias) to name it otherwise, or an SQL expression (a text)
    kept as it is (a column of a values_per_value lookup). -#}
{% macro cleaned_columns(feed, columns) -%}
{%- set cleaners = {'text': clean_text, 'code': clean_code, 'key': clean_key, 'list': split_list,
                    'keys': split_keys} -%}
        {{ staging_lineage() }},
{%- for c in columns %}
{%- if c is string %}
        {{ c }},
{%- elif c[1] not in cleaners %}
    {{ exceptions.raise_compiler_error("cleaned_columns: " ~ c[0] ~ ": no cleaner " ~ c[1] ~ " (expected one of " ~ cleaners.keys() | sort | join(', ') ~ ")") }}
{%- else %}
        {{ cleaners[c[1]]('source.' ~ c[0]) }} as {{ c[2] if c | length > 2 else c[0] }},
{%- endif %}
{%- endfor %}
        {{ extra_json(feed) }} as extra
{%- endmacro %}

{#- The CTEs `screened` and `checked` over `relation` (the typed rows):

    screened  every text is screened for a personal ID number and a control
              character; every code, and the columns outside the contract, for a
              control character (screen_texts: `texts` and `codes` as it takes them).
    checked   `outcome`, the verdict (collect_issues) of the rules every feed shares
              — a row that could not be read (malformed_row), a control character,
              a personal ID number — then of the feed's own `issues`. -#}
{% macro screened_and_checked(relation, texts, codes=[], issues=[]) -%}
screened as (
    select
        {{ relation }}.*,
        {{ screen_texts(texts, codes=codes, json='_source._extra') }} as screening
    from {{ relation }}
),

checked as (
    select
        screened.*,
        {{ collect_issues([
            issue_malformed('parse_error'),
            issue_control_character('screening.control'),
            issue_personal_id('screening.personal_id'),
        ] + issues) }} as outcome
    from screened
)
{%- endmacro %}

{#- `<name> as <name>` through staged_text (as typed on an accepted row, digit runs
    masked on a rejected one) for each text column of `names`, separated by commas;
    `list=true`: list columns. -#}
{% macro staged_texts(names, list=false) -%}
{%- for name in names %}
        {{ staged_text(name, list=list) }} as {{ name }}{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}

{#- The division → sector map of the seed sector_divisions (2-digit 大类 → 门类 letter),
    as one row `division_map`: what normalize_industry_code reads. -#}
{% macro sector_division_map() -%}
select map(list(division order by division), list(sector order by division)) as division_map
    from {{ ref('sector_divisions') }}
{%- endmacro %}

{#- A window (a draw list's, a plan's): window_start and window_end parsed from their
    cleaned texts (window_start_text, window_end_text). -#}
{% macro window_dates() -%}
{{ parse_date('window_start_text', cleaned=true) }} as window_start,
        {{ parse_date('window_end_text', cleaned=true) }} as window_end
{%- endmacro %}

{#- A window's rules, in two parts (each feed lists them among its own, in the order its
    reasons give them): both dates are required (window_required); each must be a
    date, and the window is inclusive, its end on or after its start (window_rules). -#}
{% macro window_required() -%}
{{ return([issue_required('window_start_text', 'window_start'), issue_required('window_end_text', 'window_end')]) }}
{%- endmacro %}

{% macro window_rules() -%}
{{ return([
    issue_date('window_start_text', 'window_start', 'window_start'),
    issue_date('window_end_text', 'window_end', 'window_end'),
    issue('window_end < window_start', 'window_end_before_start',
          "'window_end: ' || " ~ quoted('window_end') ~ " || ' is before window_start ' || " ~ quoted('window_start') ~ " || ' (a window is inclusive: end on or after start)'"),
]) }}
{%- endmacro %}
