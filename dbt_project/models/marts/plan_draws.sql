{#-
  Every enterprise drawn by `ssj draw` so far (docs/draws.md): the draw store,
  published whole in every snapshot. Never recomputed here: a draw, once made,
  does not change when the pool does.
-#}
select agency, task_id, enterprise_id, uscc, stratum, u, rank
from {{ source('draws', 'plan_draws') }}
