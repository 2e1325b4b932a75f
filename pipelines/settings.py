"""Where things are: landing zone, warehouse, agency registry, as-of date.

Read from the environment when a run starts (never at import time), so the
same definitions serve `ssj run`, the Dagster UI, sensors and schedules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines import PROJECT_ROOT
TZ = ZoneInfo("Asia/Shanghai")


def today_in_shanghai() -> date:
    return datetime.now(TZ).date()


@dataclass(frozen=True)
class Settings:
    landing: Path
    warehouse: Path
    agencies: Path
    as_of: date
    target_url: str | None = field(default=None, repr=False)  # holds a password: never in a repr

    @property
    def duckdb_path(self) -> Path:
        return self.warehouse / "ssj.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.warehouse / "published"

    @property
    def writer_lock(self) -> Path:
        return self.warehouse / ".writer.lock"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        as_of = env.get("SSJ_AS_OF")
        return cls(
            landing=Path(env.get("SSJ_LANDING") or PROJECT_ROOT / "data" / "landing").resolve(),
            warehouse=Path(env.get("SSJ_WAREHOUSE") or PROJECT_ROOT / "data" / "warehouse").resolve(),
            agencies=Path(env.get("SSJ_AGENCIES") or PROJECT_ROOT / "config" / "agencies.yaml").resolve(),
            as_of=date.fromisoformat(as_of) if as_of else today_in_shanghai(),
            target_url=env.get("SSJ_TARGET_URL") or None,
        )

    def to_env(self) -> dict[str, str]:
        env = {
            "SSJ_LANDING": str(self.landing),
            "SSJ_WAREHOUSE": str(self.warehouse),
            "SSJ_AGENCIES": str(self.agencies),
            "SSJ_AS_OF": self.as_of.isoformat(),
        }
        if self.target_url:
            env["SSJ_TARGET_URL"] = self.target_url
        return env


class SsjSettings(dg.ConfigurableResource):
    """The run's settings as a Dagster resource (resolved from the environment at run time)."""

    landing: str | None = None
    warehouse: str | None = None
    agencies: str | None = None
    as_of: str | None = None

    def get(self) -> Settings:
        base = Settings.from_env()
        return Settings(
            landing=Path(self.landing).resolve() if self.landing else base.landing,
            warehouse=Path(self.warehouse).resolve() if self.warehouse else base.warehouse,
            agencies=Path(self.agencies).resolve() if self.agencies else base.agencies,
            as_of=date.fromisoformat(self.as_of) if self.as_of else base.as_of,
            target_url=base.target_url,
        )
