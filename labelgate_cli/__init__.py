"""The ``labelgate`` command line (typer + rich). It may import Dagster; the domain may not."""
