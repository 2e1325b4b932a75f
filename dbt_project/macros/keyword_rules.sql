{#- A keyword rule's hit: `keyword` occurs in `text` outside the contexts that cancel it
    (seed keyword_exclusions: 食品 inside 宠物食品 is no food). `contexts` is the keyword's
    list of them from keyword_exclusion_lists() (NULL: none). They are blanked out, longest
    first, with '|' (which no keyword holds, so no keyword is made across a blank) and the
    keyword looked for again; a text without a context is left as it is, so only the
    hits of the few keywords with exclusions pay for it. -#}
{% macro contains_keyword(text, keyword, contexts) -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('contains_keyword')(text, keyword, contexts)) }}{% endif -%}
(contains({{ text }}, {{ keyword }})
    and ({{ contexts }} is null
         or contains(list_reduce(list_prepend({{ text }}, {{ contexts }}), lambda _text, _context: replace(_text, _context, '|')),
                     {{ keyword }})))
{%- endmacro %}

{#- One row per excluded keyword: (keyword, contexts), the contexts longest first. -#}
{% macro keyword_exclusion_lists() -%}
{%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('keyword_exclusion_lists')()) }}{% endif -%}
select keyword, list(context order by length(context) desc, context) as contexts
from {{ ref('keyword_exclusions') }}
group by keyword
{%- endmacro %}
