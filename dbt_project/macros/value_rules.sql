{#
  Value rules of the data contract (docs/contract.md §1) — the ONLY place they live.

  Each macro returns one DuckDB SQL *expression* over the expression it is given.
  On another engine a macro with a twin in macros/spark_value_rules.sql (spark__<name>)
  returns that one instead, through adapter.dispatch — the first line of the macro,
  which plain Jinja (no `target`) passes over.

  One definition, two users:
    * dbt models call them as usual: {{ parse_date('established_on') }}.
    * tests/unit/test_value_rules.py renders THIS FILE with plain Jinja2 (no dbt
      context) and runs the resulting expressions in an in-memory DuckDB, so the
      property tests (python-stdnum, hypothesis) exercise exactly the SQL dbt runs.
    Therefore: macros in this file use only plain Jinja — no ref(), source(),
    var(), env_var() or adapter calls. Anything that needs data (seed
    vocabularies, the division→sector map) is passed in as an SQL expression
    argument by the caller. The only non-builtin functions are those
    pipelines/udfs.py registers on dbt connections and in the tests: nfkc() and
    the personal-data functions (see "personal data" below).

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
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('clean_text')(col)) }}{% endif -%}
{%- set v = 'nfkc(cast(' ~ col ~ ' as varchar))' -%}
nullif(case when regexp_matches({{ v }}, '[\s\x{200B}-\x{200D}\x{FEFF}]')
    then trim(regexp_replace(regexp_replace({{ v }}, '[\x{200B}-\x{200D}\x{FEFF}]', '', 'g'), '\s+', ' ', 'g'))
    else {{ v }} end, '')
{%- endmacro %}

{#- Codes with a fixed layout (USCC, 注册号, 身份证号, region and industry codes):
    NFKC, upper-cased, every space and hyphen (incl. typographic dashes) removed; '' → NULL. -#}
{% macro clean_code(col) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('clean_code')(col)) }}{% endif -%}
{%- set v = 'upper(nfkc(cast(' ~ col ~ ' as varchar)))' -%}
{%- set drop = '[\\s\\x{200B}-\\x{200D}\\x{FEFF}\\-‐‑‒–—―]' -%}
nullif(case when regexp_matches({{ v }}, '{{ drop }}') then regexp_replace({{ v }}, '{{ drop }}+', '', 'g')
    else {{ v }} end, '')
{%- endmacro %}

{#- Opaque identifiers chosen by the issuer (task_id, 执法证号, licence numbers): NFKC, upper-cased,
    white space removed, hyphens and other punctuation KEPT ('SSJ-2026-01').
    folded=true: `col` is already NFKC'd and upper-cased (split_keys' items, pieces of
    a cleaned, upper-cased value: inside a lambda DuckDB computes an expression written
    three times three times, and NFKC is a call into Python). -#}
{% macro clean_key(col, folded=false) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('clean_key')(col, folded=folded)) }}{% endif -%}
{%- set v = col if folded else 'upper(nfkc(cast(' ~ col ~ ' as varchar)))' -%}
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
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('parse_date')(col, open_ended=open_ended, cleaned=cleaned)) }}{% endif -%}
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
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('parse_money')(col, cleaned=cleaned)) }}{% endif -%}
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
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('parse_int')(col, cleaned=cleaned)) }}{% endif -%}
list_transform([regexp_replace({{ col if cleaned else clean_text(col) }}, '[,\s]', '', 'g')], lambda _i:
    case when regexp_matches(_i, '^[+-]?\d+(?:\.0*)?(?:人|名)?$')
        then try_cast(regexp_extract(_i, '^([+-]?\d+)', 1) as bigint)
    end)[1]
{%- endmacro %}

