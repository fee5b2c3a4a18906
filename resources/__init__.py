"""Dagster resources wrapping the labelgate domain."""
