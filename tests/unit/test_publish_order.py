"""Published Parquet is sorted on each mart's unique key alone (pipelines/defs/publish/parquet.py):
that is a total order only while dbt tests the same columns unique. Keep the two in step."""

from __future__ import annotations

import yaml

from pipelines.defs.publish.parquet import UNIQUE_KEYS
from pipelines.defs.publish.tables import published_tables
from tests.support import DBT_DIR


def tested_unique_keys() -> dict[str, list[list[str]]]:
    keys: dict[str, list[list[str]]] = {}
    for path in (DBT_DIR / "models" / "marts").glob("*.yml"):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            found = keys.setdefault(model["name"], [])
            for test in model.get("data_tests", []):
                if isinstance(test, dict) and "unique_combination" in test:
                    found.append(list(test["unique_combination"]["arguments"]["columns"]))
            for column in model.get("columns", []):
                if "unique" in (column.get("data_tests") or []):
                    found.append([column["name"]])
    return keys


def test_every_sort_key_is_a_tested_unique_key():
    tested = tested_unique_keys()
    for table, key in UNIQUE_KEYS.items():
        assert key in tested.get(table, []), f"{table}: {key} is not tested unique in models/marts/*.yml"


def test_sort_keys_name_published_tables():
    assert set(UNIQUE_KEYS) <= set(published_tables())
