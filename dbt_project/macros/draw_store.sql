{#-
  The draw store (docs/draws.md): every draw made by `ssj draw`, kept in the
  warehouse's schema `draws` and never rebuilt — a draw, once made, does not
  change when the pool does. The marts plan_draws and draw_records publish it
  whole in every snapshot. Created before every dbt command (on-run-start), so
  the marts can always read it, and by `ssj draw` (rendered without dbt,
  pipelines/defs/draws/store.py); only `ssj draw` writes to it. Plain Jinja.
-#}
{% macro draw_store_ddl() -%}
create schema if not exists draws;
create table if not exists draws.plan_draws (
    agency varchar not null, task_id varchar not null, enterprise_id varchar not null, uscc varchar,
    stratum varchar not null, u double not null, rank bigint not null,
    primary key (agency, task_id, enterprise_id));
create table if not exists draws.draw_records (
    agency varchar not null, task_id varchar not null, coordination varchar, items varchar[] not null,
    seed varchar not null, seed_sha256 varchar not null, pool_snapshot_id varchar not null,
    scope_size bigint not null,
    strata struct(stratum varchar, population bigint, ratio double, sample_size bigint)[] not null,
    algorithm varchar not null,
    primary key (agency, task_id));
{%- endmacro %}
