{#-
  GB/T 2260 行政区划代码 nest by trailing zero pairs: 350000 福建省 ⊃ 350100 福州市 ⊃
  350102 鼓楼区. region_prefix(code) is the part of a code that every region under it
  starts with: the code without its trailing '00' pairs (350100 → 3501, 350000 → 35,
  350102 → 350102). region_is_under(region, area) says whether `region` lies in `area`;
  NULL when either is missing or blank (the caller decides what an unknown means).
-#}
{% macro region_prefix(code) -%}
nullif(regexp_replace(trim({{ code }}), '(00)+$', ''), '')
{%- endmacro %}

{% macro region_is_under(region, area) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('region_is_under')(region, area)) }}{% endif -%}
starts_with(nullif(trim({{ region }}), ''), {{ region_prefix(area) }})
{%- endmacro %}