{#- Decimal numbers (DOUBLE): thousands separators, decimals, exponent. -#}
{% macro parse_number(col, cleaned=false) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('parse_number')(col, cleaned=cleaned)) }}{% endif -%}
list_transform([regexp_replace({{ col if cleaned else clean_text(col) }}, '[,\s]', '', 'g')], lambda _n:
    case when regexp_matches(_n, '^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$')
        then try_cast(_n as double)
    end)[1]
{%- endmacro %}

{#- Ratios (DOUBLE): a fraction (0.05, .05, 1) or a percent (5%, 5.5 %; NFKC folds ％),
    the percent divided by 100. The range is not checked here: the caller decides
    what a ratio outside [0, 1] means. -#}
{% macro parse_ratio(col, cleaned=false) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('parse_ratio')(col, cleaned=cleaned)) }}{% endif -%}
list_transform([regexp_replace({{ col if cleaned else clean_text(col) }}, '\s', '', 'g')], lambda _rt:
    case
        when regexp_full_match(_rt, '[+-]?(?:\d+(?:\.\d*)?|\.\d+)%') then try_cast(rtrim(_rt, '%') as double) / 100
        when regexp_full_match(_rt, '[+-]?(?:\d+(?:\.\d*)?|\.\d+)') then try_cast(_rt as double)
    end)[1]
{%- endmacro %}

{# ------------------------------------------------------------ booleans -- #}

{#- Booleans: 是/否, Y/N (yes/no), 1/0, true/false (T/F), 有/无, case-insensitive; else NULL. -#}
{% macro parse_bool(col, cleaned=false) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('parse_bool')(col, cleaned=cleaned)) }}{% endif -%}
list_transform([lower({{ col if cleaned else clean_text(col) }})], lambda _b:
    case
        when _b in ('是', 'y', 'yes', '1', 'true', 't', '有') then true
        when _b in ('否', 'n', 'no', '0', 'false', 'f', '无') then false
    end)[1]
{%- endmacro %}

{# --------------------------------------------------------------- lists -- #}

{#- The separators of a multi-valued text (split_list, split_keys). -#}
{% macro list_separators() -%}
'[;；、,，|｜/／]'
{%- endmacro %}

{#- Multi-valued text: split on ; ； 、 , ， | ｜ / ／ (NFKC folds the full-width ones),
    items cleaned, empty items dropped, duplicates removed keeping the first
    occurrence's position. VARCHAR[]; NULL when there is no item. -#}
{% macro split_list(col) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('split_list')(col)) }}{% endif -%}
list_transform([list_filter(
        list_transform(regexp_split_to_array({{ clean_text(col) }}, {{ list_separators() }}), lambda _s: nullif(trim(_s), '')),
        lambda _s: _s is not null)],
    lambda _l: case when len(_l) > 0 then list_filter(_l, lambda _x, _k: list_position(_l, _x) = _k) end)[1]
{%- endmacro %}

{#- Multi-valued opaque keys (a plan's item codes, a result's inspectors): split as
    split_list, each item cleaned as clean_key; empty items dropped, duplicates (after
    cleaning) removed keeping the first occurrence's position. VARCHAR[]; NULL when
    there is no item. clean_key drops all white space, so the items are not trimmed
    first, and one removal of duplicates, after cleaning, gives what split_list's and
    then another would (1M results: half the time). The items are not NFKC'd again:
    they are pieces of a clean_text'd (NFKC) value, split at punctuation no mark
    composes with, so already NFKC (as spark__split_keys); the value is upper-cased
    whole, before it is split (1M results: 0.29 → 0.22 CPU-s). -#}
{% macro split_keys(col) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('split_keys')(col)) }}{% endif -%}
list_transform([list_filter(
        list_transform(regexp_split_to_array(upper({{ clean_text(col) }}), {{ list_separators() }}),
            lambda _skf: {{ clean_key('_skf', folded=true) }}),
        lambda _sk: _sk is not null)],
    lambda _skl: case when len(_skl) > 0 then list_filter(_skl, lambda _skx, _skk: list_position(_skl, _skx) = _skk) end)[1]
{%- endmacro %}

