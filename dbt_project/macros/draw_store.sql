{#-
  The draw store (docs/draws.md): every draw made by `ssj draw`, kept in the
  warehouse's schema `draws` and never rebuilt — a draw, once made, does not
  change when the pool does. The marts plan_draws and draw_records publish it
  whole in every snapshot. Created before every dbt command (on-run-start), so
  the marts can always read it, and by `ssj draw` (rendered without dbt,
  pipelines/defs/draws/store.py); only `ssj draw` writes to it. Plain Jinja.

  A draw record also keeps what its drawn enterprises enter matching with
  (int_draw__plan_entries): the plan's task_name and window as they were when it
  was drawn — a later plan file does not move a draw's window — and draw_no, the
  number of the `ssj draw` that stored it (1, 2, …), by which a build finds the
  draws it has not entered yet (macros/incremental_draws.sql). A store made before
  these columns existed gets them empty (its draws take the plan's current window).
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
alter table draws.draw_records add column if not exists task_name varchar;
alter table draws.draw_records add column if not exists window_start date;
alter table draws.draw_records add column if not exists window_end date;
alter table draws.draw_records add column if not exists draw_no bigint;
{%- endmacro %}
