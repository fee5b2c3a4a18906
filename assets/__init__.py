"""Thin Dagster asset factories: read inputs, call the labelgate domain, write, report."""