{# -------------------------------------------------------- check digits -- #}

{#- 统一社会信用代码, GB 32100-2015. Expects a clean_code()'d value. Checks the full
    31-character alphabet (codes starting with letters A/N/Y are valid: stdnum's
    digit-only rule for positions 1–8 is NOT applied). NULL → false. -#}
{% macro uscc_is_valid(col) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('uscc_is_valid')(col)) }}{% endif -%}
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
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('orgcode_is_valid')(col)) }}{% endif -%}
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
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('reg_no_is_valid')(col)) }}{% endif -%}
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
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('id_no_is_valid')(col)) }}{% endif -%}
coalesce(list_transform([{{ col }}], lambda _v:
    regexp_full_match(_v, '\d{17}[0-9X]')
    and substr('10X98765432',
        cast(list_sum(list_transform([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2],
            lambda _w, _p: (ascii(_v[_p]) - 48) * _w)) % 11 + 1 as bigint), 1) = _v[18]
    and coalesce(year(try_strptime(substr(_v, 7, 4) || '-' || substr(_v, 11, 2) || '-' || substr(_v, 13, 2), '%Y-%m-%d')) >= 1900, false)
)[1], false)
{%- endmacro %}

{# ------------------------------------------------------- personal data -- #}

{#- What a personal ID number (身份证号) looks like as people write it, and how it is
    masked, is defined once, in connectors/personal.py; these macros use it through the
    functions pipelines/udfs.py registers from it: mask_personal (every digit run of 15+
    digits → first 4 + stars + last 4), mask_personal_value (a whole personal value),
    has_id_number, is_personal_header, and the patterns ssj_id_run_pattern() and
    ssj_personal_header_pattern() for cheap RE2 guards. The functions themselves run
    Python only on the values holding a digit run. -#}

{#- A control character: C0 other than tab, line feed, form feed and carriage return
    (white space to every cleaner), DEL, C1 (U+0080-U+009F). They break PostgreSQL's
    COPY and XLSX cells. An RE2 character class. -#}
{% macro control_character_class() -%}
[\x{00}-\x{08}\x{0B}\x{0E}-\x{1F}\x{7F}-\x{9F}]
{%- endmacro %}

{#- The same in JSON text: DEL and C1 as they are (JSON need not escape them), the
    others as the escapes JSON writers use (\b, \u00XX) — after an even number of
    backslashes, so that an escaped backslash followed by 'b' is not one. -#}
{% macro json_control_character_pattern() -%}
[\x{7F}-\x{9F}]|(?:^|[^\\])(?:\\\\)*\\(?:b|u00(?:0[0-8bBeEfF]|1[0-9a-fA-F]|7[fF]|[89][0-9a-fA-F]))
{%- endmacro %}

{#- The screening of a row's texts, a struct of two lists of column names (each NULL
    when empty; the struct NULL when the scans below found nothing):
      personal_id  the `texts` holding a personal ID number (has_id_number);
      control      the `texts` and `codes` holding a control character, and
                   `json_as` when the JSON text `json` (the columns outside the
                   contract) does.
    `texts` and `codes`: each a column name or a (name, SQL expression of its
    cleaned text) pair — a list column as array_to_string(list, chr(10)). `codes` are
    the columns a format rule of their own checks (USCC, 注册号, 身份证号, region and
    industry codes); opaque keys (licence_no, task_id, cert_no) are `texts`.
    Cleaned texts hold the same control characters as the raw values (the cleaners
    only fold white space). On a clean row this is one RE2 scan of the texts joined
    by '#' (no digit, separator or control character: no digit run spans two texts,
    as one would across '|', a list separator, and two dates) for a digit run or a control
    character, one of the codes joined for a control character, and one of the
    JSON; each column is looked at, and has_id_number (Python) called, only on a
    row where a scan found something. -#}
{% macro screen_texts(texts, codes=[], json=none, json_as='extra') -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('screen_texts')(texts, codes=codes, json=json, json_as=json_as)) }}{% endif -%}
{%- set ctrl = control_character_class() -%}
case when regexp_matches(concat_ws('#'
        {%- for c in texts %}, {{ c if c is string else c[1] }}{% endfor %}), '(?:' || ssj_id_run_pattern() || ')|{{ ctrl }}')
    {%- if codes %}
    or regexp_matches(concat({% for c in codes %}{{ c if c is string else c[1] }}{{ ", " if not loop.last }}{% endfor %}), '{{ ctrl }}')
    {%- endif %}
    {%- if json %}
    or regexp_matches({{ json }}, '{{ json_control_character_pattern() }}')
    {%- endif %}
then {
    'personal_id': nullif(list_filter([
        {%- for c in texts %}
        case when has_id_number({{ c if c is string else c[1] }}) then '{{ c if c is string else c[0] }}' end{{ "," if not loop.last }}
        {%- endfor %}
    ], lambda _sti: _sti is not null), []::varchar[]),
    'control': nullif(list_filter([
        {%- for c in texts + codes %}
        case when regexp_matches({{ c if c is string else c[1] }}, '{{ ctrl }}') then '{{ c if c is string else c[0] }}' end,
        {%- endfor %}
        {%- if json %}
        case when regexp_matches({{ json }}, '{{ json_control_character_pattern() }}') then '{{ json_as }}' end,
        {%- endif %}
    ], lambda _stc: _stc is not null), []::varchar[])
}
end
{%- endmacro %}

{#- Text that leaves staging as one line (a reason): every control character, white
    space ones included, replaced by U+FFFD. The values a reason quotes are masked
    where they are quoted (quoted(), issue_malformed), not the whole text: the
    expected forms it spells out ('2024-03-05, 2024/3/5, …') stay readable. -#}
{% macro publishable_text(text) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('publishable_text')(text)) }}{% endif -%}
regexp_replace({{ text }}, '[\x{00}-\x{1F}\x{7F}-\x{9F}]', '�', 'g')
{%- endmacro %}

{#- Text with every control character (control_character_class) replaced by U+FFFD:
    what a quarantined row shows of a value that broke the control_character rule.
    PostgreSQL's jsonb refuses even the escaped NUL (\u0000), XLSX cells every C0. -#}
{% macro without_controls(text) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('without_controls')(text)) }}{% endif -%}
regexp_replace({{ text }}, '{{ control_character_class() }}', '�', 'g')
{%- endmacro %}

