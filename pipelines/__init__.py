"""shuangsuiji: Dagster definitions, the `ssj` command and the ingestion path."""
