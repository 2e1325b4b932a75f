{#- A seed is loaded only when its table does not hold this very content yet.

    dbt reloads every seed on every build (parse the CSV, infer its types, recreate
    the table, copy the rows): 17 seeds, ~0.2 s of a dbt thread each, for rules that
    change a few times a year. Here the table's comment records what it was loaded
    from — the CSV file's SHA-256 (dbt's checksum of the seed), the seed's config
    (column types, delimiter, quoting) and the dbt version — and a build whose seed
    matches it keeps the table as it is. Anything else loads it as dbt always does:
    a changed file or config, a missing table (or one not made by a seed load, whose
    comment differs), --full-refresh, a seed too large for dbt to hash (its checksum
    is then its path). The seed's data tests run either way. -#}
{% materialization seed, adapter='duckdb' %}
  {%- set identifier = model['alias'] -%}
  {%- set old_relation = adapter.get_relation(database=database, schema=schema, identifier=identifier) -%}
  {%- set fingerprint = seed_fingerprint(model) -%}

  {%- if fingerprint is not none and old_relation is not none and old_relation.is_table
        and not should_full_refresh() and seed_loaded_from(old_relation) == fingerprint -%}
    {%- do store_result('agate_table', response='OK', agate_table=none) -%}
    {%- call noop_statement('main', 'UNCHANGED', 'UNCHANGED', 0) -%}
      -- {{ this }} already holds this seed's content ({{ fingerprint }})
    {%- endcall -%}
    {{ return({'relations': [this.incorporate(type='table')]}) }}
  {%- endif -%}

  {%- set result = dbt.materialization_seed_default() -%}
  {%- if fingerprint is not none -%}
    {%- call statement('seed_fingerprint') -%}
      comment on table {{ this }} is '{{ fingerprint }}'
    {%- endcall -%}
    {%- do adapter.commit() -%}
  {%- endif -%}
  {{ return(result) }}
{% endmaterialization %}

{% macro seed_fingerprint(model) -%}
  {%- if model['checksum']['name'] != 'sha256' -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set loaded_by = {
      'file_sha256': model['checksum']['checksum'],
      'column_types': config.get('column_types'),
      'delimiter': config.get('delimiter'),
      'quote_columns': config.get('quote_columns'),
      'dbt': dbt_version,
  } -%}
  {{ return('ssj seed ' ~ local_md5(tojson(loaded_by, sort_keys=true))) }}
{%- endmacro %}

{% macro seed_loaded_from(relation) -%}
  {%- set found = run_query(
      "select comment from duckdb_tables() where database_name = '" ~ relation.database
      ~ "' and schema_name = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'") -%}
  {{ return(found.columns[0].values()[0] if found.rows | length == 1 else none) }}
{%- endmacro %}
