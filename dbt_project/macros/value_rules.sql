{#
  Value rules of the data contract (shared/CONTRACT.md §1) — the ONLY place they live.

  Each macro returns one DuckDB SQL *expression* over the expression it is given.

  One definition, two users:
    * dbt models call them as usual: {{ parse_date('established_on') }}.
    * tests/unit/test_value_rules.py renders THIS FILE with plain Jinja2 (no dbt
      context) and runs the resulting expressions in an in-memory DuckDB, so the
      property tests (python-stdnum, hypothesis) exercise exactly the SQL dbt runs.
    Therefore: macros in this file use only plain Jinja — no ref(), source(),
    var(), env_var() or adapter calls. Anything that needs data (seed
    vocabularies, the division→sector map) is passed in as an SQL expression
    argument by the caller. The only non-builtin function is nfkc(), registered
    by pipelines/udfs.py on dbt connections and by the tests.

  Expressions that use their input several times bind it once with the
  "list_transform([x], lambda v: ...)[1]" idiom, so the input (often an nfkc()
  call) is evaluated once per row and the macro can be given any expression.
  Lambda parameter names are prefixed per macro so nested macros never clash.
  The clean_* macros, which run on every text cell of every feed, repeat their
  input instead: DuckDB computes an expression written twice in one projection
  once (common subexpressions), and the lambda costs them about half their time.
#}

{# ---------------------------------------------------------------- text -- #}

{#- Text: NFKC (full-width → half-width), zero-width characters removed,
    internal white-space runs collapsed to one space, trimmed; '' → NULL.
    (The replacements run only on the values that hold white space or a
    zero-width character: most cells hold neither.) -#}
{% macro clean_text(col) -%}
{%- set v = 'nfkc(cast(' ~ col ~ ' as varchar))' -%}
nullif(case when regexp_matches({{ v }}, '[\s\x{200B}-\x{200D}\x{FEFF}]')
    then trim(regexp_replace(regexp_replace({{ v }}, '[\x{200B}-\x{200D}\x{FEFF}]', '', 'g'), '\s+', ' ', 'g'))
    else {{ v }} end, '')
{%- endmacro %}

{#- Codes with a fixed layout (USCC, 注册号, 身份证号, region and industry codes):
    NFKC, upper-cased, every space and hyphen (incl. typographic dashes) removed; '' → NULL. -#}
{% macro clean_code(col) -%}
{%- set v = 'upper(nfkc(cast(' ~ col ~ ' as varchar)))' -%}
{%- set drop = '[\\s\\x{200B}-\\x{200D}\\x{FEFF}\\-‐‑‒–—―]' -%}
nullif(case when regexp_matches({{ v }}, '{{ drop }}') then regexp_replace({{ v }}, '{{ drop }}+', '', 'g')
    else {{ v }} end, '')
{%- endmacro %}

{#- Opaque identifiers chosen by the issuer (task_id, 执法证号, licence numbers): NFKC, upper-cased,
    white space removed, hyphens and other punctuation KEPT ('SSJ-2026-01'). -#}
{% macro clean_key(col) -%}
{%- set v = 'upper(nfkc(cast(' ~ col ~ ' as varchar)))' -%}
{%- set drop = '[\\s\\x{200B}-\\x{200D}\\x{FEFF}]' -%}
nullif(case when regexp_matches({{ v }}, '{{ drop }}') then regexp_replace({{ v }}, '{{ drop }}+', '', 'g')
    else {{ v }} end, '')
{%- endmacro %}

{# --------------------------------------------------------------- dates -- #}

{#- Dates: 2024-03-05, 2024/3/5, 2024.3.5, 20240305, 2024年3月5日, optionally with a
    time (dropped): '2024-03-05 10:11:12', '2024/3/5 10:11', '2024-03-05T10:11:12+08:00'.
    Excel date cells reach the raw store as 'YYYY-MM-DD[ HH:MM:SS]'.
    Invalid calendar dates (2024-02-30) and years before 1900 → NULL.
    open_ended=true also maps 长期/长期有效/永久/永久有效/无固定期限 (no expiry) to 9999-12-31.
    cleaned=true: `col` is already clean_text()'d (as every staging *_text column
    is), so it is not cleaned again — the same for every parse_* macro. -#}
{% macro parse_date(col, open_ended=false, cleaned=false) -%}
list_transform([{{ col if cleaned else clean_text(col) }}], lambda _dt: coalesce(list_transform([try_strptime(
    case
        when regexp_matches(_dt, '^\d{4}\s?[-/.年]\s?\d{1,2}\s?[-/.月]\s?\d{1,2}\s?日?(?:[ T]\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$')
            then regexp_replace(_dt, '^(\d{4})\s?[-/.年]\s?(\d{1,2})\s?[-/.月]\s?(\d{1,2}).*$', '\1-\2-\3')
        when regexp_matches(_dt, '^\d{8}$')
            then regexp_replace(_dt, '^(\d{4})(\d{2})(\d{2})$', '\1-\2-\3')
    end, '%Y-%m-%d')::date], lambda _dd: case when year(_dd) >= 1900 then _dd end)[1],
    {%- if open_ended %}
    case when _dt in ('长期', '长期有效', '永久', '永久有效', '无固定期限') then date '9999-12-31' end
    {%- else %}
    null::date
    {%- endif %}))[1]
{%- endmacro %}

{# ------------------------------------------------------------- numbers -- #}

{#- Money in 万元 (DOUBLE): plain numbers, thousands separators, optional 人民币/¥/RMB
    prefix, unit 万元人民币 / 万元 / 万 (as is) or 元 / 元人民币 (÷ 10000).
    A bare decimal number, as most cells are, is cast at once (the same value the
    general rule reads from it); the general rule runs on the rest. -#}
{% macro parse_money(col, cleaned=false) -%}
{%- set v = col if cleaned else clean_text(col) -%}
case when regexp_full_match({{ v }}, '\d{1,15}(?:\.\d{1,6})?') then cast({{ v }} as double) else
list_transform([regexp_replace({{ v }}, '[,\s]', '', 'g')], lambda _m:
    case when regexp_matches(_m, '^(?:人民币|¥|RMB)?[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:万元人民币|万元|万|元人民币|元)?$')
        then try_cast(regexp_extract(_m, '([+-]?(?:\d+(?:\.\d*)?|\.\d+))', 1) as double)
             / case when regexp_matches(_m, '(?:^|\d)元(?:人民币)?$') then 10000.0 else 1.0 end
    end)[1] end
{%- endmacro %}

{#- Whole numbers (BIGINT): thousands separators allowed, '12.0' allowed (Excel),
    an optional 人/名 unit ('35人'). -#}
{% macro parse_int(col, cleaned=false) -%}
list_transform([regexp_replace({{ col if cleaned else clean_text(col) }}, '[,\s]', '', 'g')], lambda _i:
    case when regexp_matches(_i, '^[+-]?\d+(?:\.0*)?(?:人|名)?$')
        then try_cast(regexp_extract(_i, '^([+-]?\d+)', 1) as bigint)
    end)[1]
{%- endmacro %}

{#- Decimal numbers (DOUBLE): thousands separators, decimals, exponent. -#}
{% macro parse_number(col, cleaned=false) -%}
list_transform([regexp_replace({{ col if cleaned else clean_text(col) }}, '[,\s]', '', 'g')], lambda _n:
    case when regexp_matches(_n, '^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$')
        then try_cast(_n as double)
    end)[1]
{%- endmacro %}

{# ------------------------------------------------------------ booleans -- #}

{#- Booleans: 是/否, Y/N (yes/no), 1/0, true/false (T/F), 有/无, case-insensitive; else NULL. -#}
{% macro parse_bool(col, cleaned=false) -%}
list_transform([lower({{ col if cleaned else clean_text(col) }})], lambda _b:
    case
        when _b in ('是', 'y', 'yes', '1', 'true', 't', '有') then true
        when _b in ('否', 'n', 'no', '0', 'false', 'f', '无') then false
    end)[1]
{%- endmacro %}

{# --------------------------------------------------------------- lists -- #}

{#- Multi-valued text: split on ; ； 、 , ， | ｜ / ／ (NFKC folds the full-width ones),
    items cleaned, empty items dropped, duplicates removed keeping the first
    occurrence's position. VARCHAR[]; NULL when there is no item. -#}
{% macro split_list(col) -%}
list_transform([list_filter(
        list_transform(regexp_split_to_array({{ clean_text(col) }}, '[;；、,，|｜/／]'), lambda _s: nullif(trim(_s), '')),
        lambda _s: _s is not null)],
    lambda _l: case when len(_l) > 0 then list_filter(_l, lambda _x, _k: list_position(_l, _x) = _k) end)[1]
{%- endmacro %}

{# -------------------------------------------------------- check digits -- #}

{#- 统一社会信用代码, GB 32100-2015. Expects a clean_code()'d value. Checks the full
    31-character alphabet (codes starting with letters A/N/Y are valid: stdnum's
    digit-only rule for positions 1–8 is NOT applied). NULL → false. -#}
{% macro uscc_is_valid(col) -%}
{%- set alphabet = "'0123456789ABCDEFGHJKLMNPQRTUWXY'" -%}
{#- the weighted sum written out, position by position: one flat expression per row
    (a lambda over the 17 positions built a list per row; 10M rows: 5.7 s → 3.0 s) -#}
coalesce(regexp_full_match({{ col }}, '[0-9A-HJ-NPQRTUWXY]{18}')
    and substr({{ alphabet }}, cast((31 - (
        {%- for w in [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] %}
        {{ "+ " if not loop.first }}(strpos({{ alphabet }}, substr({{ col }}, {{ loop.index }}, 1)) - 1) * {{ w }}
        {%- endfor %}) % 31) % 31 + 1 as bigint), 1) = substr({{ col }}, 18, 1), false)
{%- endmacro %}

{#- 组织机构代码, GB 11714: 8 characters (0–9, A–Z as base-36 values) + check
    (weights 3 7 9 10 5 8 4 2; C = 11 − Σ mod 11; 10 → X, 11 → 0). Expects a clean_code()'d value. -#}
{% macro orgcode_is_valid(col) -%}
coalesce(list_transform([{{ col }}], lambda _o:
    regexp_full_match(_o, '[0-9A-Z]{8}[0-9X]')
    and substr('0123456789X0',
        cast(11 - list_sum(list_transform([3, 7, 9, 10, 5, 8, 4, 2],
            lambda _w, _p: (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', _o[_p]) - 1) * _w)) % 11 + 1 as bigint), 1) = _o[9]
)[1], false)
{%- endmacro %}

{#- 注册号 (legacy 15-digit registration number): ISO 7064 MOD 11,10 over all 15
    digits must leave 1 (same recurrence as stdnum.iso7064.mod_11_10). Expects a
    clean_code()'d value. NULL → false. -#}
{% macro reg_no_is_valid(col) -%}
coalesce(list_transform([{{ col }}], lambda _r:
    regexp_full_match(_r, '\d{15}')
    and list_reduce(list_transform(string_split(_r, ''), lambda _c: ascii(_c) - 48),
        lambda _a, _c: (((case when _a = 0 then 10 else _a end) * 2) % 11 + _c) % 10, 5) = 1
)[1], false)
{%- endmacro %}

{#- 身份证号, GB 11643: 18 characters = 17 digits + check character (weights
    7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, Σ mod 11 → 1 0 X 9 8 7 6 5 4 3 2) AND a
    real birth date (year ≥ 1900) in positions 7–14. The region code (1–6) is NOT
    checked: it is where the number was issued and old codes stay valid.
    15-digit first-generation numbers are NOT accepted: they carry no check digit
    and first-generation cards stopped being valid in 2013 (documented in
    docs/staging.md). Expects a clean_code()'d value (upper-case X). NULL → false. -#}
{% macro id_no_is_valid(col) -%}
coalesce(list_transform([{{ col }}], lambda _v:
    regexp_full_match(_v, '\d{17}[0-9X]')
    and substr('10X98765432',
        cast(list_sum(list_transform([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2],
            lambda _w, _p: (ascii(_v[_p]) - 48) * _w)) % 11 + 1 as bigint), 1) = _v[18]
    and coalesce(year(try_strptime(substr(_v, 7, 4) || '-' || substr(_v, 11, 2) || '-' || substr(_v, 13, 2), '%Y-%m-%d')) >= 1900, false)
)[1], false)
{%- endmacro %}

{#- Mask every valid 身份证号 (id_no_is_valid: GB 11643 check character and a real
    birth date) standing alone in free text or JSON — extra columns, unreadable
    lines, quarantined rows' raw values — as its first 4 and last 4 characters.
    Other 18-character codes (a USCC made only of digits, say) stay readable.
    Also the definition the `no_full_id_number` test checks against. -#}
{% macro mask_id_numbers_in_text(col) -%}
list_transform([{{ col }}], lambda _txt:
    case when _txt is null or not regexp_matches(_txt, '\d{17}[0-9Xx]') then _txt
    else list_reduce(
        list_concat([_txt], list_filter(
            regexp_extract_all(_txt, '(?:^|\D)(\d{17}[0-9Xx])', 1),
            lambda _tok: {{ id_no_is_valid('upper(_tok)') }})),
        lambda _acc, _tok: replace(_acc, _tok, left(_tok, 4) || '**********' || right(_tok, 4)))
    end)[1]
{%- endmacro %}

{#- Personal numbers shown only as the first 4 and last 4 characters, the middle
    as '*' (one per character); values of 8 characters or fewer are fully starred. -#}
{% macro mask_id(col) -%}
list_transform([{{ col }}], lambda _k:
    case when length(_k) > 8 then left(_k, 4) || repeat('*', length(_k) - 8) || right(_k, 4)
         else repeat('*', length(_k)) end)[1]
{%- endmacro %}

{#- A salted SHA-256 of a (clean) personal number; NULL when absent.
    `salt` is an SQL expression (a quoted literal). -#}
{% macro hash_id(col, salt) -%}
case when {{ col }} is not null then sha256({{ salt }} || {{ col }}) end
{%- endmacro %}

{# ------------------------------------------------------ industry codes -- #}

{#- GB/T 4754-2017 industry code → sector letter + the digits given ('F5211', 'F52', 'F521').
    `division_map` is an SQL expression of type MAP(VARCHAR, VARCHAR): 2-digit
    大类 ('01'..'97') → 门类 letter (from the seed sector_divisions).
    Accepted input, read as text after clean_code: an optional letter, then 1–4
    digits ('5211', 'F5211', 'F52', '521', '5211.0' from a numeric cell).
    Leading-zero rule (codes read as numbers lose one):
      * 1 digit ('5')  → always a lost zero: '05' → A05.
      * 3 digits, no letter ('521', '511') → read as a 中类 of division '52'/'51'
        (F521, F511). '0511' stored as the number 511 cannot be told apart from
        中类 511; the raw value is kept in industry_code_raw.
      * 3 digits with a letter: the letter decides — 'F511' → F511, 'A511' → A0511.
      * 2 or 4 digits: as given.
    A letter that disagrees with the digits' division, or an unknown division → NULL.
    A letter alone ('F') → 'F'. -#}
{% macro normalize_industry_code(col, division_map) -%}
list_transform([regexp_replace({{ clean_code(col) }}, '\.0+$', '')], lambda _ic:
    case
        when regexp_full_match(_ic, '[A-T]') then
            case when list_contains(map_values({{ division_map }}), _ic) then _ic end
        when regexp_full_match(_ic, '[A-T]?\d{1,4}') then
            list_transform([{
                'letter': nullif(regexp_extract(_ic, '^([A-T]?)', 1), ''),
                'digits': regexp_extract(_ic, '(\d+)$', 1)
            }], lambda _ip:
                case
                    when length(_ip.digits) = 1 then
                        case when coalesce(_ip.letter, {{ division_map }}['0' || _ip.digits]) = {{ division_map }}['0' || _ip.digits]
                            then {{ division_map }}['0' || _ip.digits] || '0' || _ip.digits end
                    when length(_ip.digits) = 3 and _ip.letter is not null then
                        case
                            when {{ division_map }}[left(_ip.digits, 2)] = _ip.letter then _ip.letter || _ip.digits
                            when {{ division_map }}['0' || left(_ip.digits, 1)] = _ip.letter then _ip.letter || '0' || _ip.digits
                        end
                    else
                        case when coalesce(_ip.letter, {{ division_map }}[left(_ip.digits, 2)]) = {{ division_map }}[left(_ip.digits, 2)]
                            then {{ division_map }}[left(_ip.digits, 2)] || _ip.digits end
                end)[1]
    end)[1]
{%- endmacro %}

{# ------------------------------------------------- reasons (row rules) -- #}

{#- One row-rule finding: NULL when `condition` is false, else a struct
    {code, message}. Staging collects them with collect_issues(). -#}
{% macro issue(condition, code, message) -%}
case when {{ condition }} then {'code': '{{ code }}', 'message': {{ message }}} end
{%- endmacro %}

{#- Quote a value for a reason message: 'value'. -#}
{% macro quoted(value) -%}
'''' || coalesce(cast({{ value }} as varchar), '') || ''''
{%- endmacro %}

{% macro issue_required(value, column) -%}
{{ issue(value ~ ' is null', 'missing_required', "'" ~ column ~ ": required value is missing'") }}
{%- endmacro %}

{#- A present value (`text`, cleaned) that its parser (`parsed`) could not read. -#}
{% macro issue_unparsed(text, parsed, column, code, expectation) -%}
{{ issue(text ~ ' is not null and ' ~ parsed ~ ' is null', code,
         "'" ~ column ~ ": ' || " ~ quoted(text) ~ " || ' " ~ expectation ~ "'") }}
{%- endmacro %}

{% macro date_expectation() -%}
is not a date (expected 2024-03-05, 2024/3/5, 2024.3.5, 20240305 or 2024年3月5日)
{%- endmacro %}

{% macro issue_date(text, parsed, column) -%}
{{ issue_unparsed(text, parsed, column, 'invalid_date', date_expectation()) }}
{%- endmacro %}

{% macro issue_money(text, parsed, column) -%}
{{ issue_unparsed(text, parsed, column, 'invalid_number',
   'is not an amount (expected a number in 万元, e.g. 100, 1,000.5, 100万元, 100万元人民币 or 1000000元)') }}
{%- endmacro %}

{% macro issue_int(text, parsed, column) -%}
{{ issue_unparsed(text, parsed, column, 'invalid_number', 'is not a whole number (expected e.g. 35 or 1,200)') }}
{%- endmacro %}

{% macro issue_number(text, parsed, column) -%}
{{ issue_unparsed(text, parsed, column, 'invalid_number', 'is not a number (expected e.g. 85 or 92.5)') }}
{%- endmacro %}

{% macro issue_bool(text, parsed, column) -%}
{{ issue_unparsed(text, parsed, column, 'invalid_bool', 'is not a yes/no value (expected 是/否, Y/N, 1/0, true/false or 有/无)') }}
{%- endmacro %}

{#- `valid`: the column where the model already computed uscc_is_valid(code), if it did. -#}
{% macro issue_uscc(code, column='uscc', valid=none) -%}
{{ issue(code ~ ' is not null and not ' ~ (valid or uscc_is_valid(code)), 'invalid_uscc',
         "'" ~ column ~ ": ' || " ~ quoted(code) ~ " || ' is not a valid 统一社会信用代码 (expected 18 characters from 0-9 A-H J-N P-R T U W-Y whose last is the GB 32100-2015 check character)'") }}
{%- endmacro %}

{% macro issue_reg_no(code, column='reg_no', valid=none) -%}
{{ issue(code ~ ' is not null and not ' ~ (valid or reg_no_is_valid(code)), 'invalid_reg_no',
         "'" ~ column ~ ": ' || " ~ quoted(code) ~ " || ' is not a valid 注册号 (expected 15 digits whose last is the ISO 7064 MOD 11,10 check digit)'") }}
{%- endmacro %}

{#- Only the masked number ever appears in the message. -#}
{% macro issue_id_no(code, column='id_no') -%}
{{ issue(code ~ ' is not null and not ' ~ id_no_is_valid(code), 'invalid_id_no',
         "'" ~ column ~ ": ' || " ~ quoted(mask_id(code)) ~ " || ' is not a valid 身份证号 (expected 17 digits and a GB 11643 check character, with a real birth date in positions 7-14)'") }}
{%- endmacro %}

{% macro issue_malformed(parse_error) -%}
{{ issue(parse_error ~ ' is not null', 'malformed_row', "'row could not be read: ' || " ~ parse_error) }}
{%- endmacro %}

{#- From a list of issue() expressions: `reason_codes` (sorted, distinct; [] when
    accepted), `reason` (messages joined by '; ', NULL when accepted), `is_accepted`.
    The list is built only for rows with a finding: most rows have none (10M
    registrations: the verdicts took 4.3 CPU-s with a list of a dozen NULL findings
    filtered on every row, 2.8 CPU-s now). -#}
{% macro collect_issues(issues) -%}
case when {% for i in issues %}{{ "\n    or " if not loop.first }}({{ i }}) is not null{% endfor %}
then list_transform([list_filter([
        {%- for i in issues %}
        {{ i }}{{ "," if not loop.last }}
        {%- endfor %}
    ], lambda _is: _is is not null)], lambda _iss: {
        'reason_codes': coalesce(list_sort(list_distinct(list_transform(_iss, lambda _c: _c.code))), []::varchar[]),
        'reason': nullif(array_to_string(list_transform(_iss, lambda _c: _c.message), '; '), ''),
        'is_accepted': len(_iss) = 0
    })[1]
else {'reason_codes': []::varchar[], 'reason': null::varchar, 'is_accepted': true}
end
{%- endmacro %}
