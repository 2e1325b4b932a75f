{#
  normalize_name and normalize_address (macros/normalize_name.sql) in Spark SQL: the same steps. Java's
  regular expressions (RE2's \s is [\t\n\f\r ], written out: Java's adds \x0B) in raw
  literals; Spark's regexp_replace replaces every match. Plain Jinja, as the original.
#}
{% macro spark__normalize_name(col) -%}
nullif(lower(replace(
    regexp_replace(
        regexp_replace(nfkc(cast({{ col }} as string)), r'[\t\n\f\r \x{200B}-\x{200D}\x{2060}\x{FEFF}()\[\]【】〔〕]+', ''),
        r'[・•‧･]', '·'),
    '有限责任公司', '有限公司')), '')
{%- endmacro %}

{#- normalize_address: Java's $1 for RE2's \1 in the replacement. -#}
{% macro spark__normalize_address(col) -%}
nullif(lower(regexp_replace(
    regexp_replace(nfkc(cast({{ col }} as string)), r'[\t\n\f\r \x{200B}-\x{200D}\x{2060}\x{FEFF}()\[\]【】〔〕,，、.。\-—#＃·・]+', ''),
    r'^(?:中国)?(?:[^省]{2,7}省|[^区]{2,8}?自治区)?(?:[^市省区县]{2,5}市)?([^区县市省]{1,6}(?:区|县|市|旗))', '$1')), '')
{%- endmacro %}
