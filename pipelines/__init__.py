"""shuangsuiji: Dagster definitions, the `ssj` command and the ingestion path."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The repository's root (this package's parent): dbt_project/, expectations/, config/."""
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
