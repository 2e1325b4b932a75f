{#-
  Which enterprise a registration row belongs to — THE rule, used by
  int_registration__current (the current version) and int_registration__names (every
  name any version carried):
    * a row with a valid USCC                      → its USCC          (id_method 'uscc')
    * a row with only a 注册号, when some accepted registration row pairs that
      注册号 with exactly one USCC                  → that USCC         (id_method 'reg_no_to_uscc')
    * otherwise                                    → 'R' || 注册号      (id_method 'reg_no')

  registration_keyed_ctes(extra_columns) renders two CTEs, `reg_no_to_uscc` and
  `keyed` (one narrow row per accepted registration row: stg_rowid, enterprise_id,
  id_method, reg_no and the version order columns, plus `extra_columns` of stg_registration),
  for a model's `with` clause (followed by a comma).
-#}
{% macro registration_keyed_ctes(extra_columns=[]) -%}
reg_no_to_uscc as (
    select reg_no, min(uscc) as uscc
    from {{ ref('stg_registration') }}
    where is_accepted and enterprise_key is not null and reg_no is not null and uscc is not null
    group by reg_no
    having count(distinct uscc) = 1
),

keyed as (
    -- one narrow row per accepted registration row: its enterprise and its version order
    select
        {{ staged_row_id('stg') }} as stg_rowid,
        coalesce(stg.uscc, reg_no_to_uscc.uscc, 'R' || stg.reg_no) as enterprise_id,
        case
            when stg.uscc is not null then 'uscc'
            when reg_no_to_uscc.uscc is not null then 'reg_no_to_uscc'
            else 'reg_no'
        end as id_method,
        stg.reg_no,
        {%- for column in extra_columns %}
        stg.{{ column }},
        {%- endfor %}
        stg.updated_at,
        stg.file_mtime,
        stg.source_file,
        stg.source_row
    from {{ ref('stg_registration') }} as stg
    left join reg_no_to_uscc on stg.uscc is null and stg.reg_no = reg_no_to_uscc.reg_no
    where stg.is_accepted and stg.enterprise_key is not null
)
{%- endmacro %}

{#- A business scope with its negated clauses removed (int_registration__current's
    scope_for_rules, where the clauses are described). -#}
{% macro without_negated_clauses(col) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('without_negated_clauses')(col)) }}{% endif -%}
regexp_replace(
        regexp_replace({{ col }}, '[(][^()]*(?:不含|不包括|除|不得|禁止)[^()]*[)]', '', 'g'),
        '(?:不含|不包括|不得)[^,;。:()]*|[^,;。:()]*除外|(^|[^拆清消排解去扫剔删驱破免切])除[^,;。:()]*?外',
        '\1', 'g')
{%- endmacro %}
