{#-
  One record per plan drawn by `ssj draw` so far (docs/draws.md): the revealed
  seed, the snapshot whose pool and item_scope the draw used, and per stratum its
  size, ratio and sample size — all anyone needs to re-derive plan_draws.
-#}
select agency, task_id, coordination, items, seed, seed_sha256, pool_snapshot_id, scope_size, strata, algorithm
from {{ source('draws', 'draw_records') }}
