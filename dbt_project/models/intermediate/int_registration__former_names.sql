{#-
  曾用名: every name an enterprise's registration versions ever carried that is not its
  current name, one row per (enterprise_id, former name as normalized). "Every version"
  means every accepted registration row ever ingested — a later file that renames an
  enterprise does not make the earlier file's name disappear — keyed to its enterprise
  by the one rule (macros/registration_keys.sql), and compared after normalize_name, so
  a version that only wrote the name in full-width brackets or as 有限责任公司 is no
  former name.

  Only enterprises with more than one version can have one (int_registration__current's
  version_count): the others' rows are not normalized at all.

  name        the name as the latest version carrying it wrote it;
  carried_until  the newest updated_at among those versions (NULL when none was dated);
  versions    how many registration rows carried it.

  Read by draw-list matching (int_draw__resolved: match_method former_name, and the
  name_mismatch flag, which counts a former name as the enterprise's).
-#}

with

{{ registration_keyed_ctes(['name']) }},

renamed as (
    select enterprise_id, name_normalized
    from {{ ref('int_registration__current') }}
    where version_count > 1
),

carried as (
    select
        keyed.enterprise_id,
        -- names normalized after the join, for the renamed enterprises' rows alone: referring to
        -- `renamed` keeps DuckDB from normalizing every registration row first (2.4 s of 2.5 at 1M)
        {{ normalize_name('case when renamed.enterprise_id is not null then keyed.name end') }} as name_normalized,
        keyed.name,
        keyed.updated_at,
        {{ latest_version('keyed.updated_at') }} as version_order,
        renamed.name_normalized as current_name_normalized
    from keyed
    inner join renamed on renamed.enterprise_id = keyed.enterprise_id
)

select
    enterprise_id,
    name_normalized,
    {{ value_at_max('name', 'version_order') }} as name,
    max(updated_at) as carried_until,
    count(*) as versions
from carried
where name_normalized is not null
  and name_normalized is distinct from current_name_normalized
group by enterprise_id, name_normalized
