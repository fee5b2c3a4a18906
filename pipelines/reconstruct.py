"""Rebuild one project's job from plain arguments, so Celery workers can load it.

A Celery step carries a pointer to ``project_job`` and its arguments (``dg.
build_reconstructable_job``); each worker calls it to get the same job definition as the
process that submitted the run.
"""

from pathlib import Path
from typing import Any

import dagster as dg

from labelgate.spec import load_project
from pipelines.definitions import build_definitions
from resources.encoder import TextEncoderResource

# What ``dg.build_reconstructable_job`` returns; Dagster does not export the class itself.
ReconstructableJob = Any


def project_job(
    project_file: str, job_name: str, encoder_kind: str, device: str
) -> dg.JobDefinition:
    spec = load_project(Path(project_file))
    encoder = TextEncoderResource(kind=encoder_kind, device=device)  # type: ignore[arg-type]
    return build_definitions([spec], encoder=encoder).resolve_job_def(job_name)


def reconstructable_project_job(
    project_file: Path, job_name: str, encoder: TextEncoderResource
) -> ReconstructableJob:
    return dg.build_reconstructable_job(
        "pipelines.reconstruct",
        "project_job",
        reconstructable_args=(str(project_file.resolve()), job_name, encoder.kind, encoder.device),
    )
