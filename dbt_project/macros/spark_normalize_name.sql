{#
  normalize_name (macros/normalize_name.sql) in Spark SQL: the same steps. Java's
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
