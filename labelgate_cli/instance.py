"""The Dagster instance the CLI runs against: ``$DAGSTER_HOME``, else ``./.dagster_home``."""

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Dagster is imported when an instance is needed, not by every command
    import dagster as dg

DEFAULT_HOME = ".dagster_home"
DEFAULT_CONFIG = "telemetry:\n  enabled: false\n"


def get_instance() -> "dg.DagsterInstance":
    import dagster as dg

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str(Path(DEFAULT_HOME).resolve())
        os.environ["DAGSTER_HOME"] = home
    path = Path(home)
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        config.write_text(DEFAULT_CONFIG, encoding="utf-8")
    return dg.DagsterInstance.get()