{#- A value kept readable in JSON although it is a long digit run: a 统一社会信用代码 with
    both its check characters right (its own and its 组织机构代码's) or a valid 注册号,
    under the header of such a column (is_code_header: `uscc` and `reg_no` in `raw`;
    注册号 in a draw list's extra columns, which int_draw__current reads). Anything
    else is masked: an 18-character ID number passes the USCC check alone by chance
    once in 31, both once in 341. -#}
{% macro is_enterprise_code(key, text) -%}
(is_code_header({{ key }}) and list_transform([{{ clean_code(text) }}], lambda _vec:
    ({{ uscc_is_valid('_vec') }} and {{ orgcode_is_valid('substr(_vec, 9, 9)') }}) or {{ reg_no_is_valid('_vec') }})[1])
{%- endmacro %}

{#- A JSON object (text) with its personal data masked: values under a personal key
    (`personal_keys`: an SQL list of the feed's personal columns) or under a header
    naming an identity document (is_personal_header) masked whole (mask_personal_value);
    every other value, and every key, through mask_personal — except an enterprise
    code (is_enterprise_code); control characters replaced (without_controls). Then an
    ID number split across values (two columns holding its two halves, or two elements
    of an array) is masked where its parts are (mask_split_ids: connectors/personal.py's
    split_id_spans, decided on the values before any masking, in the order they are
    written). A value that changes is written as a JSON string. JSON text out; not an
    object: masked as text.

    Two keys may mask alike (two headers differing only inside an ID number, or by a
    control character): the k-th of a masked key is written `<key>_k`, the rule the
    readers number a repeated header by. The object is written out as text, not
    through a MAP, so no key, however crafted, can stop the row. -#}
{% macro mask_personal_json(json, personal_keys='[]::varchar[]') -%}
list_transform([try_cast({{ json }} as json)], lambda _mpj: case
    when _mpj is null then null
    when json_type(_mpj) <> 'OBJECT' then list_transform([{{ without_controls('_mpj::varchar') }}], lambda _mpt:
        to_json(mask_split_ids([_mpt], [mask_personal(_mpt)], [true])[1]))[1]::varchar
    else list_transform([list_transform([list_transform(map_entries(json_transform(_mpj, '"MAP(VARCHAR, JSON)"')),
        lambda _mpe: list_transform([{{ without_controls("_mpe.value ->> '$'") }}], lambda _mpv: {
            'key': {{ without_controls('_mpe.key') }},
            'text': _mpv,
            'json': _mpe.value,
            'rule': case
                when _mpv is null then 'null'
                when list_contains({{ personal_keys }}, _mpe.key) or is_personal_header(_mpe.key) then 'whole'
                when not regexp_matches(_mpv, ssj_id_run_pattern()) or {{ is_enterprise_code('_mpe.key', '_mpv') }}
                    then 'kept'
                else 'runs'
            end})[1])], lambda _mpa:
    list_transform([mask_split_ids(
            list_transform(_mpa, lambda _mpe: _mpe.text),
            list_transform(_mpa, lambda _mpe: case _mpe.rule
                when 'whole' then mask_personal_value(_mpe.text)
                when 'runs' then mask_personal(_mpe.text)
                else _mpe.text end),
            list_transform(_mpa, lambda _mpe: json_type(_mpe.json) in ('OBJECT', 'ARRAY')))],
        lambda _mpm: list_transform(_mpa, lambda _mpe, _mpi: {
            'key': mask_personal(_mpe.key),
            'value': case
                when _mpe.rule = 'null' then _mpe.json
                when _mpe.rule = 'kept' and _mpm[_mpi] = _mpe.text
                    then case when json_type(_mpe.json) = 'VARCHAR' then to_json(_mpe.text) else _mpe.json end
                else to_json(_mpm[_mpi])
            end}))[1])[1]], lambda _mpl:
        '{' || array_to_string(list_transform(_mpl, lambda _mpx, _mpi:
            to_json(list_transform([len(list_filter(list_slice(_mpl, 1, _mpi), lambda _mpy: _mpy.key = _mpx.key))],
                                   lambda _mpk: case when _mpk > 1 then _mpx.key || '_' || _mpk else _mpx.key end)[1])
            || ':' || coalesce(_mpx.value::varchar, 'null')), ',') || '}')[1]
end)[1]::varchar
{%- endmacro %}

{#- mask_personal_json only on the texts that may need it: one RE2 scan for a digit
    run, a personal header, a control character or an escape (a backslash, written \x5c: dbt's
    unit tests read a backslash before the closing quote as an escaped quote; the text as
    written hides what an escape stands for, a line break inside a number; the columns
    outside the contract of most files hold none of these), then, on a text holding 15 digits in all (dates and phone numbers side by
    side), json_may_hold_split_id (Python, a tenth of the masking's cost) for an ID number
    split across values. -#}
{% macro mask_personal_json_guarded(json, personal_keys='[]::varchar[]') -%}
case when regexp_matches({{ json }}, '(?:' || ssj_id_run_pattern() || ')|' || ssj_personal_header_pattern()
                                    || '|{{ json_control_character_pattern() }}|\x5c')
        or json_may_hold_split_id({{ json }})
    then {{ mask_personal_json(json, personal_keys) }}
    else {{ json }} end
{%- endmacro %}

{#- Whether a JSON object (text) holds a personal ID number in a key or in a value
    that is not an enterprise code, or split across its values
    (holds_split_id, the rule mask_split_ids masks by): what mask_personal_json leaves
    never does. -#}
{% macro json_holds_id_number(json) -%}
list_transform([try_cast({{ json }} as json)], lambda _jhj: case
    when _jhj is null then false
    when json_type(_jhj) <> 'OBJECT' then has_id_number(_jhj::varchar) or holds_split_id([_jhj::varchar], [true])
    else list_transform([map_entries(json_transform(_jhj, '"MAP(VARCHAR, JSON)"'))], lambda _jhl:
        coalesce(list_bool_or(list_transform(_jhl, lambda _jhe: has_id_number(_jhe.key) or list_transform(
            [_jhe.value ->> '$'], lambda _jhv: has_id_number(_jhv) and not {{ is_enterprise_code('_jhe.key', '_jhv') }})[1])),
            false)
        or holds_split_id(list_transform(_jhl, lambda _jhe: _jhe.value ->> '$'),
                          list_transform(_jhl, lambda _jhe: json_type(_jhe.value) in ('OBJECT', 'ARRAY'))))[1]
end)[1]
{%- endmacro %}

{#- Row-rule findings (see issue() below). The messages name the columns, never the value. -#}
{% macro issue_personal_id(columns) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('issue_personal_id')(columns)) }}{% endif -%}
{{ issue(columns ~ ' is not null', 'personal_id_in_value',
         "array_to_string(" ~ columns ~ ", ', ') || ': holds a personal ID number (身份证号), which may not be published; the value is not shown'") }}
{%- endmacro %}

{% macro issue_control_character(columns) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('issue_control_character')(columns)) }}{% endif -%}
{{ issue(columns ~ ' is not null', 'control_character',
         "array_to_string(" ~ columns ~ ", ', ') || ': holds a control character (U+0000-U+001F other than tab, line breaks and form feed; U+007F; U+0080-U+009F)'") }}
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
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('normalize_industry_code')(col, division_map)) }}{% endif -%}
list_transform([regexp_replace({{ clean_code(col) }}, '\.0+$', '')], lambda _ic:
    case
        when regexp_full_match(_ic, '[A-T]') then
            case when list_contains(map_values({{ division_map }}), _ic) then _ic end
        when regexp_full_match(_ic, '[A-T]?\d{1,4}') then
            list_transform([{
                'letter': nullif(regexp_extract(_ic, '^([A-T]?)', 1), ''),
                'digits': regexp_extract(_ic, '(\d+)$', 1)
            }], lambda _ip:
                {{ industry_code_of_parts('_ip', division_map) }})[1]
    end)[1]
{%- endmacro %}

{#- The GB/T 4754 code an industry code's parts make (`p.letter`, the sector letter or NULL;
    `p.digits`, 1–4 digits), checked against `division_map` (division → sector letter): the
    one rule both engines' normalize_industry_code apply. -#}
{% macro industry_code_of_parts(p, division_map) -%}
case
    when length({{ p }}.digits) = 1 then
        case when coalesce({{ p }}.letter, {{ division_map }}['0' || {{ p }}.digits]) = {{ division_map }}['0' || {{ p }}.digits]
            then {{ division_map }}['0' || {{ p }}.digits] || '0' || {{ p }}.digits end
    when length({{ p }}.digits) = 3 and {{ p }}.letter is not null then
        case
            when {{ division_map }}[left({{ p }}.digits, 2)] = {{ p }}.letter then {{ p }}.letter || {{ p }}.digits
            when {{ division_map }}['0' || left({{ p }}.digits, 1)] = {{ p }}.letter then {{ p }}.letter || '0' || {{ p }}.digits
        end
    else
        case when coalesce({{ p }}.letter, {{ division_map }}[left({{ p }}.digits, 2)]) = {{ division_map }}[left({{ p }}.digits, 2)]
            then {{ division_map }}[left({{ p }}.digits, 2)] || {{ p }}.digits end
end
{%- endmacro %}

{# ------------------------------------------------- reasons (row rules) -- #}

{#- One row-rule finding: NULL when `condition` is false, else a struct
    {code, message}. Staging collects them with collect_issues(). -#}
{% macro issue(condition, code, message) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('issue')(condition, code, message)) }}{% endif -%}
case when {{ condition }} then {'code': '{{ code }}', 'message': {{ message }}} end
{%- endmacro %}

{#- Quote a value for a reason message: 'value', its digit runs masked (mask_personal_few:
    a message is made only on the rows its finding holds for). -#}
{% macro quoted(value) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('quoted')(value)) }}{% endif -%}
'''' || coalesce(mask_personal_few(cast({{ value }} as varchar)), '') || ''''
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

