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

{#- clean_code, normalized=true: `col` is NFKC already (a piece of a cleaned text), and
    no Python function is called (Spark calls none inside a lambda). -#}
{% macro spark__clean_code(col, normalized=false) -%}
{%- set v = ('upper(' ~ col ~ ')') if normalized else 'upper(nfkc(cast(' ~ col ~ ' as string)))' -%}
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

{# --------------------------------------------------------------- lists -- #}

{#- split_list: Spark's split is a Java regex split, as regexp_split_to_array is RE2's;
    the first occurrence of a duplicate is kept by its position, as there. -#}
{% macro spark__split_list(col) -%}
transform(array(filter(
        transform(split({{ spark__clean_text(col) }}, {{ list_separators() }}, -1), _s -> nullif(trim(_s), '')),
        _s -> _s is not null)),
    _l -> case when size(_l) > 0 then filter(_l, (_x, _k) -> array_position(_l, _x) = _k + 1) end)[0]
{%- endmacro %}

{#- split_keys: the items are upper-cased, not NFKC'd again — they are pieces of a
    clean_text'd (NFKC) value, split at punctuation no mark composes with, so already
    NFKC; and Spark calls no Python function inside a lambda. -#}
{% macro spark__split_keys(col) -%}
transform(array(filter(
        transform(
            transform(split({{ spark__clean_text(col) }}, {{ list_separators() }}, -1), _sk -> upper(_sk)),
            _skf -> {{ spark__clean_key('_skf', folded=true) }}),
        _sk -> _sk is not null)),
    _skl -> case when size(_skl) > 0 then filter(_skl, (_skx, _skk) -> array_position(_skl, _skx) = _skk + 1) end)[0]
{%- endmacro %}

{# -------------------------------------------------------- check digits -- #}

{% macro spark__uscc_is_valid(col) -%}
{%- set alphabet = "'0123456789ABCDEFGHJKLMNPQRTUWXY'" -%}
coalesce({{ col }} rlike r'^[0-9A-HJ-NPQRTUWXY]{18}\z'
    and substr({{ alphabet }}, cast((31 - (
        {%- for w in [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] %}
        {{ "+ " if not loop.first }}(instr({{ alphabet }}, substr({{ col }}, {{ loop.index }}, 1)) - 1) * {{ w }}
        {%- endfor %}) % 31) % 31 + 1 as bigint), 1) = substr({{ col }}, 18, 1), false)
{%- endmacro %}

{% macro spark__orgcode_is_valid(col) -%}
coalesce(transform(array({{ col }}), _o ->
    _o rlike r'^[0-9A-Z]{8}[0-9X]\z'
    and substr('0123456789X0',
        cast(11 - aggregate(transform(array(3, 7, 9, 10, 5, 8, 4, 2),
            (_w, _p) -> (instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(_o, _p + 1, 1)) - 1) * _w), 0, (_a, _x) -> _a + _x) % 11 + 1 as bigint), 1) = substr(_o, 9, 1)
)[0], false)
{%- endmacro %}

{% macro spark__reg_no_is_valid(col) -%}
coalesce(transform(array({{ col }}), _r ->
    _r rlike r'^\d{15}\z'
    and aggregate(transform(split(_r, '', -1), _c -> ascii(_c) - 48), 5,
        (_a, _c) -> (((case when _a = 0 then 10 else _a end) * 2) % 11 + _c) % 10) = 1
)[0], false)
{%- endmacro %}

{% macro spark__id_no_is_valid(col) -%}
coalesce(transform(array({{ col }}), _v ->
    _v rlike r'^\d{17}[0-9X]\z'
    and substr('10X98765432',
        cast(aggregate(transform(array(7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2),
            (_w, _p) -> (ascii(substr(_v, _p + 1, 1)) - 48) * _w), 0, (_a, _x) -> _a + _x) % 11 + 1 as bigint), 1) = substr(_v, 18, 1)
    and coalesce(year(try_to_date(substr(_v, 7, 4) || '-' || substr(_v, 11, 2) || '-' || substr(_v, 13, 2), 'y-M-d')) >= 1900, false)
)[0], false)
{%- endmacro %}

{# ------------------------------------------------- reasons (row rules) -- #}

{#- issue: a model writes its message in DuckDB's literals (the run''s date): they are
    written in Spark's (spark_literals). -#}
{% macro spark__issue(condition, code, message) -%}
case when {{ condition }} then named_struct('code', '{{ code }}', 'message', {{ spark_literals(message) }}) end
{%- endmacro %}

{#- The text literals of an SQL expression as DuckDB reads them ('it''s', a backslash as
    itself) in Spark's form ('it\'s', '\\'): Spark has no doubled quote inside a literal
    ('a''b' is two literals run together, 'ab') and its backslash escapes. Raw literals
    (r'…', already Spark's) and everything outside literals are left as they are. -#}
{% macro spark_literals(sql) -%}
{%- set ns = namespace(out='', state='out', prev='', prev2='') -%}
{%- for ch in sql -%}
    {%- if ns.state == 'pending' -%}
        {%- if ch == "'" -%}{%- set ns.out = ns.out ~ "\\'" -%}{%- set ns.state = 'in' -%}
        {%- else -%}{%- set ns.out = ns.out ~ "'" ~ ch -%}{%- set ns.state = 'out' -%}{%- endif -%}
    {%- elif ns.state == 'in' -%}
        {%- if ch == "'" -%}{%- set ns.state = 'pending' -%}
        {%- elif ch == "\\" -%}{%- set ns.out = ns.out ~ "\\\\" -%}
        {%- else -%}{%- set ns.out = ns.out ~ ch -%}{%- endif -%}
    {%- elif ns.state == 'raw' -%}
        {%- set ns.out = ns.out ~ ch -%}
        {%- if ch == "'" -%}{%- set ns.state = 'out' -%}{%- endif -%}
    {%- else -%}
        {%- set ns.out = ns.out ~ ch -%}
        {%- if ch == "'" -%}
            {%- set ns.state = 'raw' if ns.prev in ('r', 'R') and not (ns.prev2.isalnum() or ns.prev2 == '_') else 'in' -%}
        {%- endif -%}
    {%- endif -%}
    {%- set ns.prev2 = ns.prev -%}{%- set ns.prev = ch -%}
{%- endfor -%}
{{ ns.out ~ ("'" if ns.state == 'pending' else '') }}
{%- endmacro %}

{#- quoted: a quote is chr(39) (Spark has no '' inside a literal; '''' would be two empty
    literals), so spark_literals leaves it alone. -#}
{% macro spark__quoted(value) -%}
chr(39) || coalesce(mask_personal(cast({{ value }} as string)), '') || chr(39)
{%- endmacro %}

{% macro spark__publishable_text(text) -%}
regexp_replace({{ text }}, r'[\x{00}-\x{1F}\x{7F}-\x{9F}]', '�')
{%- endmacro %}

{% macro spark__without_controls(text) -%}
regexp_replace({{ text }}, r'{{ control_character_class() }}', '�')
{%- endmacro %}

{% macro spark__collect_issues(issues) -%}
case when {% for i in issues %}{{ "\n    or " if not loop.first }}({{ i }}) is not null{% endfor %}
then transform(array(filter(array(
        {%- for i in issues %}
        {{ i }}{{ "," if not loop.last }}
        {%- endfor %}
    ), _is -> _is is not null)), _iss -> {{ spark_outcome('_iss') }})[0]
else named_struct('reason_codes', cast(array() as array<string>), 'reason', cast(null as string), 'is_accepted', true)
end
{%- endmacro %}

{#- The verdict (collect_issues' struct) of `found`, a list of the findings that hold. -#}
{% macro spark_outcome(found) -%}
named_struct(
        'reason_codes', coalesce(array_sort(array_distinct(transform({{ found }}, _c -> _c.code))), cast(array() as array<string>)),
        'reason', {{ spark__publishable_text("nullif(array_join(transform(" ~ found ~ ", _c -> _c.message), '; '), '')") }},
        'is_accepted', size({{ found }}) = 0
    )
{%- endmacro %}

{#- vocabulary_word: RE2's \s is [\t\n\f\r ]; \p{P} is Unicode's punctuation in both. -#}
{% macro spark__vocabulary_word(col) -%}
regexp_replace({{ spark__clean_text(col) }}, r'[\t\n\f\r \p{P}]', '')
{%- endmacro %}

{# ------------------------------------------------------- personal data -- #}

{#- screen_texts: the same scans and the same struct. Java never looks for the digit
    run: the answer is RE2's, ssj_has_id_run (pyarrow, as on DuckDB; a SQL function of the
    session, pipelines/engine.py). Java's regex would overflow the JVM's stack on the
    unbounded run, and its \p{Nd} is its own Unicode version's: a JDK older than the
    Python's misses the digits of newer scripts, which the Python rule folds. DuckDB's
    concat skips NULLs, Spark's does not: concat_ws(''). -#}
{% macro spark__screen_texts(texts, codes=[], json=none, json_as='extra') -%}
{%- set ctrl = control_character_class() -%}
{%- set joined -%}concat_ws('#'{%- for c in texts %}, {{ c if c is string else c[1] }}{% endfor %}){%- endset -%}
{%- set controls = [] -%}
{%- for c in texts + codes -%}
{%- set _ = controls.append("case when " ~ (c if c is string else c[1]) ~ " rlike r'" ~ ctrl ~ "' then '" ~ (c if c is string else c[0]) ~ "' end") -%}
{%- endfor -%}
{%- if json -%}
{%- set _ = controls.append("case when " ~ json ~ " rlike r'" ~ json_control_character_pattern() ~ "' then '" ~ json_as ~ "' end") -%}
{%- endif -%}
case when ssj_has_id_run({{ joined }})
    or {{ joined }} rlike r'{{ ctrl }}'
    {%- if codes %}
    or concat_ws(''{% for c in codes %}, {{ c if c is string else c[1] }}{% endfor %}) rlike r'{{ ctrl }}'
    {%- endif %}
    {%- if json %}
    or {{ json }} rlike r'{{ json_control_character_pattern() }}'
    {%- endif %}
then named_struct(
    'personal_id', nullif(filter(array(
        {%- for c in texts %}
        case when has_id_number({{ c if c is string else c[1] }}) then '{{ c if c is string else c[0] }}' end{{ "," if not loop.last }}
        {%- endfor %}
    ), _sti -> _sti is not null), cast(array() as array<string>)),
    'control', nullif(filter(array(
        {{ controls | join(",\n        ") }}
    ), _stc -> _stc is not null), cast(array() as array<string>))
)
end
{%- endmacro %}

{#- The findings whose message lists column names (array_join: Spark's array_to_string). -#}
{% macro spark__issue_personal_id(columns) -%}
{{ spark__issue(columns ~ ' is not null', 'personal_id_in_value',
         "array_join(" ~ columns ~ ", ', ') || ': holds a personal ID number (身份证号), which may not be published; the value is not shown'") }}
{%- endmacro %}

{% macro spark__issue_control_character(columns) -%}
{{ spark__issue(columns ~ ' is not null', 'control_character',
         "array_join(" ~ columns ~ ", ', ') || ': holds a control character (U+0000-U+001F other than tab, line breaks and form feed; U+007F; U+0080-U+009F)'") }}
{%- endmacro %}

{# ------------------------------------------------------ industry codes -- #}

{#- normalize_industry_code: Java's \z for RE2's $; a full match anchored (rlike finds). -#}
{% macro spark__normalize_industry_code(col, division_map, normalized=false) -%}
transform(array(regexp_replace({{ spark__clean_code(col, normalized=normalized) }}, r'\.0+\z', '')), _ic ->
    case
        when _ic rlike r'^[A-T]\z' then
            case when array_contains(map_values({{ division_map }}), _ic) then _ic end
        when _ic rlike r'^[A-T]?\d{1,4}\z' then
            transform(array(named_struct(
                'letter', nullif(regexp_extract(_ic, r'^([A-T]?)', 1), ''),
                'digits', regexp_extract(_ic, r'(\d+)\z', 1)
            )), _ip ->
                {{ industry_code_of_parts('_ip', division_map) }})[0]
    end)[0]
{%- endmacro %}
