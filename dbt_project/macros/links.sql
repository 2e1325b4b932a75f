{#- Whether a steward's link (int_links__current) names a row of its target feed: the
    same agency, the row's task_id or licence_no (`key_column`), the same normalized name,
    the same USCC where both carry one — and a decision the row's own USCC does not
    contradict: a row drawn with a USCC is linked only to that enterprise, or to one
    without a USCC (enterprise_id 'R' + 注册号). A link that names no row this way decides
    nothing and waits in match_review as stale_link. One rule for matching (int_draw__resolved,
    int_licence__linked) and for the queue (match_review). -#}
{% macro link_names_row(link, row, key_column) -%}
{{ link }}.agency = {{ row }}.agency
        and {{ link }}.source_key = {{ row }}.{{ key_column }}
        and {{ link }}.name_normalized is not distinct from {{ row }}.name_normalized
        and ({{ link }}.uscc is null or {{ row }}.uscc is null or {{ link }}.uscc = {{ row }}.uscc)
        and ({{ row }}.uscc is null or {{ link }}.enterprise_id = {{ row }}.uscc
             or {{ text_starts_with(link ~ '.enterprise_id', "'R'") }})
{%- endmacro %}

{#- The steward's decision for each row of `rows` that one names (link_names_row): its
    `row_id` and the linked `enterprise_id` as `as_name`. A link's key is unique
    (int_links__current), so a row has at most one. -#}
{% macro steward_links(rows, row_id, feed, key_column, as_name) -%}
    select {{ rows }}.{{ row_id }}, any_value(links.enterprise_id) as {{ as_name }}
    from {{ rows }}
    inner join {{ ref('int_links__current') }} as links
        on links.target_feed = '{{ feed }}'
        and {{ link_names_row('links', rows, key_column) }}
    group by {{ rows }}.{{ row_id }}
{%- endmacro %}
