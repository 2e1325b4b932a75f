"""Readers for landing-zone drops and SQL sources. Knows nothing of Dagster."""