{#- An enterprise is named by its 统一社会信用代码 or its name: a row with neither is missing one. -#}
{% macro issue_uscc_or_name(code='uscc', name='name') -%}
{{ issue(code ~ ' is null and ' ~ name ~ ' is null', 'missing_required',
         "'" ~ code ~ ", " ~ name ~ ": a 统一社会信用代码 or an enterprise name is required, both are missing'") }}
{%- endmacro %}

{#- Only the masked number ever appears in the message (mask_personal_value: it is masked whole). -#}
{% macro issue_id_no(code, column='id_no') -%}
{{ issue(code ~ ' is not null and not ' ~ id_no_is_valid(code), 'invalid_id_no',
         "'" ~ column ~ ": ' || " ~ quoted('mask_personal_value(' ~ code ~ ')') ~ " || ' is not a valid 身份证号 (expected 17 digits and a GB 11643 check character, with a real birth date in positions 7-14)'") }}
{%- endmacro %}

{% macro issue_malformed(parse_error) -%}
{{ issue(parse_error ~ ' is not null', 'malformed_row', "'row could not be read: ' || mask_personal_few(" ~ parse_error ~ ")") }}
{%- endmacro %}

{#- From a list of issue() expressions: `reason_codes` (sorted, distinct; [] when
    accepted), `reason` (messages joined by '; ', NULL when accepted), `is_accepted`.
    Messages quote values, masked by quoted(); the reason is publishable_text (control
    characters replaced), once, here.
    The list is built only for rows with a finding: most rows have none (10M
    registrations: the verdicts took 4.3 CPU-s with a list of a dozen NULL findings
    filtered on every row, 2.8 CPU-s now). -#}
{% macro collect_issues(issues) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('collect_issues')(issues)) }}{% endif -%}
case when {% for i in issues %}{{ "\n    or " if not loop.first }}({{ i }}) is not null{% endfor %}
then list_transform([list_filter([
        {%- for i in issues %}
        {{ i }}{{ "," if not loop.last }}
        {%- endfor %}
    ], lambda _is: _is is not null)], lambda _iss: {
        'reason_codes': coalesce(list_sort(list_distinct(list_transform(_iss, lambda _c: _c.code))), []::varchar[]),
        'reason': {{ publishable_text("nullif(array_to_string(list_transform(_iss, lambda _c: _c.message), '; '), '')") }},
        'is_accepted': len(_iss) = 0
    })[1]
else {'reason_codes': []::varchar[], 'reason': null::varchar, 'is_accepted': true}
end
{%- endmacro %}

{#- A word of a vocabulary seed (result_vocab, follow_up_vocab) as it is compared:
    cleaned, then without white space and punctuation (、，；：。.()（）“” …), on both
    sides, so 发现问题，依法责令停止 and 发现问题依法责令停止 are one word. -#}
{% macro vocabulary_word(col) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('vocabulary_word')(col)) }}{% endif -%}
regexp_replace({{ clean_text(col) }}, '[\s\p{P}]', '', 'g')
{%- endmacro %}
