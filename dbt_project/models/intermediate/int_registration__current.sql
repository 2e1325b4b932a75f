{#-
  登记: the current version of every registered enterprise, one row per enterprise_id.

  enterprise_id = the USCC where known, else 'R' || 注册号 (macros/registration_keys.sql:
  a row with only a 注册号 takes the USCC another accepted row pairs it with, when exactly
  one), so an enterprise first delivered under its legacy number and later with its USCC
  is one enterprise, not two.

  Latest version wins (docs/contract.md §2): updated_at (newest first, undated last), then
  the later file (file_mtime), then source_file, then source_row — a total order,
  so re-runs pick the same row.

  It carries the columns the pool, its tags and the name matching read; the rest of
  the registration (legal_rep, reg_capital, established_on, authority, the business
  scope as written) stays in stg_registration, found by source_file + source_row.
  Carrying them too (the business scope twice: as written and without negated
  clauses) took this model 31.4 s at 10M enterprises, against 27.1 s.
-#}

{#- The latest row of each enterprise is found on narrow columns (`versions`), then
    its whole row read once (`latest`), by its row id (staged_row_id): sorting whole
    rows by enterprise spilled most of them to disk at 10M enterprises. `versions` is
    an aggregate per enterprise (arg_max), not row_number() over a window, and carries
    the rowid, not (file_sha256, source_row): 10M registrations, 28.9 s → 25.3 s. Each
    CTE reads the staging table itself (a column scan), so no wide CTE is shared —
    DuckDB would materialize it. -#}

with

{{ registration_keyed_ctes() }},

versions as (
    -- per enterprise: how many versions, a reg_no seen on any of them (the latest
    -- may omit it), and which row is the latest
    select
        enterprise_id,
        count(*) as version_count,
        max(reg_no) as any_reg_no,
        {{ value_at_max(struct_of([('stg_rowid', 'stg_rowid'), ('id_method', 'id_method')]), latest_version('updated_at')) }} as latest
    from keyed
    group by enterprise_id
),

latest as (
    select
        versions.enterprise_id,
        versions.latest.id_method as id_method,
        versions.version_count,
        versions.any_reg_no,
        stg.*
    from {{ ref('stg_registration') }} as stg
    join versions on {{ staged_row_id('stg') }} = versions.latest.stg_rowid
)

select
    enterprise_id,
    id_method,
    case when enterprise_id not like 'R%' then enterprise_id end as uscc,
    coalesce(reg_no, any_reg_no) as reg_no,
    name,
    {{ normalize_name('name') }} as name_normalized,
    entity_type,
    status,
    status_class,
    address,
    region_code,
    industry_code_raw,
    industry_code,
    -- business_scope with negated clauses removed, for keyword rules (NFKC: ，；：（） are
    -- already , ; : ( )): a bracketed clause holding 不含/不包括/除/不得/禁止 ('(不含危险化学品)',
    -- '(药品除外)'); unbracketed, within one item (up to , ; 。 : or a bracket — a 、 list
    -- belongs to its clause): '不含…' / '不包括…' / '不得…' ('不含易制毒化学品、危险化学品'),
    -- '…除外' ('危险化学品除外'), '除…外' ('除危险化学品以外的化工产品'); a 除 that ends a
    -- word (拆除, 清除, 消除, 排除, 解除, 去除, 扫除, 剔除, 删除, 驱除, 破除, 免除, 切除)
    -- starts no clause
    {{ without_negated_clauses('business_scope') }} as scope_for_rules,
    employees,
    revenue,
    total_assets,
    online_shop,
    updated_at,
    version_count,
    agency,
    source_file,
    source_row
from latest
