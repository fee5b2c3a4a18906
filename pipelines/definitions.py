"""The workspace: every project file found, merged into one Definitions object.

Projects come from ``LABELGATE_PROJECTS`` (project files or folders, separated by ``:``),
by default the ``projects/`` folder beside this package. The environment picks resources
here and nowhere else: ``LABELGATE_ENCODER=hashing`` swaps the MiniLM for a test encoder.
"""

import os
from pathlib import Path

import dagster as dg

from labelgate.spec import ProjectSpec, load_project
from pipelines.execution import ExecutionSettings
from pipelines.project_defs import build_project_definitions
from resources.encoder import TextEncoderResource

DEFAULT_PROJECTS = Path(__file__).resolve().parent.parent / "projects"


def project_files(setting: str | None = None) -> list[Path]:
    entries = (setting or os.environ.get("LABELGATE_PROJECTS") or str(DEFAULT_PROJECTS)).split(
        os.pathsep
    )
    files: list[Path] = []
    for entry in filter(None, entries):
        path = Path(entry)
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return files


def encoder_resource() -> TextEncoderResource:
    kind = os.environ.get("LABELGATE_ENCODER", "minilm")
    if kind not in ("minilm", "hashing"):
        raise ValueError(f"LABELGATE_ENCODER must be 'minilm' or 'hashing', not {kind!r}")
    return TextEncoderResource(kind=kind, device=os.environ.get("LABELGATE_DEVICE", "auto"))


def build_definitions(
    specs: list[ProjectSpec], *, encoder: TextEncoderResource | None = None
) -> dg.Definitions:
    names = [s.name for s in specs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"two project files use the same project name(s): {duplicated}")
    return dg.Definitions.merge(
        *(build_project_definitions(spec) for spec in specs),
        dg.Definitions(
            resources={"encoder": encoder or encoder_resource()},
            executor=ExecutionSettings.from_env().executor_def(),  # LABELGATE_EXECUTOR
        ),
    )


defs = build_definitions([load_project(path) for path in project_files()])
