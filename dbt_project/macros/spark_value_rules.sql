{#
  The value rules of macros/value_rules.sql in Spark SQL: the same rule, the same
  result for every value (tests/integration/test_engines.py runs both on one corpus).
  value_rules.sql's macros dispatch here on Spark (adapter.dispatch); on DuckDB, and
  in the plain-Jinja renderings of the tests, they are their own bodies.

  Plain Jinja too, for the same reason as value_rules.sql. Spark's regular
  expressions are Java's, not RE2's: the patterns below say the same thing where
  the two differ — RE2's \s is [\t\n\f\r ] (Java's adds \x0B), and RE2's $ is the
  end of the text (Java's also matches before a final line break: \z here). They are
  raw literals (r'…'), so Spark's string escapes leave the backslashes alone.
  A list's first element is [0] (DuckDB: [1]); a value is bound once with the
  transform(array(x), v -> …)[0] idiom, as list_transform([x], lambda v: …)[1] there.
#}

{%- macro spark_ws() -%}[\t\n\f\r ]{%- endmacro %}

{% macro spark__clean_text(col) -%}
{%- set v = 'nfkc(cast(' ~ col ~ ' as string))' -%}
nullif(case when {{ v }} rlike r'[\t\n\f\r \x{200B}-\x{200D}\x{FEFF}]'
    then trim(regexp_replace(regexp_replace({{ v }}, r'[\x{200B}-\x{200D}\x{FEFF}]', ''), r'{{ spark_ws() }}+', ' '))
    else {{ v }} end, '')
{%- endmacro %}

{% macro spark__clean_code(col) -%}
{%- set v = 'upper(nfkc(cast(' ~ col ~ ' as string)))' -%}
{%- set drop = '[\\t\\n\\f\\r \\x{200B}-\\x{200D}\\x{FEFF}\\-‐‑‒–—―]' -%}
nullif(case when {{ v }} rlike r'{{ drop }}' then regexp_replace({{ v }}, r'{{ drop }}+', '')
    else {{ v }} end, '')
{%- endmacro %}

{% macro spark__clean_key(col, folded=false) -%}
{%- set v = col if folded else 'upper(nfkc(cast(' ~ col ~ ' as string)))' -%}
{%- set drop = '[\\t\\n\\f\\r \\x{200B}-\\x{200D}\\x{FEFF}]' -%}
nullif(case when {{ v }} rlike r'{{ drop }}' then regexp_replace({{ v }}, r'{{ drop }}+', '')
    else {{ v }} end, '')
{%- endmacro %}

{% macro spark__parse_date(col, open_ended=false, cleaned=false) -%}
transform(array({{ col if cleaned else spark__clean_text(col) }}), _dt -> coalesce(transform(array(try_to_date(
    case
        when _dt rlike r'^\d{4}[\t\n\f\r ]?[-/.年][\t\n\f\r ]?\d{1,2}[\t\n\f\r ]?[-/.月][\t\n\f\r ]?\d{1,2}[\t\n\f\r ]?日?(?:[ T]\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\z'
            then regexp_replace(_dt, r'^(\d{4})[\t\n\f\r ]?[-/.年][\t\n\f\r ]?(\d{1,2})[\t\n\f\r ]?[-/.月][\t\n\f\r ]?(\d{1,2}).*\z', '$1-$2-$3')
        when _dt rlike r'^\d{8}\z'
            then regexp_replace(_dt, r'^(\d{4})(\d{2})(\d{2})\z', '$1-$2-$3')
    end, 'y-M-d')), _dd -> case when year(_dd) >= 1900 then _dd end)[0],
    {%- if open_ended %}
    case when _dt in ('长期', '长期有效', '永久', '永久有效', '无固定期限') then date '9999-12-31' end
    {%- else %}
    cast(null as date)
    {%- endif %}))[0]
{%- endmacro %}

{% macro spark__parse_money(col, cleaned=false) -%}
{%- set v = col if cleaned else spark__clean_text(col) -%}
case when {{ v }} rlike r'^\d{1,15}(?:\.\d{1,6})?\z' then cast({{ v }} as double) else
transform(array(regexp_replace({{ v }}, r'[,\t\n\f\r ]', '')), _m ->
    case when _m rlike r'^(?:人民币|¥|RMB)?[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:万元人民币|万元|万|元人民币|元)?\z'
        then try_cast(regexp_extract(_m, r'([+-]?(?:\d+(?:\.\d*)?|\.\d+))', 1) as double)
             / case when _m rlike r'(?:^|\d)元(?:人民币)?\z' then 10000.0d else 1.0d end
    end)[0] end
{%- endmacro %}

{% macro spark__parse_int(col, cleaned=false) -%}
transform(array(regexp_replace({{ col if cleaned else spark__clean_text(col) }}, r'[,\t\n\f\r ]', '')), _i ->
    case when _i rlike r'^[+-]?\d+(?:\.0*)?(?:人|名)?\z'
        then try_cast(regexp_extract(_i, r'^([+-]?\d+)', 1) as bigint)
    end)[0]
{%- endmacro %}

{% macro spark__parse_number(col, cleaned=false) -%}
transform(array(regexp_replace({{ col if cleaned else spark__clean_text(col) }}, r'[,\t\n\f\r ]', '')), _n ->
    case when _n rlike r'^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\z'
        then try_cast(_n as double)
    end)[0]
{%- endmacro %}

{% macro spark__parse_ratio(col, cleaned=false) -%}
transform(array(regexp_replace({{ col if cleaned else spark__clean_text(col) }}, r'[\t\n\f\r ]', '')), _rt ->
    case
        when _rt rlike r'^[+-]?(?:\d+(?:\.\d*)?|\.\d+)%\z' then try_cast(trim(trailing '%' from _rt) as double) / 100
        when _rt rlike r'^[+-]?(?:\d+(?:\.\d*)?|\.\d+)\z' then try_cast(_rt as double)
    end)[0]
{%- endmacro %}

{% macro spark__parse_bool(col, cleaned=false) -%}
transform(array(lower({{ col if cleaned else spark__clean_text(col) }})), _b ->
    case
        when _b in ('是', 'y', 'yes', '1', 'true', 't', '有') then true
        when _b in ('否', 'n', 'no', '0', 'false', 'f', '无') then false
    end)[0]
{%- endmacro %}
