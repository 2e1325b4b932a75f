{#
  THE name normalization: every comparison of enterprise names (identity
  linking of approval/credit rows, draw-list matching) goes through
  normalize_name(). Plain Jinja only (no ref/var), like value_rules.sql, so it
  can be rendered outside dbt; the only non-builtin function is nfkc().

  normalize_name(col):
    1. NFKC (full-width letters, digits and brackets → half-width: （中国） → (中国))
    2. every white-space and zero-width character removed ('福州 ABC' → '福州ABC')
    3. bracket characters ( ) [ ] 【 】 〔 〕 dropped, their content kept
       ('福州(中国)食品' → '福州中国食品')
    4. middle-dot variants (・ • ‧ ･) unified to '·'
    5. 有限责任公司 → 有限公司 (same legal form); 股份有限公司 stays distinct
    6. Latin letters lower-cased
    7. '' → NULL
  Never stripped: 分公司 / 分店 / 分厂 suffixes — a branch is a separate entity
  and must not collide with its parent ('X有限公司宁波分公司' ≠ 'X有限公司').
#}
{% macro normalize_name(col) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('normalize_name')(col)) }}{% endif -%}
nullif(lower(replace(
    regexp_replace(
        {#- steps 2 and 3 in one pass: white space, zero-width and bracket characters dropped #}
        regexp_replace(nfkc(cast({{ col }} as varchar)), '[\s\x{200B}-\x{200D}\x{2060}\x{FEFF}()\[\]【】〔〕]+', '', 'g'),
        '[・•‧･]', '·', 'g'),
    '有限责任公司', '有限公司')), '')
{%- endmacro %}

{#
  normalize_address(col): for name + address matching.
    NFKC; white space, brackets and punctuation (, ， 、 . 。 - — # ·) removed;
    a leading 中国 / province (…省, …自治区) / prefecture city (…市) is dropped
    when a district, county or county-level city follows, so
    '福建省福州市鼓楼区五四路1号' and '福州市鼓楼区五四路1号' and '鼓楼区五四路1号'
    all become '鼓楼区五四路1号'; Latin letters lower-cased; '' → NULL.
#}
{% macro normalize_address(col) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('normalize_address')(col)) }}{% endif -%}
nullif(lower(regexp_replace(
    regexp_replace(nfkc(cast({{ col }} as varchar)), '[\s\x{200B}-\x{200D}\x{2060}\x{FEFF}()\[\]【】〔〕,，、.。\-—#＃·・]+', '', 'g'),
    '^(?:中国)?(?:[^省]{2,7}省|[^区]{2,8}?自治区)?(?:[^市省区县]{2,5}市)?([^区县市省]{1,6}(?:区|县|市|旗))', '\1')), '')
{%- endmacro %}

{#
  The parts of a normalized address (normalize_address) that the address_mismatch
  flag compares (docs/matching.md):
    address_district(a)  the leading district / county / banner / county-level city
                         ('鼓楼区五四路1号' → '鼓楼区'); NULL when the address does not
                         start with one ('五四路1号');
    address_road(a)      the first road, street or lane after it: characters up to
                         the first 路 / 街 / 巷 / 弄 / 大道, no digits
                         ('鼓楼区五四路1号' → '五四路', '台江区江滨中大道8号' → '江滨中大道');
                         NULL when there is none.
  addresses_contradict(a, b): both addresses normalized, and their districts differ
  AND their roads differ, each part known on both sides. A missing part never
  contradicts; nor does a move along one road or within one district (a house number,
  a building, a room, a road of the same name elsewhere are not compared).
#}
{% macro address_district(a) -%}
nullif(regexp_extract({{ a }}, '^([^区县旗市]{1,6}?(?:区|县|旗|市))', 1), '')
{%- endmacro %}

{% macro address_road(a) -%}
nullif(regexp_extract({{ a }}, '^(?:[^区县旗市]{1,6}?(?:区|县|旗|市))?([^0-9路街巷弄]{1,10}?(?:大道|路|街|巷|弄))', 1), '')
{%- endmacro %}

{% macro addresses_contradict(a, b) -%}
coalesce({{ address_district(a) }} <> {{ address_district(b) }}
         and {{ address_road(a) }} <> {{ address_road(b) }}, false)
{%- endmacro %}
